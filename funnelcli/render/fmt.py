"""Number and label formatting shared by the human-readable renderers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from funnelcli.catalogue import Metric

NULL = "—"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$"}


def money(value: float | None, currency: str) -> str:
    if value is None:
        return NULL
    symbol = SYMBOLS.get(currency.upper())
    sign = "-" if value < 0 else ""
    body = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"


def pct(rate: float | None) -> str:
    return NULL if rate is None else f"{rate * 100:.1f}%"


def days(value: float | None) -> str:
    return NULL if value is None else f"{value:.1f}"


def count(value: int | None) -> str:
    return NULL if value is None else f"{value:,}"


def group_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def group_label(group: dict[str, Any]) -> str:
    return " · ".join(group_value(v) for v in group.values()) if group else "Total"


def window(since: dt.date | None, until: dt.date | None) -> str:
    if since is None and until is None:
        return "all dates"
    return f"{since or '…'} → {until or '…'}"


def multiple(value: float | None) -> str:
    """A money ratio as a multiple: ROAS 3.40×."""
    return NULL if value is None else f"{value:,.2f}×"


def metric(m: Metric, value: Any, currency: str) -> str:
    """Any catalogue metric's value as the tables show it, by its unit."""
    if m.unit == "money":
        return money(value, currency)
    if m.unit in ("rate", "percent"):
        return pct(value)
    if m.unit == "ratio":
        return multiple(value)
    if m.unit == "days":
        return days(value)
    return count(value)


def threshold(m: Metric, value: float, currency: str) -> str:
    """A target's threshold in the metric's own terms: ≥30%, ≤$500, ≥3×."""
    if m.unit in ("rate", "percent"):
        return f"{value:.0%}"
    if m.unit == "money":
        return money(value, currency).removesuffix(".00")
    if m.unit == "ratio":
        return f"{value:g}×"
    return f"{value:,g}"
