"""`--as-of D` is a point in time: the full sample read as of D gives the report of the
sample as it was exported at the end of D (every later lead, transition and spend row cut
out by hand here), for several days, windows, bases and conversion windows."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import invoke

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_data"
DAYS = ["2026-05-20", "2026-06-30", "2026-08-15"]
OPTIONS = {
    "all leads": [],
    "last 4 weeks": ["--last", "4w"],
    "weekly within 30": ["--every", "week", "--within", "30"],
    "period basis": ["--basis", "period", "--last", "1m", "--by", "campaign"],
}


def _cut(folder: Path, day: str) -> Path:
    """The sample as exported at the end of ``day`` (all its times are UTC ISO 8601)."""
    shutil.copy(ROOT / "config.example.yaml", folder / "funnel.yaml")
    text = (folder / "funnel.yaml").read_text().replace("sample_data/", "data/")
    (folder / "funnel.yaml").write_text(text)
    (folder / "data").mkdir()
    cuts = (("leads", "created_at"), ("transitions", "entered_at"), ("spend", "date"))
    for name, column in (*cuts, ("traffic", "date")):
        with (SAMPLE / f"{name}.csv").open(newline="") as src:
            rows = list(csv.DictReader(src))
        # A cell that is not an ISO date (the sample's planted bad date) stays: it is checked.
        kept = [r for r in rows if not r[column][:4].isdigit() or r[column][:10] <= day]
        with (folder / "data" / f"{name}.csv").open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(kept)
    return folder / "funnel.yaml"


def _report(config: Path, day: str, options: list[str]) -> dict[str, Any]:
    run = invoke("report", "-c", config, "-f", "json", "-q", "--as-of", day, *options)
    assert run.exit_code == 0, run.stderr
    return run.json()


@pytest.mark.parametrize("day", DAYS)
def test_as_of_reads_the_data_as_exported_that_day(tmp_path: Path, day: str) -> None:
    cut = _cut(tmp_path, day)
    for name, options in OPTIONS.items():
        full = _report(ROOT / "config.example.yaml", day, options)
        then = _report(cut, day, options)
        assert full["rows"] == then["rows"], (day, name)
        assert full["total"] == then["total"], (day, name)
        codes = {w["code"] for w in full["warnings"]} - {"input.after_as_of"}
        assert codes == {w["code"] for w in then["warnings"]} - {"input.after_as_of"}, name


def test_the_old_week_no_longer_counts_later_wins() -> None:
    # Six of this window's leads were won in July and August; on 2026-06-30 none had been.
    report = _report(ROOT / "config.example.yaml", "2026-06-30", ["--last", "4w"])
    assert report["total"]["stages"]["won"]["count"] == 0
    aside = next(w for w in report["warnings"] if w["code"] == "input.after_as_of")
    assert "dated after 2026-06-30 were set aside" in aside["message"]
    without = invoke("report", "-c", ROOT / "config.example.yaml", "-f", "json", "-q",
                     "--since", "2026-06-03", "--until", "2026-06-30").json()  # fmt: skip
    assert without["total"]["stages"]["won"]["count"] == 6
    assert "input.after_as_of" not in {w["code"] for w in without["warnings"]}


def test_check_as_of(tmp_path: Path) -> None:
    run = invoke("check", "-c", ROOT / "config.example.yaml", "-f", "json", "--as-of", "2026-05-20")
    found = {f["id"]: f for f in run.json()["findings"]}
    assert found["input.after_as_of"]["severity"] == "info"
    assert found["input.after_as_of"]["count"] > 0
