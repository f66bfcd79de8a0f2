"""Synthetic, realistic funnel data of any size, vectorised and deterministic by seed.

Six channels (an organic one with no spend, a display channel that is paid for but brings
almost no leads), ten campaigns, lead types whose MQL→SQL rates differ strongly, lognormal
stage delays, and a few real-world faults so that warnings have something to show:
duplicate lead ids, skipped stages, transitions dated before their lead, a bad date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from funnelcli.errors import UsageError
from funnelcli.output import atomic_path

START = dt.datetime(2026, 5, 1)
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


def write_sample(spec: SampleSpec, out: Path) -> list[Path]:
    """Write leads, spend and transitions files into ``out`` (created if missing)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; name a folder.")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    days = (_add_months(START, spec.months) - START).days
    leads, stages = _leads(rng, spec.leads, days)
    frames = {
        "leads": leads,
        "spend": _spend(rng, days),
        "transitions": _transitions(rng, leads, stages),
    }
    paths = []
    for name, frame in frames.items():
        path = out / f"{name}.{spec.fmt}"
        with atomic_path(path) as tmp:  # an interrupted run leaves no half-written file
            if spec.fmt == "parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_csv(tmp)
        paths.append(path)
    return paths


def _add_months(start: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + year, month=month + 1)


def _pick(
    rng: np.random.Generator, options: list, n: int, p: list[float] | None = None
) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def _leads(
    rng: np.random.Generator, n: int, days: int
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    chan_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    raw_channel = np.empty(n, dtype=object)
    campaign = np.empty(n, dtype=object)
    for i, name in enumerate(names):
        mask = chan_idx == i
        campaign[mask] = _pick(rng, CHANNELS[name][2], int(mask.sum()))
        raw_channel[mask] = _pick(rng, CHANNELS[name][3], int(mask.sum()))
    type_idx = rng.choice(4, size=n, p=TYPE_SHARE)
    # Leads arrive a little faster over time (growth), at any second of the day.
    created_s = np.sort(days * 86_400 * rng.power(1.15, size=n)).astype(np.int64)
    frame = pl.DataFrame(
        {
            "lead_id": np.char.add("L", (np.arange(n) + 100_000).astype(str)),
            "created_at": _stamps(created_s, "%Y-%m-%dT%H:%M:%SZ"),
            "channel": raw_channel,
            "campaign": campaign,
            "email": np.char.add(np.char.add("user", np.arange(n).astype(str)), "@example.com"),
            "company_size": np.round(rng.lognormal(3.6, 1.3, size=n)).astype(np.int64) + 1,
            "job_title": _pick(rng, TITLES, n),
            "lead_type": np.asarray(LEAD_TYPES, dtype=object)[type_idx],
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
    return _lead_faults(rng, frame), stages


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


def _lead_faults(rng: np.random.Generator, leads: pl.DataFrame) -> pl.DataFrame:
    """A few duplicated ids (re-imported later) and one unreadable date."""
    dupes = leads.sample(n=max(1, leads.height // 1000), seed=int(rng.integers(1 << 31)))
    dupes = dupes.with_columns(pl.lit("2026-10-30T12:00:00Z").alias("created_at"))
    bad = leads.head(1).with_columns(
        pl.lit("L099999").alias("lead_id"), pl.lit("31/02/2026").alias("created_at")
    )
    return pl.concat([leads, dupes, bad])


def _transitions(
    rng: np.random.Generator, leads: pl.DataFrame, stages: dict[str, np.ndarray]
) -> pl.DataFrame:
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
            early = np.flatnonzero(keep)[:3]
            at_mql = at.copy()
            at_mql[early] = stages["created_s"][early] - 86_400
            parts.append(_rows(ids, _pick(rng, STAGE_SPELLING[stage], n), at_mql, keep))
            continue
        parts.append(_rows(ids, _pick(rng, STAGE_SPELLING[stage], n), at, keep))
        if stage == "sql":
            lost_at = at + rng.integers(5, 40, size=n) * 86_400
            parts.append(_rows(ids, np.full(n, "lost", dtype=object), lost_at, stages["lost"]))
    return pl.concat(parts).sort("__s", maintain_order=True).drop("__s")


def _rows(ids: pl.Series, stage: np.ndarray, at: np.ndarray, keep: np.ndarray) -> pl.DataFrame:
    seconds = at.astype(np.int64)
    frame = pl.DataFrame(
        {
            "lead_id": ids,
            "stage": stage,
            "entered_at": _stamps(seconds, "%Y-%m-%d %H:%M:%S"),
            "__s": seconds,
        },
        strict=False,
    )
    return frame.filter(pl.Series(keep))


def _spend(rng: np.random.Generator, days: int) -> pl.DataFrame:
    """Daily spend per paid channel and campaign, growing slowly, with export quirks."""
    parts = []
    for _, per_day, campaigns, spellings in CHANNELS.values():
        if per_day == 0:
            continue  # organic: no spend rows at all
        for campaign in campaigns:
            growth = np.linspace(0.85, 1.15, days)
            amount = per_day / len(campaigns) * growth * rng.lognormal(0, 0.25, size=days)
            parts.append(
                pl.DataFrame(
                    {
                        "date": pl.date_range(
                            START.date(), START.date() + dt.timedelta(days=days - 1), eager=True
                        ),
                        "channel": _pick(rng, spellings, days),
                        "campaign": [campaign] * days,
                        "amount": np.round(amount, 2),
                    }
                )
            )
    frame = pl.concat(parts)
    # The display network invoices monthly: one large row per month instead of daily rows.
    display = pl.col("campaign") == "programmatic"
    monthly = (
        frame.filter(display)
        .group_by(pl.col("date").dt.truncate("1mo"), "campaign")
        .agg(pl.col("channel").first(), pl.col("amount").sum().round(2))
        .select(frame.columns)
    )
    frame = pl.concat([frame.filter(~display), monthly]).sort("date", "campaign")
    # Ad platforms export "$1,234.50"; the spend file mixes both styles.
    styled = _dollars(pl.col("amount"))
    dollar = pl.Series(rng.random(frame.height) < 0.3)
    return frame.with_columns(
        pl.when(dollar).then(styled).otherwise(pl.col("amount").cast(pl.String)).alias("amount"),
        pl.lit("USD").alias("currency"),
    )


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
