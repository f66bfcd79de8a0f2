"""Renderers: one Report (or findings) in, text out. They format; they never compute."""
