"""The policy file: YAML → validated, typed ``Policy`` (docs/policy.md).

Conditions (``when`` / ``requires``) are kept as raw data here and compiled by ``rules.py``
once the leads' column types are known; everything else is checked here, all problems at
once, each with the file, the YAML line and the key path.
"""

from __future__ import annotations

import codecs
import types
import typing
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from funnelcli.catalogue import GROUP_TARGETS, TARGET_METRICS
from funnelcli.errors import ConfigError
from funnelcli.findings import CATALOGUE
from funnelcli.policy.presets import PRESETS, kinds, preset_for
from funnelcli.policy.yamlsrc import Key, YamlSource, format_loc, format_problems, load_yaml

ColumnType = Literal["int", "float", "bool", "str", "date"]
Severity = Literal["error", "warning", "info"]
NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    # NaN and infinity are never a policy value: `points: .nan` would score every lead at
    # the cap, `lte: .nan` match every lead, a target `.inf` break the JSON.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class InputSpec(_Strict):
    path: NonEmpty | None = None  # a file; or:
    table: NonEmpty | None = None  # a table of a SQL engine (--engine): crm.leads
    columns: dict[str, NonEmpty] = {}
    encoding: NonEmpty | None = None  # None: detected (BOM, UTF-8, else Windows-1252)
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] | None = None  # None: detected
    decimal: Literal[".", ","] | None = None  # None: "." unless a value proves ","
    sheet: NonEmpty | Annotated[int, Field(ge=1)] | None = None  # Excel: name or number
    types: dict[str, ColumnType] = {}
    null_values: list[str] = []
    stage: NonEmpty | None = None
    preset: NonEmpty | None = None  # hubspot, salesforce, … (funnelcli/presets.py)
    skip_rows: Annotated[int, Field(ge=0)] = 0  # lines above the header
    skip_where: dict[str, str] = {}  # drop rows whose column matches the regex
    keep_where: dict[str, str] = {}  # keep only rows whose columns all match
    defaults: dict[str, str] = {}  # values for columns the file lacks
    date_format: NonEmpty | list[NonEmpty] = []  # strptime formats tried before ISO 8601
    kind: Literal["marketing", "sales"] = "marketing"  # spend only: sales cost (full CAC, ROI)

    @model_validator(mode="after")
    def _one_source(self) -> InputSpec:
        if (self.path is None) == (self.table is None):
            msg = "give exactly one of path: (a file) or table: (a table of a SQL engine)"
            raise ValueError(msg)
        return self

    @property
    def date_formats(self) -> list[str]:
        return [self.date_format] if isinstance(self.date_format, str) else list(self.date_format)


class InputsSpec(_Strict):
    leads: InputSpec
    spend: InputSpec | list[InputSpec] | None = None  # several: e.g. Google Ads and Meta
    transitions: InputSpec | list[InputSpec] | None = None
    traffic: InputSpec | list[InputSpec] | None = None  # visits from web analytics

    def spend_inputs(self) -> list[InputSpec]:
        if self.spend is None:
            return []
        return self.spend if isinstance(self.spend, list) else [self.spend]

    def transition_inputs(self) -> list[InputSpec]:
        if self.transitions is None:
            return []
        return self.transitions if isinstance(self.transitions, list) else [self.transitions]

    def traffic_inputs(self) -> list[InputSpec]:
        if self.traffic is None:
            return []
        return self.traffic if isinstance(self.traffic, list) else [self.traffic]


class ChannelsSpec(_Strict):
    aliases: dict[str, list[str]] = {}


class ScoringRule(_Strict):
    when: Any
    # Bounded so that no sum of the points a policy can hold (its YAML has at most 100,000
    # values) leaves the 64-bit range of a score.
    points: Annotated[float, Field(ge=-1e12, le=1e12)]


class ScoringSpec(_Strict):
    cap: Annotated[float, Field(ge=-1e12, le=1e12)] | None = None
    dimensions: dict[str, list[ScoringRule]] = {}

    @model_validator(mode="before")
    @classmethod
    def _split_dimensions(cls, data: Any) -> Any:
        # In YAML the dimensions sit beside `cap`; gather them under one field.
        if not isinstance(data, dict):
            return data
        dims = {k: v for k, v in data.items() if k != "cap"}
        return {"cap": data.get("cap"), "dimensions": dims}


class StageSpec(_Strict):
    id: NonEmpty
    name: NonEmpty | None = None
    aliases: list[NonEmpty] = []
    requires: Any = None
    evidence: Literal["crm", "policy"] = "crm"
    date_column: NonEmpty | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


class EconomicsSpec(_Strict):
    # The share of revenue kept after the cost of what was sold: LTV:CAC uses it.
    gross_margin: Annotated[float, Field(gt=0, le=1)] = 1.0


class QualitySpec(_Strict):
    severity: Severity | None = None
    max_count: Annotated[int, Field(ge=0)] | None = None
    max_rate: Annotated[float, Field(ge=0, le=1)] | None = None


class Policy(_Strict):
    version: Literal[1]
    currency: NonEmpty = "USD"
    timezone: NonEmpty = "UTC"
    inputs: InputsSpec
    channels: ChannelsSpec = ChannelsSpec()
    scoring: ScoringSpec = ScoringSpec()
    stages: Annotated[list[StageSpec], Field(min_length=2)]
    exits: list[NonEmpty] = []
    targets: dict[str, dict[Literal["gte", "lte", "gt", "lt"], float]] = {}
    quality: dict[str, QualitySpec] = {}
    economics: EconomicsSpec = EconomicsSpec()

    _source: YamlSource | None = PrivateAttr(default=None)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path = Path()) -> Policy:
        """See :func:`policy_from_dict`."""
        return policy_from_dict(data, base_dir)

    @property
    def source(self) -> YamlSource:
        assert self._source is not None, "Policy built without load_policy()"
        return self._source

    @property
    def base_dir(self) -> Path:
        return self.source.path.parent

    def resolve(self, spec: InputSpec) -> Path:
        """An input path, relative to the config file's folder."""
        if spec.path is None:
            msg = (
                f"{self.source.path}: the input table {spec.table} is read by a SQL engine: "
                "run the report with --engine (duckdb, postgresql://…, spark:…), or name a "
                "file with path:."
            )
            raise ConfigError(msg)
        path = Path(spec.path).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; raise one ConfigError listing every problem."""
    return _validated(load_yaml(path))


def policy_from_dict(data: dict[str, Any], base_dir: Path = Path()) -> Policy:
    """A policy from plain data, validated exactly like a file (its messages have no line
    numbers): for code and tests that do not want to write YAML. Input paths are relative
    to ``base_dir``."""
    return _validated(YamlSource(path=base_dir / "<policy>", data=data))


def _validated(source: YamlSource) -> Policy:
    path = source.path
    if not isinstance(source.data, dict):
        msg = f"{path}: the policy must be a YAML mapping (version:, inputs:, stages: …)."
        raise ConfigError(msg)
    try:
        policy = Policy.model_validate(source.data)
    except ValidationError as err:
        raise ConfigError(_explain(err, source)) from None
    policy._source = source
    problems = _cross_checks(policy)
    if problems:
        raise ConfigError(format_problems(source, problems))
    return policy


def _explain(err: ValidationError, source: YamlSource) -> str:
    errors = [(_yaml_loc(e["loc"]), e) for e in err.errors()]
    problems: list[tuple[Key, str]] = []
    for loc, e in errors:
        # A union member that failed at its top ("not a dictionary") is noise when another
        # member of the same union got further: report the deeper, specific problem only.
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in errors)
        if e["type"] in _SHALLOW and deeper:
            continue
        problems.append((loc, _describe(e, loc)))
    return format_problems(source, problems)


_SHALLOW = {"model_type", "dict_type", "list_type"}


def _yaml_loc(loc: tuple[str | int, ...]) -> Key:
    """pydantic's error location as the YAML key path the user wrote."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        # pydantic names the union member it tried ("InputSpec", "list[InputSpec]", "int").
        if isinstance(part, str) and (part in _UNION_TAGS or "[" in part):
            continue
        # Scoring dimensions sit beside `cap` in YAML; the model gathers them under one field.
        if i == 1 and loc[0] == "scoring" and part == "dimensions":
            continue
        out.append(part)
    return tuple(out)


_UNION_TAGS = {"InputSpec", "QualitySpec", "str", "int", "float", "bool", "none"}


def _describe(e: Any, loc: Key) -> str:
    kind, value = e["type"], e.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f" Allowed here: {', '.join(allowed)}." if allowed else ""
        return f"unknown key '{loc[-1]}'.{hint}"
    if kind == "missing":
        return "is required but missing."
    if isinstance(value, bool) and kind in ("string_type", "float_type", "int_type"):
        word = "yes/no/on/off/true/false"
        return (
            f"got the YAML boolean {value!r} ({word} unquoted); quote the value if you mean text."
        )
    if kind == "literal_error":
        return f"{e['msg'].lower()}, got {value!r}."
    return f"{e['msg']}, got {value!r}." if value is not None else f"{e['msg']}."


def _allowed_keys(loc: Key) -> list[str]:
    """The keys a model accepts at ``loc``, found by walking the Policy's field types."""
    tp: Any = Policy
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return []
    model = _model_of(tp)
    if model is ScoringSpec:
        return ["cap", "<dimension name>"]
    return list(model.model_fields) if model else []


def _step(tp: Any, part: str | int) -> Any:
    model = _model_of(tp)
    if model is not None and isinstance(part, str):
        field = model.model_fields.get(part)
        return field.annotation if field else None
    for arg in typing.get_args(tp):
        if typing.get_origin(arg) in (list, dict):
            return typing.get_args(arg)[-1]
    if typing.get_origin(tp) in (list, dict):
        return typing.get_args(tp)[-1]
    return None


def _model_of(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _cross_checks(policy: Policy) -> list[tuple[Key, str]]:
    return [
        *_check_timezone(policy),
        *_check_encodings(policy),
        *_check_presets(policy),
        *_check_stage_names(policy),
        *_check_transitions_needed(policy),
        *_check_targets(policy),
        *_check_quality(policy),
        *_check_kinds(policy),
        *_check_revenue(policy),
    ]


def _check_timezone(policy: Policy) -> list[tuple[Key, str]]:
    try:
        zoneinfo.ZoneInfo(policy.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        text = (
            f"unknown time zone {policy.timezone!r}; use an IANA name such as UTC or Europe/Paris."
        )
        return [(("timezone",), text)]
    return []


def input_specs(policy: Policy) -> list[tuple[Key, str, InputSpec]]:
    """Every input of the policy: (its key path, its kind, its spec)."""
    inputs = policy.inputs
    specs: list[tuple[Key, str, InputSpec]] = [(("inputs", "leads"), "leads", inputs.leads)]
    for kind in ("spend", "transitions", "traffic"):
        many = isinstance(getattr(inputs, kind), list)
        listed = {
            "spend": inputs.spend_inputs,
            "transitions": inputs.transition_inputs,
            "traffic": inputs.traffic_inputs,
        }[kind]()
        for i, spec in enumerate(listed):
            specs.append((("inputs", kind, i) if many else ("inputs", kind), kind, spec))
    return specs


def _check_presets(policy: Policy) -> list[tuple[Key, str]]:
    problems: list[tuple[Key, str]] = []
    for loc, kind, spec in input_specs(policy):
        if spec.preset is None or preset_for(spec.preset, kind) is not None:
            continue
        offered = [name for name in PRESETS if kind in kinds(name)]
        if spec.preset in PRESETS:
            has = ", ".join(kinds(spec.preset))
            text = f"preset '{spec.preset}' has no {kind} layout (it has: {has})."
        else:
            text = f"unknown preset '{spec.preset}'."
        problems.append(
            ((*loc, "preset"), f"{text} {kind.capitalize()} presets: {', '.join(offered)}.")
        )
    return problems


def _check_encodings(policy: Policy) -> list[tuple[Key, str]]:
    problems: list[tuple[Key, str]] = []
    for loc, _, spec in input_specs(policy):
        if spec.encoding is None:
            continue
        try:
            codecs.lookup(spec.encoding)
        except LookupError:
            text = f"unknown encoding {spec.encoding!r}; use e.g. utf-8, latin-1, cp1252, utf-16."
            problems.append(((*loc, "encoding"), text))
    return problems


def _check_stage_names(policy: Policy) -> list[tuple[Key, str]]:
    seen: dict[str, Key] = {}
    problems: list[tuple[Key, str]] = []
    for i, stage in enumerate(policy.stages):
        names = [("id", stage.id), ("name", stage.name)]
        names += [(("aliases", j), a) for j, a in enumerate(stage.aliases)]
        for key, name in names:
            loc = ("stages", i, *(key if isinstance(key, tuple) else (key,)))
            problems += _claim(seen, name, loc)
    for j, name in enumerate(policy.exits):
        problems += _claim(seen, name, ("exits", j))
    return problems


def _claim(seen: dict[str, Key], name: str | None, loc: Key) -> list[tuple[Key, str]]:
    if name is None:
        return []
    norm = name.strip().lower()
    owner = seen.setdefault(norm, loc)
    if owner[:2] == loc[:2] and owner[0] == "stages":
        return []  # a stage may repeat its own id as its name
    if owner != loc:
        return [(loc, f"'{name}' already names {format_loc(owner)}; stage names must be unique.")]
    return []


def _check_transitions_needed(policy: Policy) -> list[tuple[Key, str]]:
    if policy.inputs.transitions is not None:
        return []
    missing = [s.id for s in policy.stages[1:] if s.evidence == "crm" and not s.date_column]
    if not missing:
        return []
    text = (
        f"no transitions input, but stages {', '.join(missing)} need CRM evidence. Add "
        "inputs.transitions, a date_column to those stages, or evidence: policy."
    )
    return [(("inputs",), text)]


def _check_targets(policy: Policy) -> list[tuple[Key, str]]:
    problems: list[tuple[Key, str]] = []
    for key in policy.targets:
        stage, _, metric = key.partition(".")
        if key in GROUP_TARGETS or (stage in policy.stage_ids and metric in TARGET_METRICS):
            continue
        text = (
            f"target '{key}' must be a report metric ({', '.join(GROUP_TARGETS)}) or "
            f"<stage id>.<metric> with a stage of {', '.join(policy.stage_ids)} and a metric "
            f"of {', '.join(TARGET_METRICS)}."
        )
        problems.append((("targets", key), text))
    return problems


def _check_kinds(policy: Policy) -> list[tuple[Key, str]]:
    """``kind: sales`` says what a spend input's money is; elsewhere it means nothing."""
    return [
        ((*loc, "kind"), f"'kind' is for spend inputs only (marketing or sales), not {kind}.")
        for loc, kind, spec in input_specs(policy)
        if kind != "spend" and spec.kind != "marketing"
    ]


def _check_revenue(policy: Policy) -> list[tuple[Key, str]]:
    """Revenue on a transitions input only from a closed-deals file of the last stage: a
    history file repeats a deal's amount on every stage change, which would count it many
    times over."""
    last = policy.stage_ids[-1]
    problems: list[tuple[Key, str]] = []
    for loc, kind, spec in input_specs(policy):
        if "revenue" not in spec.columns or kind == "leads":
            continue
        if kind == "transitions" and spec.stage == last:
            continue
        if kind == "transitions":
            text = (
                f"revenue is read from a closed-deals file of the last stage only (stage: "
                f"{last}, one row per deal), never from a stage history, which repeats a "
                f"deal's amount on every stage change. Map revenue on the leads input, or "
                f"give this input stage: {last}."
            )
        else:
            text = f"revenue is read from the leads or a closed-deals input, not from {kind}."
        problems.append(((*loc, "columns", "revenue"), text))
    return problems


def _check_quality(policy: Policy) -> list[tuple[Key, str]]:
    return [
        (("quality", key), f"unknown check id '{key}'; see `funnel check --help` for the list.")
        for key in policy.quality
        if key not in CATALOGUE
    ]


def uses_tables(policy: Policy) -> bool:
    """True when the inputs name tables; mixing files and tables is a config error."""
    kinds = {spec.table is not None for _, _, spec in input_specs(policy)}
    if len(kinds) > 1:
        msg = (
            f"{policy.source.path}: some inputs are files (path:) and some tables (table:). "
            "A report reads one or the other: load the files into the database too, or "
            "export the tables."
        )
        raise ConfigError(msg)
    return kinds == {True}
