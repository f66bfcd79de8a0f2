"""Load all inputs of a policy and the findings that need more than one table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from funnelcli.catalogue import CLICKS, IMPRESSIONS, features_of
from funnelcli.columns import HASH, LEAD_KEY
from funnelcli.columns import REVENUE as REVENUE_COL
from funnelcli.errors import InputError, listed
from funnelcli.findings import MAX_EXAMPLES, Finding
from funnelcli.inputs.leads import load_leads
from funnelcli.inputs.load import Loaded, flagged, keep_findings
from funnelcli.inputs.spend import load_spend
from funnelcli.inputs.traffic import load_traffic
from funnelcli.inputs.transitions import load_transitions
from funnelcli.policy.config import Policy

Step = Callable[[str], None]
ENTRY = "__entry"  # an entry's row number, while its lead's position is looked up


def quiet(_: str) -> None:
    """A ``step`` callback that shows nothing."""


@dataclass
class Dataset:
    leads: pl.DataFrame  # deduplicated, one row per lead
    spend: pl.DataFrame | None  # usable rows in the config's currency; None: no spend input
    transitions: pl.DataFrame  # stage entries of known leads, by LEAD_KEY (no lead_id)
    findings: list[Finding]
    rows: dict[str, int]  # data rows read per table
    lead_columns: list[str]  # every column of the leads file (canonical names)
    sales: pl.DataFrame | None = None  # sales cost rows (kind: sales); channel may be null
    traffic: pl.DataFrame | None = None  # visits a day by channel and campaign
    traffic_by_campaign: bool = True  # False: a traffic input has no campaign column
    features: frozenset[str] = frozenset()  # what the inputs carry (catalogue.has_data)


def read_leads(
    policy: Policy, extras: set[str], step: Step = quiet, as_of: dt.date | None = None
) -> Loaded:
    """The leads input, read first and on its own; ``extras`` are the lead columns rules and
    ``--by`` need. ``step`` is told what is being done next (the CLI shows it as progress).
    ``as_of``: every event dated after that day is set aside as the files are read."""
    step(f"reading leads ({policy.resolve(policy.inputs.leads).name})")
    return load_leads(policy, extras, as_of)


def load_dataset(
    policy: Policy, leads: Loaded, step: Step = quiet, as_of: dt.date | None = None
) -> Dataset:
    """Every other input read once, beside the ``leads`` that ``read_leads`` gave (their
    rows as they came; the caller may have replaced columns it is done with)."""
    if policy.inputs.spend_inputs():
        names = listed(policy.resolve(s).name for s in policy.inputs.spend_inputs())
        step(f"reading spend ({names})")
    spend = load_spend(policy, as_of)
    sales = load_spend(policy, as_of, kind="sales")
    if policy.inputs.traffic_inputs():
        names = listed(policy.resolve(s).name for s in policy.inputs.traffic_inputs())
        step(f"reading traffic ({names})")
    traffic, traffic_by_campaign = load_traffic(policy, as_of)
    step(f"reading stage transitions of {leads.frame.height:,} leads")
    trans, deals = load_transitions(policy, leads.frame, as_of)
    # Each entry gets its lead's position in the leads frame (LEAD_KEY): later steps then
    # group by integers instead of id strings, and place per-lead results by position.
    # The lead's creation time is not carried through the join (8 bytes an entry at its
    # peak, 16.6M entries: 0.13 GB); it is looked up by position for the one check that
    # needs it.
    joined = _with_leads(trans.frame, leads.frame["lead_id"])
    read = trans.rows_read
    unknown = pl.col(LEAD_KEY).is_null()
    early = pl.col("entered_at") < pl.col("created_at")
    created = leads.frame["created_at"].rechunk().gather(joined[LEAD_KEY])
    cross = keep_findings(
        flagged(
            joined,
            "transitions.unknown_lead",
            unknown,
            pl.col("lead_id"),
            total=read,
            context={"leads_file": policy.resolve(policy.inputs.leads).name},
        ),
        flagged(
            joined.with_columns(created),
            "transitions.before_created",
            early & ~unknown,
            _both,
            total=read,
        ),
    )
    extra = [f for part in (spend, sales, traffic) if part for f in part.findings]
    findings = leads.findings + extra + trans.findings + cross
    lead_frame = leads.frame
    if deals is not None:
        lead_frame = _with_deals(lead_frame, deals, policy)
    return Dataset(
        leads=lead_frame,
        spend=spend.frame if spend else None,
        sales=sales.frame if sales else None,
        traffic=traffic.frame if traffic else None,
        traffic_by_campaign=traffic_by_campaign,
        features=_features(lead_frame, spend, sales, traffic),
        # LEAD_KEY stands for the id from here on: the ids' text is not copied again.
        transitions=joined.drop("lead_id").filter(~unknown),
        findings=merge_findings(findings),
        lead_columns=leads.headers,
        rows={
            "leads": leads.rows_read,
            "spend": spend.rows_read if spend else 0,
            "transitions": trans.rows_read,
            **({"traffic": traffic.rows_read} if traffic else {}),
        },
    )


def _features(
    leads: pl.DataFrame, spend: Loaded | None, sales: Loaded | None, traffic: Loaded | None
) -> frozenset[str]:
    """What the inputs carry beyond leads, spend and stages: the top-of-funnel and money
    metrics exist (in CSV columns and tables) exactly when these do, whatever the window."""
    ads = set()
    if spend is not None:
        ads = {n for n in (IMPRESSIONS, CLICKS) if spend.frame[n].null_count() < spend.frame.height}
    return features_of(
        ads,
        visits=traffic is not None,
        revenue=REVENUE_COL in leads.columns,
        sales=sales is not None,
    )


def _with_deals(leads: pl.DataFrame, deals: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Each lead's revenue: the sum of its deals in closed-deals inputs (a lead with two
    deals has both), placed by the lead's position; null for a lead with none."""
    if REVENUE_COL in leads.columns:
        msg = (
            f"{policy.source.path}: revenue comes from both the leads input (a column mapped "
            "or named 'revenue') and a closed-deals input; one of them would count every "
            "deal twice. Keep one: drop the leads' revenue mapping, or the deals' one."
        )
        raise InputError(msg)
    placed = _with_leads(deals, leads["lead_id"]).filter(pl.col(LEAD_KEY).is_not_null())
    sums = placed.group_by(LEAD_KEY).agg(pl.col(REVENUE_COL).sum())
    column = pl.repeat(None, leads.height, dtype=pl.Int64, eager=True).scatter(
        sums[LEAD_KEY], sums[REVENUE_COL]
    )
    return leads.with_columns(column.alias(REVENUE_COL))


def _with_leads(entries: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """``entries`` with LEAD_KEY beside their columns: the position in ``ids`` (the leads'
    ids, each once) of the lead each entry names, null for an id that is not there.

    Only the ids and the entries' row numbers go through the join; the position is then
    placed by row number, so the entries are never copied (a heavy 10M-lead Parquet
    history: the join step's top 2,237 -> 1,702 MiB against joining whole entries).

    Joined on 64-bit hashes of the ids, by the streaming engine: about three times as fast
    as the join on the strings (10M leads, 5.5M entries: 0.5 against 1.7 s). It stays
    exact: two leads sharing a hash that an entry has would give that entry two rows, and
    then the strings are joined instead; each match is checked against the lead's real id
    (an unknown id that collides stays unmatched)."""
    if ids.len() == 0:
        return entries.with_columns(pl.lit(None, pl.UInt32).alias(LEAD_KEY))
    names = entries["lead_id"]
    found = _positions(names, ids, id_hash)
    if found is None:
        found = _positions(names, ids, lambda text: text.alias(HASH))
        assert found is not None  # the ids are unique: one row per entry
    # One chunk first: a gather across the leads' many chunks took three times as long
    # (16.6M entries: 0.54 against 0.19 s, the rechunk 0.02 s).
    real = ids.rechunk().gather(found.fill_null(0))
    collided = found.is_not_null() & (real != names)
    if collided.any():
        found = found.set(collided, None)
    return entries.with_columns(found.alias(LEAD_KEY))


def _positions(
    names: pl.Series, ids: pl.Series, key: Callable[[pl.Expr], pl.Expr]
) -> pl.Series | None:
    """Per name, the position of the id with the same ``key`` (null: none); None when a
    name matches two ids."""
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    table = ids.to_frame("lead_id").lazy().select(key(pl.col("lead_id")), row.alias(LEAD_KEY))
    pairs = (
        names.to_frame("lead_id")
        .lazy()
        .select(key(pl.col("lead_id")), row.alias(ENTRY))
        .join(table, on=HASH, how="left")
        .select(ENTRY, LEAD_KEY)
        .collect(engine="streaming")
    )
    if pairs.height != names.len():
        return None
    empty = pl.repeat(None, names.len(), dtype=pl.UInt32, eager=True)
    return empty.scatter(pairs[ENTRY], pairs[LEAD_KEY])


def id_hash(ids: pl.Expr) -> pl.Expr:
    """A 64-bit hash of each id (a function so tests can put a colliding one in its place)."""
    return ids.hash().alias(HASH)


_FMT = "%Y-%m-%dT%H:%M:%S%:z"
_both = pl.format(
    "entered {}, created {}",
    pl.col("entered_at").dt.to_string(_FMT),
    pl.col("created_at").dt.to_string(_FMT),
)


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per id: counts added, examples kept in order up to the limit."""
    merged: dict[str, Finding] = {}
    for f in findings:
        prev = merged.get(f.id)
        if prev is None:
            merged[f.id] = f
            continue
        examples = (prev.examples + f.examples)[:MAX_EXAMPLES]
        total = (prev.total or 0) + (f.total or 0) or None
        merged[f.id] = replace(prev, count=prev.count + f.count, examples=examples, total=total)
    return list(merged.values())
