"""The README's examples run as written, and its quick-start commands match .ci/run."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke

README = (ROOT / "README.md").read_text()


def _usage_commands() -> list[str]:
    block = README.split("## Usage", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("funnel ")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme")
    shutil.copy(ROOT / "config.example.yaml", root)
    shutil.copytree(ROOT / "sample_data", root / "sample_data")
    return root


@pytest.mark.parametrize("command", _usage_commands())
def test_readme_example_runs(command: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    args = shlex.split(command)[1:]
    run = invoke(*args)
    assert run.exit_code == 0, (command, run.stderr)
    if "--output" in args:
        assert (workdir / args[args.index("--output") + 1]).stat().st_size > 0


def test_readme_has_enough_examples() -> None:
    assert len(_usage_commands()) >= 8


def test_quick_start_test_command_is_what_ci_runs() -> None:
    commands = re.findall(r"```sh\n(python3 -m venv .*)\n```", README)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -e '.[dev]'" in commands[1] and "pip install -q -e '.[dev]'" in ci
    assert commands[1].endswith("python -m pytest") and ".venv/bin/python -m pytest" in ci
    assert commands[0].endswith("funnel report --config config.example.yaml")


@pytest.mark.parametrize("command", ["report", "score", "init", "sample"])
def test_every_command_is_documented(command: str) -> None:
    assert f"funnel {command}" in README
