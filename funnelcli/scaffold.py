"""``funnel init``: the commented starter policy, generic or for a CRM / ad-platform export."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from funnelcli.errors import ExistsError, UsageError
from funnelcli.output import write_text
from funnelcli.policy.presets import (
    SPEND_STARTERS,
    TRAFFIC_STARTERS,
    crm_presets,
    spend_presets,
    traffic_presets,
)
from funnelcli.schemas import schema

FILENAME = "funnel.yaml"
SCHEMA_FILE = "funnel.schema.json"
# Derived from the presets (policy/presets.py), the one place a preset is declared.
CRM_PRESETS = crm_presets()
SPEND_PRESETS = {name: SPEND_STARTERS[name] for name in spend_presets()}
TRAFFIC_PRESETS = {name: TRAFFIC_STARTERS[name] for name in traffic_presets()}
GENERIC_SPEND = (
    "  spend:                          # omit for no costs; impressions, clicks optional\n"
    "    path: {data_dir}/spend.csv\n"
    "  # Sales cost (full CAC, ROI) is a spend input too; spend then takes a list:\n"
    "  #   - {path: sales.csv, kind: sales}   # date, date_end, amount; channel optional\n"
    "  traffic:                        # optional: web visits (preset: ga4 reads GA4's)\n"
    "    path: {data_dir}/traffic.csv\n"
)


def starter_text(data_dir: str = "data", presets: tuple[str, ...] = ()) -> str:
    """The starter policy, its input paths under ``data_dir`` (relative to the config).

    ``presets``: at most one CRM export (hubspot, salesforce, salesforce_opportunity,
    pipedrive), any ad-platform spend exports (google_ads, meta) and web traffic (ga4)."""
    problem = preset_problem(presets)
    if problem:
        raise UsageError(problem)
    crm = [p for p in presets if p in CRM_PRESETS]
    spend = [p for p in presets if p in SPEND_PRESETS]
    traffic = [p for p in presets if p in TRAFFIC_PRESETS]
    # Every starter has a {spend} slot: the generic one fills it with a plain spend file
    # (and the sample's traffic), a CRM's with a commented hint, either with the chosen ad
    # platforms' exports, then the chosen web-analytics export.
    template = _read(f"starters/{crm[0]}.yaml") if crm else _read("starter.yaml")
    default = None if crm or traffic else GENERIC_SPEND
    block = _spend_block(spend, default) + _traffic_block(traffic)
    text = template.replace("{spend}", block)
    return text.replace("{data_dir}", data_dir)


def preset_problem(presets: tuple[str, ...]) -> str | None:
    """What is wrong with a choice of presets (an unknown name, two CRM exports), if any."""
    known = {*CRM_PRESETS, *SPEND_PRESETS, *TRAFFIC_PRESETS}
    unknown = [p for p in presets if p not in known]
    if unknown:
        names = ", ".join([*CRM_PRESETS, *SPEND_PRESETS, *TRAFFIC_PRESETS])
        return f"{unknown[0]!r} is not a preset; choose from {names}."
    crm = [p for p in presets if p in CRM_PRESETS]
    if len(crm) > 1:
        return f"choose one CRM export, not {' and '.join(crm)}."
    return None


def _spend_block(presets: list[str], default: str | None = None) -> str:
    if not presets:
        hint = "  # spend: {path: {data_dir}/spend.csv}   # or preset: google_ads / meta\n"
        return default or hint
    lines = ["  spend:                          # one file per ad platform"]
    for name in presets:
        path, columns = SPEND_PRESETS[name]
        lines.append(f"    - path: {{data_dir}}/{path}")
        lines.append(f"      preset: {name}  # {columns}")
    return "\n".join(lines) + "\n"


def _traffic_block(presets: list[str]) -> str:
    if not presets:
        return ""
    path, columns = TRAFFIC_PRESETS[presets[0]]
    return (
        f"  traffic:                        # visits: {columns}\n"
        f"    path: {{data_dir}}/{path}\n"
        f"    preset: {presets[0]}\n"
        "    # map its channels to the leads' in channels.aliases (GA4: Organic Search, Direct…)\n"
    )


def _read(name: str) -> str:
    return resources.files("funnelcli").joinpath(name).read_text(encoding="utf-8")


def write_starter(folder: Path, presets: tuple[str, ...] = (), *, force: bool = False) -> Path:
    """Write ``folder/funnel.yaml`` (atomically: a full disk leaves no empty file behind);
    refuse to overwrite an existing file without ``force`` (exit 2)."""
    text = starter_text(presets=presets)  # a bad preset fails before anything is written
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; give a folder for funnel.yaml.")
    path = folder / FILENAME
    if (path.exists() or path.is_symlink()) and not force:
        msg = f"{path} already exists; not overwriting it. Move it away or pick another folder."
        raise ExistsError(msg)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {folder} ({err.strerror}).") from None
    # Editors with a YAML language server complete and check the policy from its schema,
    # written beside it (kept if it is already there and --force was not given).
    schema_path = folder / SCHEMA_FILE
    if force or not schema_path.exists():
        write_text(json.dumps(schema("config"), indent=2) + "\n", schema_path)
    write_text(f"# yaml-language-server: $schema={SCHEMA_FILE}\n" + text, path)
    return path
