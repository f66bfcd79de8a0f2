"""``funnel check`` output: table (rich), json, junit (XML for CI) and github (annotations)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from funnelcli.findings import CATALOGUE, Finding
from funnelcli.model import CheckResult
from funnelcli.render.table import plain

STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render_json(result: CheckResult) -> str:
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"


def summary(result: CheckResult) -> str:
    counts = {level: sum(f.level == level for f in result.findings) for level in STYLE}
    rows = ", ".join(f"{table} {n:,} rows" for table, n in result.rows.items() if n)
    parts = ", ".join(
        f"{n} {level}{'s' if n != 1 and level != 'info' else ''}" for level, n in counts.items()
    )
    return f"funnel check: {result.status.upper()} — {parts} ({rows})"


def renderable(result: CheckResult) -> RenderableType:
    head = Text(summary(result), style="bold red" if result.status == "fail" else "bold green")
    head.no_wrap = False
    parts: list[RenderableType] = [head]
    by_file: dict[str, list[Finding]] = {}
    for f in result.findings:  # already worst first
        by_file.setdefault(f.file or f.check.table, []).append(f)
    for file, findings in by_file.items():
        table = Table(title=file, title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column("severity", no_wrap=True, min_width=7)
        table.add_column("finding")
        for f in findings:
            table.add_row(Text(f.level, style=STYLE[f.level]), _describe(f))
        parts += [Text(""), table]
    if not result.findings:
        parts.append(Text("No findings: every check passed.", style="green"))
    return Group(*parts)


def _describe(f: Finding) -> Text:
    text = Text(f"{f.id}: ", style="bold")
    text.append(f.message)
    for e in f.examples:
        where = f"row {e.row}" if e.row is not None else e.file
        text.append(f"\n  {where}: {e.value!r}" if e.value is not None else f"\n  {where}", "dim")
    return text


def render_text(result: CheckResult, width: int) -> str:
    return plain(renderable(result), width)


def render_junit(result: CheckResult) -> str:
    """One testcase per check in the catalogue; an error finding is a failure."""
    found = {f.id: f for f in result.findings}
    suite = ET.Element("testsuite", name="funnel check", tests=str(len(CATALOGUE)))
    failures = 0
    for check_id in CATALOGUE:
        case = ET.SubElement(
            suite, "testcase", classname=f"funnel.{check_id.split('.')[0]}", name=check_id
        )
        finding = found.get(check_id)
        if finding is None:
            continue
        details = "\n".join(f"{e.file}:{e.row or ''} {e.value!r}" for e in finding.examples)
        if finding.level == "error":
            failures += 1
            node = ET.SubElement(case, "failure", message=finding.message, type=finding.id)
            node.text = details
        else:
            ET.SubElement(
                case, "system-out"
            ).text = f"{finding.level}: {finding.message}\n{details}"
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def render_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: one annotation per example (or per finding)."""
    lines = []
    for f in result.findings:
        level, message = GITHUB_LEVEL[f.level], _escape(f"{f.id}: {f.message}")
        located = [e for e in f.examples if e.row is not None]
        for e in located:
            path = result.files.get(e.file, e.file)
            value = _escape(f" (value: {e.value!r})") if e.value is not None else ""
            # Data row N sits on line N + 1 of the file (after the header).
            lines.append(f"::{level} file={path},line={e.row + 1},title={f.id}::{message}{value}")
        if not located:
            lines.append(f"::{level} title={f.id}::{message}")
    lines.append(_escape(summary(result)))
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
