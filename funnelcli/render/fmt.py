"""Number and label formatting shared by the human-readable renderers."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
