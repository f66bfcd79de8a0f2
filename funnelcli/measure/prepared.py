"""Everything measured from, in one object: the policy, the data read once, the compiled
conditions and every lead qualified. Built by ``pipeline.prepare``; the report, the checks,
``score`` and ``--explain`` all take it whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from funnelcli.inputs.dataset import Dataset
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import CompiledPolicy


@dataclass
class Prepared:
    policy: Policy
    data: Dataset
    compiled: CompiledPolicy | None  # None: measured from tables by a SQL engine
    qualified: pl.DataFrame  # every lead: score, reached/at per stage, CRM evidence
    within: dict[float, pl.DataFrame] = field(default_factory=dict)  # by --within days
    # A SQL engine's measuring (``engines.measurer``): a query → the aggregated rows and
    # total; None: the embedded engine measures ``qualified``.
    measurer: Callable[[Any], tuple[pl.DataFrame, pl.DataFrame]] | None = None
