"""The sample project's policy, and mutations of it: odd values, keys removed or added,
operators renamed, the options an input or a stage may set, the text itself damaged."""

from __future__ import annotations

import random
from collections.abc import Iterator

import yaml

from tools.fuzz.files import mutate_bytes

TABLES = ("leads", "spend", "transitions", "traffic")

POLICY = """\
version: 1
currency: USD
timezone: {timezone}
inputs:
  leads: {{path: {leads}, columns: {{revenue: deal_value}}}}
  spend: {{path: {spend}}}
  traffic: {{path: {traffic}}}
  transitions: {{path: {transitions}}}
channels:
  aliases:
    paid_search: ["Google Ads", "adwords", "Paid Search"]
    paid_social: ["facebook", "LinkedIn Ads", "Paid Social"]
    organic: ["Organic Search"]
scoring:
  fit:
    - {{when: {{field: company_size, gte: 50}}, points: 20}}
    - {{when: {{field: job_title, matches: "(?i)head|director|vp|chief|founder"}}, points: 15}}
  engagement:
    - {{when: {{field: lead_type, eq: demo_request}}, points: 40}}
    - {{when: {{field: lead_type, in: [webinar, contact_form]}}, points: 20}}
    - {{when: {{field: pages_viewed, gte: 5}}, points: 10}}
    - {{when: {{field: email_bounced, eq: true}}, points: -20}}
  cap: 100
stages:
  - {{id: lead, name: Lead}}
  - id: mql
    name: Marketing Qualified Lead
    aliases: [MQL, marketingqualifiedlead]
    requires: {{score: {{gte: 40}}}}
  - {{id: sql, name: Sales Qualified Lead, aliases: [SQL]}}
  - id: qso
    name: Qualified Sales Opportunity
    aliases: [opportunity]
    requires:
      all:
        - {{field: budget, gt: 0}}
        - {{field: timeline_days, lte: 90}}
  - {{id: won, name: Customer, aliases: [customer, closed won]}}
exits: [lost, disqualified, recycled, subscriber]
targets:
  mql.rate: {{gte: 0.30}}
  sql.cost_per: {{lte: 500}}
  roas: {{gte: 2}}
economics: {{gross_margin: 0.8}}
"""

# fmt: off
YAML_VALUES: list[object] = [
    None, True, False, 0, -1, 1.5, 10**20, 0xFFFFFFFFFFFFFFFFFF, -(10**30), float("nan"), "",
    "\x08", "x" * 300, [], {}, [1, 2], {"a": 1}, "2026-02-30", "UTC", "Mars/Olympus", "EUR",
    "(?P<", "[", "*", "NO", "yes", "~", "1e400", "百度", "2026-06-01", [1, 0xFFFFFFFFFFFFFFFFFF],
]
OPS = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "matches", "contains",
       "is_null", "not_null", "gtee", "regex"]
# fmt: on


def policy_text(files: dict[str, str], timezone: str = "UTC") -> str:
    """The policy over ``files`` ({table: path}; a table not named is its CSV)."""
    paths = {t: files.get(t, f"data/{t}.csv") for t in TABLES}
    return POLICY.format(timezone=timezone, **paths)


def _walk(
    node: object, path: tuple[object, ...] = ()
) -> Iterator[tuple[tuple[object, ...], object]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _parent(doc: object, path: tuple[object, ...]) -> object:
    for key in path[:-1]:
        doc = doc[key]  # type: ignore[index]
    return doc


def _yaml_value(rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    new = rng.choice(YAML_VALUES)
    _parent(doc, path)[path[-1]] = new  # type: ignore[index]
    return f"yaml: {path} = {new!r}"[:120]


def _yaml_drop(_rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    del _parent(doc, path)[path[-1]]  # type: ignore[attr-defined]
    return f"yaml: {path} removed"


def _yaml_add(rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    parent = _parent(doc, path)
    key = rng.choice(["extra", "points", "field", "when", "cap", "days", "gtee"])
    if isinstance(parent, dict):
        parent[key] = rng.choice(YAML_VALUES)
    elif isinstance(parent, list):
        parent.append(rng.choice(YAML_VALUES))
    return f"yaml: {key!r} added beside {path}"


def _yaml_operator(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    rules = [(p, v) for p, v in _walk(doc) if isinstance(v, dict) and "field" in v]
    if not rules:
        return "yaml: unchanged"
    path, rule = rng.choice(rules)
    op = next((k for k in rule if k != "field"), None)
    if op is not None:
        rule[rng.choice(OPS)] = rule.pop(op) if rng.random() < 0.5 else rng.choice(YAML_VALUES)
    return f"yaml: operator at {path}"


# What an input may set (docs/inputs.md), with values a user might write, right or wrong.
# fmt: off
INPUT_OPTIONS: dict[str, list[object]] = {
    "encoding": ["utf-8", "utf-16", "gbk", "big5", "cp1252", "latin-1", "nope", "shift_jis"],
    "delimiter": [";", "\t", "|", ",", "ab"],
    "decimal": [",", "."],
    "date_format": ["%d/%m/%Y", ["%Y-%m-%d", "%d.%m.%Y"], "%Q", "%Y-%m-%dT%H:%M:%SZ"],
    "types": [{"company_size": "date"}, {"lead_type": "int"}, {"budget": "bool"},
              {"pages_viewed": "float"}, {"email_bounced": "str"}],
    "null_values": [["", "N/A", "0"], ["web"], []],
    "skip_rows": [1, 5, 1000],
    "sheet": ["Leads", 2, "Nope"],
    "preset": ["hubspot", "salesforce", "google_ads", "meta", "ga4", "pipedrive", "nope"],
    "skip_where": [{"channel": "(?i)email"}, {"channel": "["}, {"nope": "x"}],
    "keep_where": [{"channel": "paid"}, {"campaign": "^$"}],
    "defaults": [{"campaign": "x"}, {"currency": "EUR"}, {"channel": ""}],
    "stage": ["mql", "won", "nope"],
    "kind": ["sales"],
    "columns": [{"lead_id": "nope"}, {"channel": "campaign"}, {"created_at": "date"},
                {"amount": "clicks"}, {"entered_at": "lead_id"}],
}
STAGE_OPTIONS: dict[str, list[object]] = {
    "date_column": ["deal_value", "created_at", "nope", "budget"],
    "evidence": ["policy", "crm"],
    "requires": [{"score": {"gte": 1000}}, {"field": "lead_type", "matches": "(?i)demo"},
                 {"touches": {"type": "webinar"}}],
}
# fmt: on


def _yaml_input_option(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    inputs = doc.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        return "yaml: unchanged"
    name = rng.choice(sorted(inputs))
    if not isinstance(inputs[name], dict):
        return "yaml: unchanged"
    key = rng.choice(sorted(INPUT_OPTIONS))
    inputs[name][key] = rng.choice(INPUT_OPTIONS[key])
    return f"yaml: inputs.{name}.{key} = {inputs[name][key]!r}"


def _yaml_stage_option(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    stages = [s for s in doc.get("stages") or [] if isinstance(s, dict)]
    if not stages:
        return "yaml: unchanged"
    stage = rng.choice(stages)
    key = rng.choice(sorted(STAGE_OPTIONS))
    stage[key] = rng.choice(STAGE_OPTIONS[key])
    return f"yaml: stage {stage.get('id')!r}.{key} = {stage[key]!r}"


YAML_MUTATIONS = [_yaml_value, _yaml_value, _yaml_drop, _yaml_add, _yaml_operator,
                  _yaml_input_option, _yaml_input_option, _yaml_stage_option]  # fmt: skip


def mutate_yaml(rng: random.Random, text: str) -> tuple[str, str]:
    """One mutation of the policy: a value swapped for an odd one, a key removed or added,
    an operator renamed, or the text itself damaged."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:  # an earlier mutation broke it
        doc = None
    if not isinstance(doc, dict) or rng.random() < 0.25:
        data, what = mutate_bytes(rng, text.encode())
        codec = rng.choice(["utf-8", "latin-1"])
        return data.decode(codec, errors="replace"), f"yaml ({codec}) {what}"
    path, _value = rng.choice([(p, v) for p, v in _walk(doc) if p])
    what = rng.choice(YAML_MUTATIONS)(rng, doc, path)
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), what
    except yaml.YAMLError:
        return text, "yaml: unchanged"
