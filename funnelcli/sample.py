"""Synthetic, realistic funnel data of any size, vectorised and deterministic by seed.

Six channels (an organic one with no spend, a display channel that is paid for but brings
almost no leads), ten campaigns, lead types whose MQL→SQL rates differ strongly, lognormal
stage delays, and a few real-world faults so that warnings have something to show:
duplicate lead ids, skipped stages, transitions dated before their lead, a bad date.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from funnelcli.errors import ExistsError, UsageError
from funnelcli.inputs.dataset import Step, quiet
from funnelcli.output import remove_stale_temps, temp_prefix

START = dt.datetime(2026, 5, 1)
GROWTH = 1.15  # lead arrivals: power distribution over the months, growing slowly
# channel: (share of leads, spend per day, campaigns, raw spellings seen in exports)
CHANNELS = {
    "organic": (0.27, 0.0, [None], ["Organic", "organic"]),
    "paid_search": (0.25, 520.0, ["brand", "generic", "competitor"], ["Google Ads", "adwords"]),
    "paid_social": (
        0.20,
        340.0,
        ["lookalike", "retargeting", "webinar_promo"],
        ["facebook", "LinkedIn Ads"],
    ),
    "email": (0.13, 45.0, ["newsletter", "nurture"], ["Email", "email"]),
    "referral": (0.145, 60.0, ["partner"], ["Referral"]),
    "display": (0.002, 180.0, ["programmatic"], ["Display"]),
}
LEAD_TYPES = ["ebook", "webinar", "demo_request", "contact_form"]
TYPE_SHARE = [0.40, 0.25, 0.15, 0.20]
# The CRM's marketing automation marks a lead MQL mostly when it scores >= 40 under the
# example policy's rules (P_MQL by lead type), and now and then by hand (P_MQL_BY_HAND).
P_MQL = np.array([0.55, 0.75, 0.90, 0.80])
P_MQL_BY_HAND = 0.02
SENIOR = {"Head of Growth", "Director of Sales", "VP Marketing", "Chief Revenue Officer", "Founder"}
P_SQL = np.array([0.06, 0.18, 0.62, 0.40])  # MQL → SQL, by lead type
P_QSO, P_WON, P_LOST = 0.55, 0.32, 0.5
TITLES = [
    "Marketing Manager",
    "Head of Growth",
    "Director of Sales",
    "VP Marketing",
    "Analyst",
    "Chief Revenue Officer",
    "Founder",
    "Student",
    "Operations Lead",
    "Engineer",
]
STAGE_SPELLING = {
    "mql": ["MQL", "mql", "Marketing Qualified Lead"],
    "sql": ["SQL", "sql"],
    "qso": ["opportunity", "qso"],
    "won": ["customer", "Closed Won"],
}


@dataclass(frozen=True)
class SampleSpec:
    leads: int = 5000
    seed: int = 7
    months: int = 6
    fmt: str = "csv"
    force: bool = False  # replace tables already in the folder
    history: str = "light"  # light: ~0.55 stage rows a lead; heavy: a CRM's full history


CHUNK = 1_000_000  # leads made at a time: memory stays near 1 GB whatever --leads asks for
TABLES = ("leads", "spend", "transitions", "traffic")
# The top of the funnel and the money, drawn from a generator of their own (EXTRA_STREAM)
# so that the leads, spend and stages of a seed stay what they always were.
EXTRA_STREAM = 18
# channel: (cost per thousand impressions, click-through rate, visits per lead, GA4 channel)
AD_FIGURES = {
    "paid_search": (28.0, 0.045, 22.0, "Paid Search"),
    "paid_social": (9.0, 0.012, 35.0, "Paid Social"),
    "email": (4.0, 0.03, 18.0, "Email"),
    "referral": (15.0, 0.02, 14.0, "Referral"),
    "display": (3.5, 0.011, 400.0, "Display"),
    "organic": (0.0, 0.0, 30.0, "Organic Search"),
}
DIRECT_VISITS_PER_DAY = 140.0  # GA4's "Direct": visits no lead channel claims
# The heavy history (--history heavy), from a stream of its own: what a CRM's lifecycle
# history export holds — every stage by its *name*, the entry stage and the "Subscriber"
# stage before it (an exit), re-entries, ISO times with a T: about 2.5 rows a lead.
HEAVY_STREAM = 20
STAGE_NAMES = {
    "mql": ["Marketing Qualified Lead"],
    "sql": ["Sales Qualified Lead"],
    "qso": ["Qualified Sales Opportunity"],
    "won": ["closed won", "Customer"],
    "lost": ["Lost"],
}
SPELLED_AS = {s: k for k, names in STAGE_SPELLING.items() for s in names} | {"lost": "lost"}
P_SUBSCRIBER, P_REENTRY = 0.75, 0.35


def write_sample(spec: SampleSpec, out: Path, step: Step = quiet, chunk: int = CHUNK) -> list[Path]:
    """Write leads, spend and transitions files into ``out`` (created if missing), ``chunk``
    leads at a time; ``step`` is told which leads are being made."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; name a folder for the tables.")
    paths = [out / f"{name}.{spec.fmt}" for name in TABLES]
    taken = [p for p in paths if p.exists() or p.is_symlink()]
    if taken and not spec.force:
        names = ", ".join(p.name for p in taken)
        msg = (
            f"{out} already has {names}: not overwriting (they may be real exports). "
            "Pick another folder."
        )
        raise ExistsError(msg)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out / "sample")
    rng = np.random.default_rng(spec.seed)
    extra = np.random.default_rng([spec.seed, EXTRA_STREAM])
    heavy = np.random.default_rng([spec.seed, HEAVY_STREAM]) if spec.history == "heavy" else None
    days = (_add_months(START, spec.months) - START).days
    with _Staged(out, spec.fmt) as staged:
        for start in range(0, spec.leads, chunk):
            size = min(chunk, spec.leads - start)
            step(f"making leads {start + 1:,}–{start + size:,} of {spec.leads:,}")
            leads, stages = _leads(rng, start, size, spec.leads, days, extra=extra)
            staged.add("leads", leads)
            if start == 0:  # drawn here so that one chunk makes what one pass always made
                staged.add("spend", _spend(rng, days, extra))
                staged.add("traffic", _traffic(extra, days, spec.leads))
            trans = _transitions(rng, leads, stages, first=start == 0)
            if heavy is not None:
                trans = _heavy_history(heavy, trans, leads, stages)
            staged.add("transitions", trans)
        step(f"writing {', '.join(p.name for p in paths)}")
        staged.commit(paths)
    return paths


class _Staged:
    """The tables written chunk by chunk into a hidden folder inside ``out``, moved into
    place only when every chunk is written; an interrupted run leaves nothing behind.
    CSV chunks are appended to one file; Parquet chunks are parts, joined at the end by a
    streaming copy (a Parquet file cannot be appended to)."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.chunks = dict.fromkeys(TABLES, 0)

    def __enter__(self) -> _Staged:
        # Named like output.py's temp files, so a killed run's folder is removed next time.
        # The name is known before the folder exists, so a signal at any moment after this
        # line finds it to remove (the with-statement's exit does not run if this fails).
        self.work = self.out / f"{temp_prefix(self.out / 'sample')}{secrets.token_hex(4)}.tmp"
        try:
            self.work.mkdir()
            return self
        except BaseException:
            shutil.rmtree(self.work, ignore_errors=True)
            raise

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def add(self, name: str, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            with (self.work / f"{name}.csv").open("ab") as file:
                frame.write_csv(file, include_header=self.chunks[name] == 0)
        else:
            frame.write_parquet(self._part(name, self.chunks[name]))
        self.chunks[name] += 1

    def commit(self, paths: list[Path]) -> None:
        """Finish every table, then move them all: the slow part is over before the first
        file is replaced, so the folder is not left with a mix of old and new tables."""
        if self.fmt == "parquet":
            for name, path in zip(TABLES, paths, strict=True):
                parts = [self._part(name, i) for i in range(self.chunks[name])]
                pl.scan_parquet(parts).sink_parquet(self.work / path.name)
        for path in paths:
            (self.work / path.name).replace(path)

    def _part(self, name: str, index: int) -> Path:
        return self.work / f"{name}-{index:05d}.parquet"


def _add_months(start: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + year, month=month + 1)


def _pick(
    rng: np.random.Generator, options: list, n: int, p: list[float] | None = None
) -> pl.Series:
    return pl.Series(options, dtype=pl.String).gather(rng.choice(len(options), size=n, p=p))


def _leads(
    rng: np.random.Generator,
    start: int,
    n: int,
    total: int,
    days: int,
    *,
    extra: np.random.Generator,
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Leads ``start`` to ``start + n`` of ``total``, with the stages each will reach."""
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    chan_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    # Each lead's campaign and raw channel spelling, as positions in lists of all of them.
    campaign_idx = np.empty(n, dtype=np.int64)
    spelling_idx = np.empty(n, dtype=np.int64)
    campaigns: list[str | None] = []
    spellings: list[str] = []
    for i, name in enumerate(names):
        mask = chan_idx == i
        own, spelled = CHANNELS[name][2], CHANNELS[name][3]
        campaign_idx[mask] = len(campaigns) + rng.choice(len(own), size=int(mask.sum()))
        spelling_idx[mask] = len(spellings) + rng.choice(len(spelled), size=int(mask.sum()))
        campaigns += own
        spellings += spelled
    type_idx = rng.choice(4, size=n, p=TYPE_SHARE)
    created_s = _arrivals(rng, start, n, total, days)
    number = pl.int_range(start, start + n, dtype=pl.Int64)
    texts = pl.select(
        lead_id=pl.format("L{}", number + 100_000), email=pl.format("user{}@example.com", number)
    )
    frame = pl.DataFrame(
        {
            "lead_id": texts["lead_id"],
            "created_at": _stamps(created_s, "%Y-%m-%dT%H:%M:%SZ"),
            "channel": pl.Series(spellings).gather(spelling_idx),
            "campaign": pl.Series(campaigns, dtype=pl.String).gather(campaign_idx),
            "email": texts["email"],
            "company_size": np.round(rng.lognormal(3.6, 1.3, size=n)).astype(np.int64) + 1,
            "job_title": _pick(rng, TITLES, n),
            "lead_type": pl.Series(LEAD_TYPES).gather(type_idx),
            "pages_viewed": rng.poisson(3.5, size=n),
            "email_bounced": rng.random(n) < 0.04,
            "budget": np.where(
                rng.random(n) < 0.7, np.round(rng.lognormal(9.5, 0.8, size=n), -2), 0
            ).astype(np.int64),
            "timeline_days": rng.choice(
                [30, 60, 90, 180, 365], size=n, p=[0.2, 0.3, 0.25, 0.15, 0.1]
            ),
        },
        strict=False,
    )
    stages = _progress(rng, type_idx, _score(frame, type_idx))
    stages["created_s"] = created_s
    # What each customer paid (the CRM's deal value): long-tailed, most deals a few
    # thousand, a few large ones; blank for everyone else.
    value = np.round(extra.lognormal(8.8, 0.9, size=n), -1)
    frame = frame.with_columns(
        pl.Series("deal_value", np.where(stages["won"], value, np.nan)).fill_nan(None)
    )
    return _lead_faults(rng, frame, first=start == 0), stages


def _arrivals(rng: np.random.Generator, start: int, n: int, total: int, days: int) -> np.ndarray:
    """Seconds after START at which leads ``start`` to ``start + n`` of ``total`` arrive, in
    order: a little faster over time (growth), at any second of the day. A chunk draws from
    its own slice of the arrival distribution (CDF x**GROWTH), so chunks made one after
    another stay in time order."""
    x = rng.power(GROWTH, size=n)
    if n < total:
        x = ((start + x**GROWTH * n) / total) ** (1 / GROWTH)
    return np.sort(days * 86_400 * x).astype(np.int64)


def _stamps(seconds: np.ndarray, fmt: str) -> pl.Series:
    """Seconds after START → formatted timestamps (vectorised)."""
    micros = pl.Series(seconds.astype(np.int64) * 1_000_000).cast(pl.Duration("us"))
    return (START + micros).dt.to_string(fmt)


def _score(leads: pl.DataFrame, type_idx: np.ndarray) -> np.ndarray:
    """The example policy's score, as the CRM's automation computed it."""
    fit = np.where(leads["company_size"].to_numpy() >= 50, 20, 0)
    fit += np.where(leads["job_title"].is_in(list(SENIOR)).to_numpy(), 15, 0)
    engagement = np.select([type_idx == 2, (type_idx == 1) | (type_idx == 3)], [40, 20], 0)
    engagement += np.where(leads["pages_viewed"].to_numpy() >= 5, 10, 0)
    engagement -= np.where(leads["email_bounced"].to_numpy(), 20, 0)
    return np.minimum(fit + engagement, 100)


def _progress(
    rng: np.random.Generator, type_idx: np.ndarray, score: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(score)
    automated = (score >= 40) & (rng.random(n) < P_MQL[type_idx])
    mql = automated | (rng.random(n) < P_MQL_BY_HAND)
    sql = mql & (rng.random(n) < P_SQL[type_idx])
    qso = sql & (rng.random(n) < P_QSO)
    won = qso & (rng.random(n) < P_WON)
    lost = sql & ~won & (rng.random(n) < P_LOST)
    return {"mql": mql, "sql": sql, "qso": qso, "won": won, "lost": lost}


def _lead_faults(rng: np.random.Generator, leads: pl.DataFrame, *, first: bool) -> pl.DataFrame:
    """A few duplicated ids (re-imported later) and, in the first chunk, one unreadable date."""
    dupes = leads.sample(n=max(1, leads.height // 1000), seed=int(rng.integers(1 << 31)))
    dupes = dupes.with_columns(pl.lit("2026-10-30T12:00:00Z").alias("created_at"))
    if not first:
        return pl.concat([leads, dupes])
    bad = leads.head(1).with_columns(
        pl.lit("L099999").alias("lead_id"), pl.lit("31/02/2026").alias("created_at")
    )
    return pl.concat([leads, dupes, bad])


def _transitions(
    rng: np.random.Generator, leads: pl.DataFrame, stages: dict[str, np.ndarray], *, first: bool
) -> pl.DataFrame:
    """Stage entries of the chunk's leads, in time order; the first chunk also has three
    MQL records dated before their lead."""
    n = len(stages["mql"])
    ids = leads["lead_id"].head(n)
    at = stages["created_s"].astype(np.float64)
    delays = {"mql": (0.2, 1.0), "sql": (1.4, 0.7), "qso": (2.0, 0.6), "won": (3.1, 0.5)}
    parts = []
    for stage, (mu, sigma) in delays.items():
        at = at + rng.lognormal(mu, sigma, size=n) * 86_400
        keep = stages[stage].copy()
        if stage == "mql":  # ~3% of SQLs skipped MQL in the CRM (back-filled by the policy)
            keep &= ~(stages["sql"] & (rng.random(n) < 0.03))
            # Three MQL records dated before their lead existed (CRM clock/import faults).
            early = np.flatnonzero(keep)[: 3 if first else 0]
            at_mql = at.copy()
            at_mql[early] = stages["created_s"][early] - 86_400
            parts.append(_rows(ids, _pick(rng, STAGE_SPELLING[stage], n), at_mql, keep))
            continue
        parts.append(_rows(ids, _pick(rng, STAGE_SPELLING[stage], n), at, keep))
        if stage == "sql":
            lost_at = at + rng.integers(5, 40, size=n) * 86_400
            lost = pl.repeat("lost", n, eager=True)
            parts.append(_rows(ids, lost, lost_at, stages["lost"]))
    return pl.concat(parts).sort("__s", maintain_order=True).drop("__s")


def _heavy_history(
    rng: np.random.Generator,
    light: pl.DataFrame,
    leads: pl.DataFrame,
    stages: dict[str, np.ndarray],
) -> pl.DataFrame:
    """The light history rewritten as a CRM's lifecycle history: stage names, a "Lead" row
    at creation for every lead and a "Subscriber" row (an exit stage) before it for most,
    MQLs entered again later (re-entries), every time ISO with a T."""
    n = len(stages["mql"])
    ids = leads["lead_id"].head(n)
    created = stages["created_s"].astype(np.float64)
    spelled = pl.col("stage").replace_strict(SPELLED_AS, default=None)
    names = [pl.lit(v[0]) for v in STAGE_NAMES.values()]
    named = light.with_columns(
        pl.when(spelled == "won")
        .then(
            pl.when(pl.col("lead_id").str.ends_with("7"))
            .then(pl.lit("Customer"))
            .otherwise(names[3])
        )
        .otherwise(spelled.replace_strict({k: v[0] for k, v in STAGE_NAMES.items()}, default=None))
        .alias("stage"),
        pl.col("entered_at").str.replace(" ", "T", literal=True),
    )
    everyone = np.ones(n, dtype=bool)
    before = created - rng.uniform(3_600, 30 * 86_400, size=n)
    again = created + rng.uniform(90, 180, size=n) * 86_400  # recycled, long after MQL
    extra = [
        _rows(ids, pl.repeat("Lead", n, eager=True), created, everyone, iso=True),
        _rows(
            ids,
            pl.repeat("Subscriber", n, eager=True),
            before,
            rng.random(n) < P_SUBSCRIBER,
            iso=True,
        ),
        _rows(
            ids,
            pl.repeat("Marketing Qualified Lead", n, eager=True),
            again,
            stages["mql"] & (rng.random(n) < P_REENTRY),
            iso=True,
        ),
    ]
    return pl.concat([named, *(e.drop("__s") for e in extra)])


def _rows(
    ids: pl.Series, stage: pl.Series, at: np.ndarray, keep: np.ndarray, *, iso: bool = False
) -> pl.DataFrame:
    seconds = at.astype(np.int64)
    frame = pl.DataFrame(
        {
            "lead_id": ids,
            "stage": stage,
            "entered_at": _stamps(seconds, "%Y-%m-%dT%H:%M:%S" if iso else "%Y-%m-%d %H:%M:%S"),
            "__s": seconds,
        },
        strict=False,
    )
    return frame.filter(pl.Series(keep))


def _spend(rng: np.random.Generator, days: int, extra: np.random.Generator) -> pl.DataFrame:
    """Daily spend per paid channel and campaign, growing slowly, with export quirks; and
    the impressions and clicks the platforms report with it."""
    parts = []
    for name, (_, per_day, campaigns, spellings) in CHANNELS.items():
        if per_day == 0:
            continue  # organic: no spend rows at all
        cpm, ctr = AD_FIGURES[name][:2]
        for campaign in campaigns:
            growth = np.linspace(0.85, 1.15, days)
            amount = per_day / len(campaigns) * growth * rng.lognormal(0, 0.25, size=days)
            impressions = extra.poisson(amount / cpm * 1000 * extra.lognormal(0, 0.2, size=days))
            clicks = extra.binomial(
                impressions, ctr * extra.lognormal(0, 0.15, size=days).clip(max=5)
            )
            parts.append(
                pl.DataFrame(
                    {
                        "date": pl.date_range(
                            START.date(), START.date() + dt.timedelta(days=days - 1), eager=True
                        ),
                        "channel": _pick(rng, spellings, days),
                        "campaign": [campaign] * days,
                        "amount": np.round(amount, 2),
                        "impressions": impressions,
                        "clicks": clicks,
                    }
                )
            )
    frame = pl.concat(parts)
    # The display network invoices monthly: one large row per month instead of daily rows.
    display = pl.col("campaign") == "programmatic"
    monthly = (
        frame.filter(display)
        .group_by(pl.col("date").dt.truncate("1mo"), "campaign")
        .agg(
            pl.col("channel").first(),
            pl.col("amount").sum().round(2),
            pl.col("impressions", "clicks").sum(),
        )
        .select(frame.columns)
    )
    frame = pl.concat([frame.filter(~display), monthly]).sort("date", "campaign")
    # Ad platforms export "$1,234.50"; the spend file mixes both styles.
    styled = _dollars(pl.col("amount"))
    dollar = pl.Series(rng.random(frame.height) < 0.3)
    amount = pl.when(dollar).then(styled).otherwise(pl.col("amount").cast(pl.String))
    return frame.with_columns(amount.alias("amount"), pl.lit("USD").alias("currency")).select(
        "date", "channel", "campaign", "amount", "currency", "impressions", "clicks"
    )


def _traffic(extra: np.random.Generator, days: int, leads: int) -> pl.DataFrame:
    """Daily visits by GA4 channel group (as a Traffic acquisition export names them): about
    the leads each channel brings times its visits per lead, and Direct visits on top."""
    dates = pl.date_range(START.date(), START.date() + dt.timedelta(days=days - 1), eager=True)
    growth = np.linspace(0.8, 1.2, days)
    parts = []
    for name, (share, *_rest) in CHANNELS.items():
        per_lead, group = AD_FIGURES[name][2], AD_FIGURES[name][3]
        visits = extra.poisson(leads * share / days * per_lead * growth)
        parts.append(pl.DataFrame({"date": dates, "channel": group, "visits": visits}))
    direct = extra.poisson(DIRECT_VISITS_PER_DAY * leads / 5000 * growth)
    parts.append(pl.DataFrame({"date": dates, "channel": "Direct", "visits": direct}))
    return pl.concat(parts).sort("date", "channel")


def _dollars(amount: pl.Expr) -> pl.Expr:
    """``$1,234.50`` for amounts below a billion (vectorised, as ad platforms print them)."""
    cents = (amount * 100).round(0).cast(pl.Int64)
    units, frac = cents // 100, (cents % 100).cast(pl.String).str.zfill(2)
    millions, thousands, ones = units // 1_000_000, (units // 1000) % 1000, units % 1000
    pad = {n: e.cast(pl.String).str.zfill(3) for n, e in (("t", thousands), ("o", ones))}
    body = (
        pl.when(millions > 0)
        .then(pl.format("{},{},{}", millions, pad["t"], pad["o"]))
        .when(thousands > 0)
        .then(pl.format("{},{}", thousands, pad["o"]))
        .otherwise(ones.cast(pl.String))
    )
    return pl.format("${}.{}", body, frac)
