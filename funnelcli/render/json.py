"""``--format json``: the report as ``funnel.report/1``."""

from __future__ import annotations

import json

from funnelcli.model import Report


def render(report: Report) -> str:
    # allow_nan=False: a NaN or inf reaching here is a bug, never valid JSON output.
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
