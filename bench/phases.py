"""Where `funnel report` spends its time: the report's own progress steps, timed.

Usage: python bench/phases.py CONFIG   (e.g. bench/data/10000000-csv/funnel.yaml)
Each line is the time spent in the step named on it (reading leads, transitions, qualifying,
measuring, checking data quality). Not part of the test suite.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from funnelcli.measure.metrics import Query
from funnelcli.pipeline import run_report
from funnelcli.policy.config import load_policy


def main(config: Path) -> None:
    start = time.perf_counter()
    current = [start, "loading the policy"]

    def step(name: str) -> None:
        now = time.perf_counter()
        print(f"{now - current[0]:7.2f} s  {current[1]}", flush=True)
        current[:] = [now, name]

    run_report(load_policy(config), Query(), step=step)
    step("done")
    print(f"{time.perf_counter() - start:7.2f} s  total")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
