"""Input presets: how the common CRM and ad-platform exports are laid out, so that
``preset: hubspot`` reads one without hand-mapping. Pure data; the loaders apply it.

Each preset is per table kind (leads, spend, transitions). ``columns`` maps a canonical
column to the export's header, or to several candidate headers (the first one present is
used). The user's own ``columns:`` always win; a preset header missing from the file is not
an error by itself (the required-column check then says what to map).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Day/month dates by separator: a preset's usual order, overridden by proof in the data
# (a part above 12). Slashes are the US order in HubSpot and Salesforce's default locale;
# no locale writes dotted dates month-first.
US_ORDER = {"/": "mdy", ".": "dmy", "-": "dmy"}


@dataclass(frozen=True)
class Pick:
    """A column chosen per row by another column's value: the first rule whose regex
    matches the ``by`` column (a canonical name) names the header to read; no match: null."""

    by: str
    rules: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Preset:
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)  # canonical → header regex
    picks: dict[str, Pick] = field(default_factory=dict)  # canonical → per-row choice
    unless: dict[str, str] = field(default_factory=dict)  # canonical → header that voids it
    skip_rows: int = 0  # lines above the header (report titles, date ranges)
    skip_where: dict[str, str] = field(default_factory=dict)  # drop rows where a regex matches
    skip_any: str | None = None  # drop rows where any cell matches (totals, any column)
    skip_blank: tuple[str, ...] = ()  # drop rows where all these headers present are blank
    keep_where: dict[str, str] = field(default_factory=dict)  # keep only rows where all match
    defaults: dict[str, str] = field(default_factory=dict)  # values of absent columns
    null_values: tuple[str, ...] = ()  # placeholders the export writes for blanks
    date_formats: tuple[str, ...] = ()  # strptime formats tried before ISO 8601
    date_order: dict[str, str] = field(default_factory=dict)  # separator → "dmy" / "mdy"
    currency_from_header: str | None = None  # canonical column whose header names the currency
    # Leading lines starting with "#" are the export's notes, skipped; their "Start date:" and
    # "End date:" give every row that range when the export has no date column (GA4).
    comment_range: bool = False


def _cols(**columns: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else v for k, v in columns.items()}


def _drill(level: int) -> tuple[str, ...]:
    return (
        f"Original Traffic Source Drill-Down {level}",
        f"Original Source Drill-Down {level}",
    )


# HubSpot's drill-downs mean different things per source (its "source properties" help
# page): the campaign is drill-down 1 for paid search (utm_campaign or the ad platform's
# campaign), email marketing (the e-mail campaign) and other campaigns (utm_campaign), but
# drill-down 2 for paid social (drill-down 1 is the network). For organic search, referrals,
# direct traffic and offline sources the drill-downs are engines, keywords, referring pages
# and import names — not campaigns — so those leads have none.
HUBSPOT_CAMPAIGN = Pick(
    by="channel",
    rules=(
        (r"(?i)^\s*(paid[ _]search|email[ _]marketing|other[ _]campaigns)\s*$", _drill(1)),
        (r"(?i)^\s*paid[ _]social\s*$", _drill(2)),
    ),
)
SALESFORCE_HISTORY_DATES = ("Edit Date", "Last Modified", "Last Modified Date")

PRESETS: dict[str, dict[str, Preset]] = {
    # HubSpot contacts export (or a report-builder export): one row per contact, lifecycle
    # stage dates as columns; "(No value)" for blanks in report-builder exports.
    "hubspot": {
        "leads": Preset(
            columns=_cols(
                lead_id=("Record ID", "Contact ID", "Record ID - Contact"),
                created_at=("Create Date", "Create date", "Created Date"),
                channel=("Original Traffic Source", "Original Source"),
                email="Email",
                revenue="Total Revenue",  # the contact's closed-won deals, company currency
            ),
            picks={"campaign": HUBSPOT_CAMPAIGN},
            null_values=("(No value)",),
            date_order=US_ORDER,
        ),
    },
    # Salesforce: a leads report, and the Lead History report (one row per field change;
    # only status changes are stage moves). Dates follow the exporting user's locale.
    "salesforce": {
        "leads": Preset(
            columns=_cols(
                lead_id="Lead ID",
                created_at=("Create Date", "Created Date"),
                channel="Lead Source",
                campaign=("Campaign Name", "Primary Campaign Source"),
                email="Email",
            ),
            date_order=US_ORDER,
        ),
        "transitions": Preset(
            columns=_cols(
                lead_id="Lead ID", stage="New Value", entered_at=SALESFORCE_HISTORY_DATES
            ),
            keep_where={"Field / Event": r"^(Lead )?Status$"},
            date_order=US_ORDER,
        ),
    },
    # Salesforce opportunities report, and either the Opportunity History report (the
    # standard report type: From Stage, To Stage, Amount, …, Last Modified) or the
    # Opportunity Field History report (Field / Event = Stage, New Value, Edit Date).
    "salesforce_opportunity": {
        "leads": Preset(
            columns=_cols(
                lead_id="Opportunity ID",
                created_at=("Created Date", "Create Date"),
                channel="Lead Source",
                campaign=("Primary Campaign Source", "Campaign Name"),
                revenue="Amount",
                revenue_currency=("Amount Currency", "Opportunity Currency"),
            ),
            date_order=US_ORDER,
        ),
        "transitions": Preset(
            columns=_cols(
                lead_id="Opportunity ID",
                stage=("To Stage", "New Value", "Stage"),
                entered_at=(*SALESFORCE_HISTORY_DATES, "Last Stage Change Date"),
            ),
            keep_where={"Field / Event": r"^(Stage|Opportunity Stage)$"},
            date_order=US_ORDER,
        ),
    },
    # Pipedrive deals export ("Deal - " prefixed headers); the current stage with the time
    # of the last stage change stands in for the stage history, which deals exports lack.
    # "Deal - Source origin" is how the deal was created (manually, web forms, API), never
    # a marketing channel, so it is not read.
    "pipedrive": {
        "leads": Preset(
            columns=_cols(
                lead_id="Deal - ID",
                created_at="Deal - Deal created",
                channel="Deal - Source channel",
                revenue="Deal - Value",
                revenue_currency=("Deal - Currency", "Deal - Currency of Value"),
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
    # Google Ads report (Reports → download CSV or "CSV for Excel", which is UTF-16 and
    # tab-separated): a title and a date-range line above the header, "Total: …" rows at
    # the end whose label sits in the first column, whichever it is, with "--" elsewhere.
    "google_ads": {
        "spend": Preset(
            columns=_cols(
                date="Day",
                campaign="Campaign",
                amount="Cost",
                currency="Currency code",
                impressions="Impr.",
                clicks="Clicks",
            ),
            skip_rows=2,
            skip_any=r"^\s*Total:",
            null_values=("--",),
            defaults={"channel": "Google Ads"},
            date_formats=("%b %d, %Y",),  # "Mar 2, 2026" in some locales' downloads
        ),
    },
    # Meta Ads Manager export; the amount header names the currency (any ISO code). By day
    # ("Day" column) or one row per reporting range (spread over its days). The summary row
    # Meta puts first has every name column blank.
    "meta": {
        "spend": Preset(
            columns=_cols(
                date=("Day", "Reporting starts"),
                date_end="Reporting ends",
                campaign=("Campaign name", "Ad set name", "Ad name"),
                impressions="Impressions",
                clicks=("Link clicks", "Clicks (all)"),
            ),
            patterns={"amount": r"^Amount spent \([A-Z]{3}\)$"},
            unless={"date_end": "Day"},
            skip_blank=("Campaign name", "Ad set name", "Ad name"),
            skip_where={"Campaign name": r"^\s*Total"},
            defaults={"channel": "Meta Ads"},
            currency_from_header="amount",
        ),
    },
    # Google Analytics 4, Reports → Acquisition → Traffic acquisition → Share → Download CSV:
    # "#" lines above the header name the property and the date range. With "Date" added
    # as a secondary dimension the rows are days (20260302); without it each row is the
    # whole range, spread over its days. By default channel group, source / medium or
    # source, whichever the report shows (channels.aliases maps them to the leads').
    "ga4": {
        "traffic": Preset(
            columns=_cols(
                date="Date",
                channel=(
                    "Session default channel group",
                    "Session primary channel group (Default channel group)",
                    "Session primary channel group (Default Channel Group)",
                    "Session source / medium",
                    "Session source",
                    "First user default channel group",
                    "First user primary channel group (Default Channel Group)",
                ),
                campaign=("Session campaign", "Session manual campaign name"),
                visits="Sessions",
            ),
            comment_range=True,
            skip_any=r"^\s*Grand total\s*$",
            null_values=("(not set)",),  # GA4's "no campaign": the campaign-less leads' null
            date_formats=("%Y%m%d",),
        ),
    },
}


# What `funnel init --preset` writes for a spend export: the data file its starter points
# at and what the preset reads (a comment in the starter). A preset with a leads layout has
# a starter policy of its own instead (funnelcli/starters/<name>.yaml).
SPEND_STARTERS: dict[str, tuple[str, str]] = {
    "google_ads": (
        "google-ads-campaigns.csv",
        "Day, Campaign, Cost; skips the title and Total rows",
    ),
    "meta": ("meta-ads.csv", "Day or Reporting starts/ends, Campaign name, Amount spent (XXX)"),
}
# The same for a web-analytics export, which fills the traffic input.
TRAFFIC_STARTERS: dict[str, tuple[str, str]] = {
    "ga4": ("ga4-traffic-acquisition.csv", "channel group or source / medium, Sessions"),
}


def crm_presets() -> tuple[str, ...]:
    """The presets that read a CRM's leads (each has a starter policy)."""
    return tuple(name for name, layouts in PRESETS.items() if "leads" in layouts)


def traffic_presets() -> tuple[str, ...]:
    """The presets that read a web-analytics export's visits."""
    return tuple(name for name, layouts in PRESETS.items() if list(layouts) == ["traffic"])


def spend_presets() -> tuple[str, ...]:
    """The presets that read only an ad platform's spend."""
    return tuple(name for name, layouts in PRESETS.items() if list(layouts) == ["spend"])


def preset_for(name: str | None, kind: str) -> Preset | None:
    if name is None:
        return None
    return PRESETS.get(name, {}).get(kind)


def kinds(name: str) -> list[str]:
    return list(PRESETS.get(name, {}))
