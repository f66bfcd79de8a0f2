"""``score --explain`` and ``score --rules`` for people: text (rich) and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from funnelcli.measure.explain import Explanation, RuleInsight
from funnelcli.render import fmt
from funnelcli.render.csv import safe_cell
from funnelcli.render.fit import Fitted
from funnelcli.render.sections import short


def explanation(e: Explanation) -> RenderableType:
    head = Text()
    head.append(f"Lead {e.lead_id}", style="bold")
    head.append(f"  {e.file} row {e.row} · created {e.created_at:%Y-%m-%d %H:%M} · {e.channel}")
    dims = " + ".join(f"{d} {_num(v)}" for d, v in e.dimensions.items())
    cap = f" (capped at {_num(e.cap)})" if e.cap is not None else ""
    score = Text(f"Score {_num(e.score)}" + (f" = {dims}" if dims else "") + cap, style="bold")
    rules = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("", "dimension", "points", "rule", "lead's value"):
        rules.add_column(name, justify="right" if name == "points" else "left")
    for r in e.rules:
        mark = Text("✓", style="green") if r.fired else Text("✗", style="dim")
        points = f"{r.points:+g}" if r.fired else Text(f"({r.points:+g})", style="dim")
        values = ", ".join(f"{k} = {_value(v)}" for k, v in r.values.items())
        rules.add_row(mark, Text(r.dimension), points, Text(r.label), Text(values))
    stages = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("", "stage", "at", "why"):
        stages.add_column(name, overflow="fold")
    for s in e.stages:
        mark = Text("✓", style="green") if s.reached else Text("✗", style="red")
        at = f"{s.at:%Y-%m-%d %H:%M}" if s.at else fmt.NULL
        stages.add_row(mark, Text(s.name), at, Text(s.why))
    parts: list[RenderableType] = [head, Text(""), score]
    parts += [rules] if e.rules else [Text("(no scoring rules)", style="dim")]
    parts += [Text(""), Text("Stages", style="bold"), stages]
    return Group(*parts)


def explanation_json(e: Explanation) -> str:
    data = {
        "lead_id": e.lead_id,
        "file": e.file,
        "row": e.row,
        "created_at": e.created_at.isoformat(),
        "channel": e.channel,
        "score": e.score,
        "cap": e.cap,
        "dimensions": e.dimensions,
        "rules": [
            {
                "dimension": r.dimension,
                "rule": r.label,
                "points": r.points,
                "fired": r.fired,
                "values": {k: _value(v) if v is not None else None for k, v in r.values.items()},
            }
            for r in e.rules
        ],
        "stages": [
            {
                "stage": s.stage,
                "reached": s.reached,
                "at": s.at.isoformat() if s.at else None,
                "why": s.why,
            }
            for s in e.stages
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def rules_table(insights: list[RuleInsight], stages: list[tuple[str, str]]) -> RenderableType:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("rule", overflow="fold", min_width=24, ratio=1)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("fires on", justify="right", no_wrap=True)
    for stage, name in stages:
        table.add_column(f"→ {short(stage, name)}\nwith / w/o", justify="right", no_wrap=True)
        table.add_column("lift", justify="right", no_wrap=True)
    for r in insights:
        cells: list[Any] = [Text(f"{r.dimension}: {r.label}"), f"{r.points:+g}", _fires(r)]
        for stage, _ in stages:
            with_rate, without, lift = r.rates(stage)
            cells.append(f"{fmt.pct(with_rate)} / {fmt.pct(without)}")
            cells.append(_lift(lift))
        table.add_row(*cells)
    note = Text(
        "lift = conversion of leads the rule fires on ÷ conversion of the others; above 1 the "
        "rule picks leads that convert better. Not causal: rules overlap.",
        style="dim",
    )
    return Group(Fitted(table, keep=1), note)


def rules_csv(insights: list[RuleInsight], stages: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["dimension", "rule", "points", "fires", "leads", "share"]
    for stage, _ in stages:
        head += [f"{stage}_rate_with", f"{stage}_rate_without", f"{stage}_lift"]
    writer.writerow(head)
    for r in insights:
        line: list[Any] = [r.dimension, r.label, r.points, r.fires, r.leads, r.share]
        for stage, _ in stages:
            line += list(r.rates(stage))
        writer.writerow([safe_cell(v) for v in line])
    return buf.getvalue()


def rules_json(insights: list[RuleInsight], stages: list[tuple[str, str]]) -> str:
    rows = []
    for r in insights:
        conversion = {}
        for stage, _ in stages:
            with_rate, without, lift = r.rates(stage)
            hits_with, n_with, hits_without, n_without = r.converted[stage]
            conversion[stage] = {
                "with": {"converted": hits_with, "leads": n_with, "rate": with_rate},
                "without": {"converted": hits_without, "leads": n_without, "rate": without},
                "lift": lift,
            }
        rows.append(
            {
                "dimension": r.dimension,
                "rule": r.label,
                "points": r.points,
                "fires": r.fires,
                "share": r.share,
                "conversion": conversion,
            }
        )
    return json.dumps({"stages": [s for s, _ in stages], "rules": rows}, indent=2) + "\n"


def _fires(r: RuleInsight) -> str:
    return f"{r.fires:,} ({fmt.pct(r.share)})"


def _lift(lift: float | None) -> Text:
    if lift is None:
        return Text(fmt.NULL)
    style = "green" if lift >= 1.5 else "red" if lift < 1 else ""
    return Text(f"{lift:.2f}×", style=style)


def _num(value: float | None) -> str:
    return fmt.NULL if value is None else f"{value:g}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()  # as written in the policy
    return "empty" if value is None else str(value)
