"""Checks of the inputs as a whole: exports that end before the window does."""

from __future__ import annotations

import datetime as dt

from funnelcli.findings import Finding
from funnelcli.inputs.dataset import Dataset

STALE_DAYS = 3


def stale(data: Dataset, until: dt.date | None) -> Finding | None:
    """``input.stale``: the leads (or the spend) end more than three days before ``until``,
    so the window's last days look empty when they were only not exported yet."""
    if until is None or data.leads.height == 0:
        return None  # an empty export is input.empty's to report
    ends = {"leads end": data.leads["created_at"].max().date()}
    if data.spend is not None and data.spend.height:
        ends["spend ends"] = data.spend["date"].max()
    old = [f"{name} on {day}" for name, day in ends.items() if (until - day).days > STALE_DAYS]
    if not old:
        return None
    detail = f"{', '.join(old)}; the window runs to {until}"
    return Finding("input.stale", len(old), context={"detail": detail})
