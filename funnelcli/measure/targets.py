"""The policy's ``targets:`` evaluated against a report row (docs/policy.md)."""

from __future__ import annotations

from funnelcli.catalogue import GROUP
from funnelcli.findings import Example, Finding
from funnelcli.model import Row, TargetResult


def evaluate(targets: dict[str, dict[str, float]], row: Row) -> list[TargetResult]:
    results = []
    for key, bounds in targets.items():
        if key in GROUP:
            value = GROUP[key].value(row)
        else:
            stage, metric = key.split(".", 1)
            value = getattr(row.stages[stage], metric)
        results += [TargetResult(key, op, limit, value) for op, limit in bounds.items()]
    return results


def missed_finding(results: list[TargetResult], policy_file: str) -> Finding | None:
    missed = [r for r in results if not r.met]
    if not missed:
        return None
    examples = [Example(policy_file, None, r.text) for r in missed[:5]]
    return Finding("policy.target_missed", len(missed), examples, total=len(results))
