"""The data-quality checks that need whole tables or the policy, one module per table
(leads, spend, transitions, policy, inputs), run together here with the config's severity
overrides. Checks that must drop or exclude rows run where the rows are read (inputs/);
the catalogue (findings.py) says which is where."""

from __future__ import annotations

import datetime as dt

from funnelcli.checks.inputs import stale
from funnelcli.checks.leads import lead_checks
from funnelcli.checks.policy import policy_checks
from funnelcli.checks.spend import spend_checks
from funnelcli.checks.transitions import transition_checks
from funnelcli.findings import SEVERITY_ORDER, Finding, Severity
from funnelcli.inputs.dataset import merge_findings
from funnelcli.inputs.load import keep_findings
from funnelcli.measure.prepared import Prepared
from funnelcli.policy.config import QualitySpec

_LOWER: dict[Severity, Severity] = {"error": "warning", "warning": "info", "info": "info"}


def run_checks(
    ready: Prepared,
    *,
    now: dt.datetime,
    until: dt.date | None = None,
) -> list[Finding]:
    """Every finding for this dataset, with the config's overrides applied, worst first.

    ``ready.qualified``: every lead as ``qualify`` leaves it, with its CRM evidence. ``until``:
    the last day of the window the data is read for (staleness is judged against it).
    """
    policy, data, qualified = ready.policy, ready.data, ready.qualified
    found = [
        *data.findings,
        *keep_findings(stale(data, until)),
        *lead_checks(data.leads, now),
        *spend_checks(data),
        *transition_checks(policy, data, qualified),
        *policy_checks(policy, data, qualified.lazy()),
    ]
    return sort_findings(apply_overrides(merge_findings(found), policy.quality))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.level], f.check.table, f.id))


def apply_overrides(findings: list[Finding], quality: dict[str, QualitySpec]) -> list[Finding]:
    """``quality: {id: {severity, max_count, max_rate}}``: within every limit given, a finding
    is one level milder than its severity (an error only above the threshold)."""
    out = []
    for f in findings:
        spec = quality.get(f.id)
        if spec is None:
            out.append(f)
            continue
        severity = spec.severity or f.check.severity
        limits = [(spec.max_count, f.count), (spec.max_rate, f.rate)]
        given = [(limit, value) for limit, value in limits if limit is not None]
        within = bool(given) and all(v is not None and v <= lim for lim, v in given)
        out.append(f.with_severity(_LOWER[severity] if within else severity))
    return out
