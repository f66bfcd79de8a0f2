"""The policy's ``targets:`` evaluated against a report row (DESIGN.md §3)."""

from __future__ import annotations

import operator
from dataclasses import dataclass

from funnelcli.findings import Example, Finding
from funnelcli.model import Row

_OPS = {"gte": operator.ge, "lte": operator.le, "gt": operator.gt, "lt": operator.lt}
_SYMBOLS = {"gte": "≥", "lte": "≤", "gt": ">", "lt": "<"}


@dataclass(frozen=True)
class TargetResult:
    key: str  # "mql.rate"
    op: str
    threshold: float
    value: float | None  # None: not measurable (no spend, no leads…), which counts as missed

    @property
    def met(self) -> bool:
        return self.value is not None and _OPS[self.op](self.value, self.threshold)

    @property
    def text(self) -> str:
        shown = "not measurable" if self.value is None else f"{self.value:.4g}"
        return f"{self.key} = {shown} (target {_SYMBOLS[self.op]} {self.threshold:g})"


def evaluate(targets: dict[str, dict[str, float]], row: Row) -> list[TargetResult]:
    results = []
    for key, bounds in targets.items():
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
