"""The data-quality catalogue (DESIGN.md §6) and the Finding a check or a report emits.

Each check is data: an id, a default severity, what it means, and whether the rows it
flags are dropped from the report (those are the rows ``--strict`` refuses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    what: str  # "<count> <what>" reads as a sentence
    dropped: bool = False


_CHECKS = [
    Check("leads.missing_id", "error", "leads have no lead_id (dropped)", dropped=True),
    Check(
        "leads.duplicate_id", "error", "lead rows repeat an earlier lead_id (later rows dropped)"
    ),
    Check("leads.bad_created_at", "error", "leads have a missing or unreadable created_at (dropped)", True),
    Check("leads.future_created_at", "warning", "leads are created in the future"),
    Check("leads.missing_channel", "warning", "leads have no channel (counted as 'unknown')"),
    Check("leads.duplicate_email", "warning", "leads share an e-mail address with another lead"),
    Check("leads.channel_without_spend", "info", "lead channels have no spend rows"),
    Check("spend.bad_date", "error", "spend rows have a missing or unreadable date (dropped)", dropped=True),
    Check("spend.bad_amount", "error", "spend rows have a missing or unreadable amount (dropped)", True),
    Check("spend.negative_amount", "error", "spend rows have a negative amount (kept)"),
    Check("spend.duplicate_row", "warning", "spend rows repeat an earlier row exactly"),
    Check("spend.mixed_currency", "error", "spend rows are in another currency (excluded)"),
    Check("spend.channel_without_leads", "warning", "spend channels have no leads"),
    Check("transitions.unknown_lead", "warning", "transitions refer to unknown lead ids (ignored)"),
    Check(
        "transitions.unknown_stage", "error", "transitions name an unknown stage (dropped)", True
    ),
    Check(
        "transitions.bad_entered_at", "error", "transitions have a missing or unreadable date (dropped)", True
    ),
    Check("transitions.before_created", "warning", "transitions predate their lead's creation"),
    Check("transitions.out_of_order", "warning", "leads entered a stage before an earlier one"),
    Check("transitions.skipped_stage", "info", "leads skipped a stage (back-filled)"),
    Check("transitions.duplicate", "info", "transitions repeat a lead's entry into a stage"),
    Check("policy.crm_disagreement", "warning", "leads the CRM put at a stage fail its requires"),
]
CATALOGUE: dict[str, Check] = {c.id: c for c in _CHECKS}


@dataclass(frozen=True)
class Example:
    file: str
    row: int | None
    value: str | None

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "value": self.value}


@dataclass(frozen=True)
class Finding:
    id: str
    count: int
    examples: list[Example] = field(default_factory=list)
    total: int | None = None  # rows examined, for the share shown in the message
    severity: Severity | None = None  # None: the catalogue's default

    @property
    def check(self) -> Check:
        return CATALOGUE[self.id]

    @property
    def level(self) -> Severity:
        return self.severity or self.check.severity

    @property
    def message(self) -> str:
        share = f" ({self.count / self.total:.1%})" if self.total else ""
        return f"{self.count:,}{share} {self.check.what}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.id,
            "count": self.count,
            "message": self.message,
            "examples": [e.as_dict() for e in self.examples],
        }
