"""Input presets: how the common CRM and ad-platform exports are laid out, so that
``preset: hubspot`` reads one without hand-mapping. Pure data; the loaders apply it.

Each preset is per table kind (leads, spend, transitions). ``columns`` maps a canonical
column to the export's header, or to several candidate headers (the first one present is
used). The user's own ``columns:`` always win; a preset header missing from the file is not
an error by itself (the required-column check then says what to map).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Salesforce report exports write dates in the user's locale; these are the US defaults.
SALESFORCE_DATES = ("%m/%d/%Y, %I:%M %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


@dataclass(frozen=True)
class Preset:
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skip_rows: int = 0  # lines above the header (report titles, date ranges)
    skip_where: dict[str, str] = field(default_factory=dict)  # drop rows where a regex matches
    keep_where: dict[str, str] = field(default_factory=dict)  # keep only rows where all match
    defaults: dict[str, str] = field(default_factory=dict)  # values of absent columns
    date_formats: tuple[str, ...] = ()  # strptime formats tried before ISO 8601
    currency_from_header: str | None = None  # canonical column whose header names the currency


def _cols(**columns: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else v for k, v in columns.items()}


PRESETS: dict[str, dict[str, Preset]] = {
    # HubSpot contacts export: one row per contact, lifecycle stage dates as columns.
    "hubspot": {
        "leads": Preset(
            columns=_cols(
                lead_id="Record ID",
                created_at="Create Date",
                channel="Original Source",
                campaign=("Original Source Drill-Down 2", "Original Source Drill-Down 1"),
                email="Email",
            ),
        ),
    },
    # Salesforce: a leads report, and the Lead History report (one row per field change;
    # only status changes are stage moves).
    "salesforce": {
        "leads": Preset(
            columns=_cols(
                lead_id="Lead ID",
                created_at=("Create Date", "Created Date"),
                channel="Lead Source",
                campaign=("Campaign Name", "Primary Campaign Source"),
                email="Email",
            ),
            date_formats=SALESFORCE_DATES,
        ),
        "transitions": Preset(
            columns=_cols(lead_id="Lead ID", stage="New Value", entered_at="Edit Date"),
            keep_where={"Field / Event": r"^(Lead )?Status$"},
            date_formats=SALESFORCE_DATES,
        ),
    },
    # Salesforce opportunities report and Opportunity (Stage) History report.
    "salesforce_opportunity": {
        "leads": Preset(
            columns=_cols(
                lead_id="Opportunity ID",
                created_at="Created Date",
                channel="Lead Source",
                campaign="Primary Campaign Source",
            ),
            date_formats=SALESFORCE_DATES,
        ),
        "transitions": Preset(
            columns=_cols(
                lead_id="Opportunity ID",
                stage=("New Value", "To Stage", "Stage"),
                entered_at=("Edit Date", "Last Modified", "Last Stage Change Date"),
            ),
            keep_where={"Field / Event": r"^(Stage|Opportunity Stage)$"},
            date_formats=SALESFORCE_DATES,
        ),
    },
    # Pipedrive deals export ("Deal - " prefixed headers); the current stage with the time
    # of the last stage change stands in for the stage history, which deals exports lack.
    "pipedrive": {
        "leads": Preset(
            columns=_cols(
                lead_id="Deal - ID",
                created_at="Deal - Deal created",
                channel=("Deal - Source channel", "Deal - Source origin"),
            ),
            defaults={"channel": "unknown"},
        ),
        "transitions": Preset(
            columns=_cols(
                lead_id="Deal - ID", stage="Deal - Stage", entered_at="Deal - Last stage change"
            ),
            # A deal that never changed stage has no such time: it is at its first stage,
            # which its creation date already says.
            skip_where={"Deal - Last stage change": r"^\s*$"},
        ),
    },
    # Google Ads campaign report (Reports → download CSV): a title and a date-range line
    # above the header, "Total: …" rows at the end.
    "google_ads": {
        "spend": Preset(
            columns=_cols(date="Day", campaign="Campaign", amount="Cost", currency="Currency code"),
            skip_rows=2,
            skip_where={"Day": r"^\s*Total", "Campaign": r"^\s*Total"},
            defaults={"channel": "Google Ads"},
            date_formats=("%b %d, %Y",),  # "Mar 2, 2026" in some locales' downloads
        ),
    },
    # Meta Ads Manager export, broken down by day; the amount header names the currency.
    "meta": {
        "spend": Preset(
            columns=_cols(
                date=("Day", "Reporting starts"),
                campaign="Campaign name",
                amount=tuple(
                    f"Amount spent ({c})" for c in ("USD", "EUR", "GBP", "BRL", "INR", "CAD", "AUD")
                ),
            ),
            skip_where={"Campaign name": r"^\s*(Total|$)"},
            defaults={"channel": "Meta Ads"},
            currency_from_header="amount",
        ),
    },
}


def preset_for(name: str | None, kind: str) -> Preset | None:
    if name is None:
        return None
    return PRESETS.get(name, {}).get(kind)


def kinds(name: str) -> list[str]:
    return list(PRESETS.get(name, {}))
