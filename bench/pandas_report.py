"""The cohort report by channel the way an analyst would write it in pandas.

Same policy and rules as duckdb_report.py. Usage: python bench/pandas_report.py DATA_DIR
csv|parquet → JSON on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ALIASES = {
    "google ads": "paid_search",
    "adwords": "paid_search",
    "facebook": "paid_social",
    "linkedin ads": "paid_social",
}
STAGES = {
    "mql": 2,
    "marketing qualified lead": 2,
    "marketingqualifiedlead": 2,
    "sql": 3,
    "sales qualified lead": 3,
    "qso": 4,
    "qualified sales opportunity": 4,
    "opportunity": 4,
    "won": 5,
    "customer": 5,
    "closed won": 5,
}


def read(folder: Path, name: str, fmt: str) -> pd.DataFrame:
    path = folder / f"{name}.{fmt}"
    return pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, dtype=str)


def channel(values: pd.Series) -> pd.Series:
    low = values.fillna("").str.strip().str.lower()
    return low.replace(ALIASES).mask(low == "", "unknown")


def leads_frame(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.assign(rn=np.arange(len(raw)))
    raw["created"] = pd.to_datetime(raw["created_at"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce")
    raw = raw[raw["lead_id"].fillna("").str.strip().ne("") & raw["created"].notna()]
    raw = raw.sort_values(["created", "rn"]).drop_duplicates("lead_id", keep="first")
    num = {
        c: pd.to_numeric(raw[c], errors="coerce")
        for c in ("company_size", "pages_viewed", "budget", "timeline_days")
    }
    score = (
        np.where(num["company_size"] >= 50, 20, 0)
        + np.where(
            raw["job_title"].str.contains("(?i)head|director|vp|chief|founder", na=False), 15, 0
        )
        + np.where(raw["lead_type"] == "demo_request", 40, 0)
        + np.where(raw["lead_type"].isin(["webinar", "contact_form"]), 20, 0)
        + np.where(num["pages_viewed"] >= 5, 10, 0)
        - np.where(raw["email_bounced"].astype(str).str.lower() == "true", 20, 0)
    )
    return raw.assign(
        ch=channel(raw["channel"]),
        score=np.minimum(score, 100),
        bant=(num["budget"] > 0) & (num["timeline_days"] <= 90),
    )


def firsts(raw: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "lead_id": raw["lead_id"],
            "s": raw["stage"].fillna("").str.strip().str.lower().map(STAGES),
            "ts": pd.to_datetime(raw["entered_at"], format="ISO8601", errors="coerce"),
        }
    ).dropna()
    wide = t.pivot_table(index="lead_id", columns="s", values="ts", aggfunc="min")
    return wide.reindex(columns=[2, 3, 4, 5])


def main(folder: Path, fmt: str) -> None:
    leads = leads_frame(read(folder, "leads", fmt))
    f = leads.merge(
        firsts(read(folder, "transitions", fmt)), left_on="lead_id", right_index=True, how="left"
    )
    crm = {s: f[[t for t in (2, 3, 4, 5) if t >= s]].min(axis=1) for s in (2, 3, 4, 5)}
    ok = {2: f["score"] >= 40, 3: True, 4: f["bant"], 5: True}
    at = {1: f["created"]}
    for s in (2, 3, 4, 5):
        reached = at[s - 1].notna() & ok[s] & crm[s].notna()
        at[s] = np.maximum(at[s - 1], crm[s]).where(reached)
    f = f.assign(
        a2=at[2],
        a3=at[3],
        a4=at[4],
        a5=at[5],
        d2=(at[2] - f["created"]).dt.total_seconds() / 86400,
        d5=(at[5] - at[4]).dt.total_seconds() / 86400,
    )
    g = f.groupby("ch")
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "mql": g["a2"].count(),
            "sql": g["a3"].count(),
            "qso": g["a4"].count(),
            "won": g["a5"].count(),
            "mql_days_median": g["d2"].quantile(0.5),
            "mql_days_p90": g["d2"].quantile(0.9),
            "won_days_median": g["d5"].quantile(0.5),
        }
    )
    spend = read(folder, "spend", fmt)
    spend = spend[spend["currency"].fillna("USD").str.strip().str.upper() == "USD"]
    amount = pd.to_numeric(
        spend["amount"].astype(str).str.replace("[$,]", "", regex=True), errors="coerce"
    )
    by = amount.groupby(channel(spend["channel"])).sum()
    out = out.join(by.rename("spend"), how="outer")
    out[["leads", "mql", "sql", "qso", "won"]] = out[["leads", "mql", "sql", "qso", "won"]].fillna(
        0
    )
    rows = []
    for ch, r in out.sort_index().iterrows():
        rows.append(
            {"channel": ch, **{k: (None if pd.isna(v) else float(v)) for k, v in r.items()}}
        )
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
