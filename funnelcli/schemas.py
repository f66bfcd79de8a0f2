"""JSON Schemas of the policy file and of the two JSON outputs (``funnel schema``).

The policy's comes from its pydantic model, so it cannot drift from what is accepted; the
outputs' are written here as data and a test validates real outputs against them.
"""

from __future__ import annotations

from typing import Any

from funnelcli.catalogue import GROUP_METRICS
from funnelcli.policy.config import Policy

DRAFT = "https://json-schema.org/draft/2020-12/schema"
NUMBER_OR_NULL = {"type": ["number", "null"]}
DAY_OR_NULL = {"type": ["string", "null"], "format": "date"}
WINDOW = {
    "type": "object",
    "required": ["since", "until"],
    "properties": {"since": DAY_OR_NULL, "until": DAY_OR_NULL},
}
INTERVAL = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
SPREAD = {
    "type": ["object", "null"],
    "properties": {"median": NUMBER_OR_NULL, "p90": NUMBER_OR_NULL},
}
STAGE = {
    "type": "object",
    "required": ["count"],
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "rate": NUMBER_OR_NULL,
        "rate_ci": INTERVAL,
        "rate_from_lead": NUMBER_OR_NULL,
        "rate_from_lead_ci": INTERVAL,
        "cost_per": NUMBER_OR_NULL,
        "days": SPREAD,
        "days_from_lead": SPREAD,
    },
}
# Every row metric of the catalogue: counts are integers (or null when their data is absent).
ROW_METRICS = {
    m.name: {"type": ["integer", "null"], "minimum": 0} if m.unit == "count" else NUMBER_OR_NULL
    for m in GROUP_METRICS
}
ROW = {
    "type": "object",
    "required": ["group", "stages", *ROW_METRICS],
    "properties": {
        "group": {"type": "object"},
        **ROW_METRICS,
        "leads": {"type": "integer", "minimum": 0},
        "immature_leads": {"type": "integer", "minimum": 0},
        "stages": {"type": "object", "additionalProperties": STAGE},
        "previous": {"type": ["object", "null"]},
        "delta": {"type": "object"},
    },
}
EXAMPLE = {
    "type": "object",
    "required": ["file", "row", "value"],
    "properties": {
        "file": {"type": "string"},
        "row": {"type": ["integer", "null"]},
        "value": {"type": ["string", "null"]},
    },
}
WARNING = {
    "type": "object",
    "required": ["code", "count", "message", "examples"],
    "properties": {
        "code": {"type": "string"},
        "count": {"type": "integer"},
        "message": {"type": "string"},
        "examples": {"type": "array", "items": EXAMPLE, "maxItems": 5},
    },
}
REPORT: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "funnel.report/1",
    "type": "object",
    "required": ["schema", "basis", "window", "currency", "group_by", "stages", "rows", "total"],
    "properties": {
        "schema": {"const": "funnel.report/1"},
        "basis": {"enum": ["cohort", "period"]},
        "window": WINDOW,
        "within_days": NUMBER_OR_NULL,
        "currency": {"type": "string"},
        "group_by": {"type": "array", "items": {"type": "string"}},
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
        },
        "compare": {
            "type": ["object", "null"],
            "properties": {"mode": {"enum": ["previous", "year"]}, "window": WINDOW},
        },
        "maturity": {"type": ["object", "null"]},
        "rows": {"type": "array", "items": ROW},
        "total": ROW,
        "targets": {"type": "array", "items": {"type": "object"}},
        "bottleneck": {"type": ["object", "null"]},
        "trends": {"type": "array", "items": {"type": "object"}},
        "warnings": {"type": "array", "items": WARNING},
    },
}
CHECK: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "funnel.check/1",
    "type": "object",
    "required": ["schema", "status", "findings"],
    "properties": {
        "schema": {"const": "funnel.check/1"},
        "status": {"enum": ["pass", "fail"]},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "severity", "count", "message", "examples"],
                "properties": {
                    "id": {"type": "string"},
                    "severity": {"enum": ["error", "warning", "info"]},
                    "count": {"type": "integer"},
                    "message": {"type": "string"},
                    "examples": {"type": "array", "items": EXAMPLE, "maxItems": 5},
                },
            },
        },
    },
}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name``: config, report or check."""
    if name == "config":
        return _config()
    return {"report": REPORT, "check": CHECK}[name]


def _config() -> dict[str, Any]:
    generated = Policy.model_json_schema()
    # `scoring:` takes its dimensions as keys of their own (fit:, engagement:…) beside `cap`;
    # the model gathers them in a validator, which the generated schema cannot show.
    rule = {"$ref": "#/$defs/ScoringRule"}
    generated["$defs"]["ScoringSpec"] = {
        "type": "object",
        "properties": {"cap": {"type": ["number", "null"]}},
        "additionalProperties": {"type": "array", "items": rule},
    }
    return {"$schema": DRAFT, "title": "funnel policy", **generated}
