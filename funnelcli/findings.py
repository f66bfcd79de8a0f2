"""The data-quality catalogue (docs/checks.md) and the Finding a check or a report emits.

Each check is data: an id, a default severity, a message template, and whether the rows it
flags are dropped from the report (those are the rows ``--strict`` refuses). ``{n}`` in a
template is the count with its share, ``{file}`` the file the rows came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
MAX_EXAMPLES = 5


Raised = Literal["reading", "checks", "targets"]

# Where each check runs. "checks" (funnelcli/checks/, one module per table) is the home of
# every check that looks at whole tables; "reading" (funnelcli/inputs/) keeps only those
# that must run as a file is read: they drop or exclude rows, or need the raw cells,
# headers and file layout the loaded tables no longer have; "targets" is the report's.
READING = {
    "leads.missing_id", "leads.duplicate_id", "leads.bad_created_at", "leads.missing_channel",
    "leads.duplicate_email", "spend.bad_date", "spend.bad_amount", "spend.negative_amount",
    "spend.mixed_currency", "spend.summary_row", "spend.bad_count", "transitions.unknown_lead",
    "transitions.unknown_stage", "transitions.bad_entered_at", "transitions.before_created",
    "input.detected", "input.empty", "input.after_as_of", "input.control_chars",
    "input.header_names", "traffic.bad_date", "traffic.bad_visits", "revenue.bad_amount",
    "revenue.mixed_currency",
}  # fmt: skip


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    template: str
    dropped: bool = False

    @property
    def raised(self) -> Raised:
        """Where the check runs (see READING)."""
        if self.id == "policy.target_missed":
            return "targets"
        return "reading" if self.id in READING else "checks"

    @property
    def table(self) -> str:
        return self.id.split(".", 1)[0]


def _c(id_: str, severity: Severity, template: str, *, dropped: bool = False) -> Check:
    return Check(id_, severity, template, dropped)


_CHECKS = [
    _c(
        "leads.missing_id",
        "error",
        "{n} lead rows in {file} have no lead_id; dropped.",
        dropped=True,
    ),
    _c(
        "leads.duplicate_id",
        "error",
        "{n} lead rows in {file} repeat an earlier lead_id; the earliest row was kept.",
    ),
    _c(
        "leads.bad_created_at",
        "error",
        "{n} leads in {file} have a missing or unreadable created_at; dropped.",
        dropped=True,
    ),
    _c("leads.future_created_at", "warning", "{n} leads in {file} are created in the future."),
    _c(
        "leads.missing_channel",
        "warning",
        "{n} leads in {file} have no channel; counted as 'unknown'.",
    ),
    _c(
        "leads.duplicate_email",
        "warning",
        "{n} leads in {file} share an e-mail with an earlier lead.",
    ),
    _c(
        "leads.channel_without_spend",
        "info",
        "{n} lead channels have no spend rows (organic, or spend missing from the export).",
    ),
    _c(
        "leads.after_last_spend",
        "warning",
        "{n} leads in {file} were created after the last spend date ({last}); spend may be "
        "cut short.",
    ),
    _c(
        "spend.bad_date",
        "error",
        "{n} spend rows in {file} have a missing or unreadable date; dropped.",
        dropped=True,
    ),
    _c(
        "spend.bad_amount",
        "error",
        "{n} spend rows in {file} have a missing or unreadable amount; dropped.",
        dropped=True,
    ),
    _c("spend.negative_amount", "error", "{n} spend rows in {file} have a negative amount; kept."),
    _c(
        "spend.duplicate_row",
        "warning",
        "{n} spend rows in {file} repeat an earlier row exactly (date, channel, campaign, amount).",
    ),
    _c(
        "spend.mixed_currency", "error", "{n} spend rows in {file} are not in {currency}; excluded."
    ),
    _c(
        "spend.summary_row",
        "error",
        "{n} spend rows in {file} have a blank or 'Total' name and the amount of the other rows "
        "of their dates together: a platform's summary row, which counts the money twice. "
        "Drop it from the export (the google_ads and meta presets do).",
    ),
    _c(
        "spend.bad_count",
        "warning",
        "{n} spend rows in {file} have {column} that are not a whole number; their spend "
        "counts, but the {column} of their groups are unknown.",
    ),
    _c(
        "spend.channel_without_leads",
        "warning",
        "{n} spend channels have no leads: money that bought nothing, or a channel to alias.",
    ),
    _c(
        "spend.missing_days",
        "warning",
        "{n} channel-days inside a channel's spend date range have no spend row in {file}.",
    ),
    _c(
        "traffic.bad_date",
        "error",
        "{n} traffic rows in {file} have a missing or unreadable date; dropped.",
        dropped=True,
    ),
    _c(
        "traffic.bad_visits",
        "error",
        "{n} traffic rows in {file} have visits that are not a whole number; dropped.",
        dropped=True,
    ),
    _c(
        "revenue.bad_amount",
        "error",
        "{n} revenue values in {file} are unreadable amounts; those deals count no revenue.",
    ),
    _c(
        "revenue.mixed_currency",
        "error",
        "{n} revenue values in {file} are not in {currency}; excluded.",
    ),
    _c(
        "transitions.unknown_lead",
        "warning",
        "{n} transitions refer to lead ids that are not in {leads_file}; ignored.",
    ),
    _c(
        "transitions.unknown_stage",
        "error",
        "{n} transitions in {file} name a stage the policy does not know; dropped. "
        "Add it to a stage's aliases or to exits.",
        dropped=True,
    ),
    _c(
        "transitions.bad_entered_at",
        "error",
        "{n} transitions in {file} have a missing or unreadable date; dropped.",
        dropped=True,
    ),
    _c(
        "transitions.before_created",
        "warning",
        "{n} transitions are dated before their lead was created; counted from creation.",
    ),
    _c("transitions.out_of_order", "warning", "{n} leads entered a stage before an earlier one."),
    _c(
        "transitions.skipped_stage",
        "info",
        "{n} leads reached a stage with no record of an earlier one (back-filled).",
    ),
    _c(
        "transitions.duplicate",
        "info",
        "{n} transitions repeat a lead's entry into the same stage (the earliest counts).",
    ),
    _c(
        "policy.crm_disagreement",
        "warning",
        "{n} leads are at a stage in the CRM but fail that stage's requires in the policy.",
    ),
    _c(
        "input.detected",
        "info",
        "{n} input files were read with detected settings (encoding, delimiter, date order, "
        "decimal mark, footer); the examples say which. Set them on the input to fix them.",
    ),
    _c(
        "input.empty",
        "error",
        "{n} leads or spend files have a header but no data rows (the examples name them). "
        "Check the export's filters and date range.",
    ),
    _c(
        "input.stale",
        "warning",
        "The exports end before the window does: {detail}. Export again, or move the window "
        "(--as-of, --until).",
    ),
    _c(
        "input.after_as_of",
        "info",
        "{n} rows and values dated after {as_of} were set aside: the report is as if the "
        "exports were made at the end of that day.",
    ),
    _c(
        "input.control_chars",
        "info",
        "{n} lines of {file} had control characters (NUL and the like) inside cells; they "
        "were removed.",
    ),
    _c(
        "input.header_names",
        "info",
        "{n} header names in {file} are blank or repeated, in columns funnel does not read; "
        "read under the names in the examples.",
    ),
    _c("policy.stage_never_reached", "info", "{n} stages were never reached by any lead."),
    _c("policy.target_missed", "error", "{n} targets of the policy were missed (check --targets)."),
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
    total: int | None = None  # rows (or channels…) examined: the share shown and max_rate
    severity: Severity | None = None  # None: the catalogue's default
    context: dict[str, str] = field(default_factory=dict)  # extra template values

    @property
    def check(self) -> Check:
        return CATALOGUE[self.id]

    @property
    def level(self) -> Severity:
        return self.severity or self.check.severity

    @property
    def rate(self) -> float | None:
        return self.count / self.total if self.total else None

    @property
    def file(self) -> str:
        return self.examples[0].file if self.examples else self.context.get("file", "")

    @property
    def message(self) -> str:
        share = ""
        if self.rate is not None:
            share = " (<0.1%)" if 0 < self.rate < 0.001 else f" ({self.rate:.1%})"
        values = _Values({"file": self.file, **self.context, "n": f"{self.count:,}{share}"})
        return self.check.template.format_map(values)

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def as_warning(self) -> dict[str, object]:
        """The report's ``warnings[]`` shape (docs/outputs.md)."""
        return {
            "code": self.id,
            "count": self.count,
            "message": self.message,
            "examples": [e.as_dict() for e in self.examples],
        }

    def as_finding(self) -> dict[str, object]:
        """The check's ``findings[]`` shape (docs/checks.md)."""
        return {
            "id": self.id,
            "severity": self.level,
            "count": self.count,
            "message": self.message,
            "examples": [e.as_dict() for e in self.examples],
        }


class _Values(dict[str, str]):
    """Template values; a placeholder with no value stays visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
