"""The reference lives in the repository and agrees with the code: every check of the
catalogue is documented with its default severity, the JSON Schemas accept what funnel
writes and reads, and nothing a user gets points outside the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from funnelcli.errors import UsageError
from funnelcli.findings import CATALOGUE
from funnelcli.request import ReportRequest
from funnelcli.scaffold import CRM_PRESETS, SPEND_PRESETS
from tests.conftest import invoke

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
EXAMPLE = ROOT / "config.example.yaml"


def test_every_check_is_documented_with_its_severity() -> None:
    text = (DOCS / "checks.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (error|warning|info) \|", text, re.M))
    assert rows == {c.id: c.severity for c in CATALOGUE.values()}


def test_the_docs_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert pages == sorted(re.findall(r"\]\(([a-z]+\.md)\)", index))


def test_nothing_a_user_gets_points_outside_the_repository() -> None:
    places = [ROOT / "README.md", EXAMPLE, *DOCS.rglob("*.md"), *(ROOT / "examples").rglob("*")]
    places += [p for p in (ROOT / "funnelcli").rglob("*") if p.suffix in (".py", ".yaml")]
    for path in places:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "DESIGN.md" not in text and "shared/" not in text, path


@pytest.mark.parametrize("name", ["config", "report", "check"])
def test_schema_command_prints_a_valid_json_schema(name: str) -> None:
    run = invoke("schema", name)
    assert run.exit_code == 0
    jsonschema.Draft202012Validator.check_schema(json.loads(run.stdout))


def _config_schema() -> dict:
    return json.loads(invoke("schema", "config").stdout)


def test_the_example_and_every_starter_fit_the_config_schema(tmp_path: Path) -> None:
    schema = _config_schema()
    jsonschema.validate(yaml.safe_load(EXAMPLE.read_text()), schema)
    for preset in [*CRM_PRESETS, *SPEND_PRESETS]:
        folder = tmp_path / preset
        assert invoke("init", folder, "--preset", preset).exit_code == 0
        text = (folder / "funnel.yaml").read_text()
        assert text.startswith("# yaml-language-server: $schema=funnel.schema.json\n")
        assert json.loads((folder / "funnel.schema.json").read_text()) == schema
        jsonschema.validate(yaml.safe_load(text), schema)


def test_the_schema_catches_a_typo() -> None:
    policy = yaml.safe_load(EXAMPLE.read_text())
    policy["stages"][1]["requirez"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(policy, _config_schema())


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--every", "month", "--by", "channel,campaign"],
        ["--last", "4w", "--as-of", "2026-06-30", "--compare", "previous", "--within", "30"],
        ["--basis", "period", "--every", "week"],
    ],
)
def test_report_json_fits_its_schema(args: list[str]) -> None:
    report = invoke("report", "-c", EXAMPLE, "-f", "json", "-q", *args).json()
    jsonschema.validate(report, json.loads(invoke("schema", "report").stdout))


def test_check_json_fits_its_schema() -> None:
    check = invoke("check", "-c", EXAMPLE, "-f", "json").json()
    jsonschema.validate(check, json.loads(invoke("schema", "check").stdout))


def test_each_check_is_raised_in_the_one_place_the_catalogue_says() -> None:
    homes = {
        "reading": ROOT / "funnelcli" / "inputs",
        "checks": ROOT / "funnelcli" / "checks",
        "targets": ROOT / "funnelcli" / "measure",
    }
    sources = {
        path: path.read_text()
        for path in (ROOT / "funnelcli").rglob("*.py")
        if path.name != "findings.py"
    }
    for check in CATALOGUE.values():
        places = [path for path, text in sources.items() if f'"{check.id}"' in text]
        assert places, check.id
        assert all(homes[check.raised] in path.parents for path in places), (check.id, places)


def test_no_flag_names_below_the_cli() -> None:
    # The CLI checks flags (funnelcli/request.py); the library raises domain errors only.
    below = [
        ROOT / "funnelcli" / name
        for name in (
            *("pipeline.py", "output.py", "sample.py", "scaffold.py"),
            *("measure", "inputs", "policy", "checks"),
        )
    ]
    for place in below:
        for path in [place] if place.is_file() else place.rglob("*.py"):
            text = path.read_text()
            for match in re.finditer(r"raise (?:UsageError|ExistsError)\((?:f?\"[^\"]*\")", text):
                assert " --" not in match.group(0) and '"--' not in match.group(0), (path, match)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"since": "2026-03-02", "until": "2026-03-01"}, "--since 2026-03-02 is after --until"),
        ({"last": "4w", "since": "2026-03-01"}, "--last sets the window itself"),
        ({"last": "4x"}, "--last '4x': use a count and a unit"),
        ({"as_of": "soon"}, "--as-of 'soon' is not a date"),
        ({"compare": "previous"}, "--compare previous needs a closed window"),
        ({"by": "period"}, "--by period needs --every"),
        ({"include_immature": True}, "--include-immature only applies with --within"),
        ({"by": " , "}, "--by needs at least one column"),
    ],
)
def test_report_flags_are_checked_in_one_place(flags: dict, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        ReportRequest(**flags).resolve()


def test_presets_are_declared_in_one_place() -> None:
    # policy/presets.py declares every preset; init's lists and starters follow from it.
    starters = ROOT / "funnelcli" / "starters"
    assert sorted(p.stem for p in starters.glob("*.yaml")) == sorted(CRM_PRESETS)
    for path in [*starters.glob("*.yaml"), ROOT / "funnelcli" / "starter.yaml"]:
        assert path.read_text().count("{spend}") == 1, path
    assert set(SPEND_PRESETS) == {"google_ads", "meta"}
