"""Where `funnel report` spends its time: the report's own progress steps, timed.

Usage: python bench/phases.py CONFIG   (e.g. bench/data/10000000-csv/funnel.yaml)
Each line is the time spent in the step named on it (reading leads, scoring, transitions,
qualifying, checking data quality, measuring), then in MiB the resident memory when it ended,
the highest seen during it (looked at every 5 ms) and the process's peak RSS so far. Not part
of the test suite.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from pathlib import Path

from funnelcli.entry import tune_allocator

tune_allocator()  # as the funnel command does, before polars loads

from funnelcli.measure.metrics import Query  # noqa: E402
from funnelcli.pipeline import run_report  # noqa: E402
from funnelcli.policy.config import load_policy  # noqa: E402


def held() -> float:
    """The process's resident memory now, in MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Watch(threading.Thread):
    """The highest resident memory seen during the current step, looked at every 5 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.top = held()

    def run(self) -> None:
        while True:
            self.top = max(self.top, held())
            time.sleep(0.005)


def main(config: Path) -> None:
    start = time.perf_counter()
    current = [start, "loading the policy"]
    watch = Watch()
    watch.start()
    print("   time   held   step's top   peak so far (MiB)")

    def step(name: str) -> None:
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        line = f"{now - current[0]:7.2f} s {held():6.0f} {watch.top:6.0f} {peak:6.0f}  {current[1]}"
        print(line, flush=True)
        watch.top = held()
        current[:] = [now, name]

    run_report(load_policy(config), Query(), step=step)
    step("done")
    print(f"{time.perf_counter() - start:7.2f} s  total")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
