"""The inputs: files read and detected, cells parsed, the three tables loaded, row findings."""
