"""Everything measured from, in one object: the policy, the data read once, the compiled
conditions and every lead qualified. Built by ``pipeline.prepare``; the report, the checks,
``score`` and ``--explain`` all take it whole."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from funnelcli.inputs.dataset import Dataset
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import CompiledPolicy


@dataclass
class Prepared:
    policy: Policy
    data: Dataset
    compiled: CompiledPolicy
    qualified: pl.DataFrame  # every lead: score, reached/at per stage, CRM evidence
    within: dict[float, pl.DataFrame] = field(default_factory=dict)  # by --within days
