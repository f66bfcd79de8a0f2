"""The README's examples run as written, and its quick-start commands match .ci/run."""

from __future__ import annotations

import email
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from email import policy
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
    quick_start = README.split("## Quick start", 1)[1].split("## Usage", 1)[0]
    commands = re.findall(r"```sh\n((?:bash \.ci/services; )?python3 -m venv .*)\n```", quick_start)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].startswith("bash .ci/services; ") and "bash .ci/services" in ci
    assert "pip install -q -e '.[dev]'" in commands[1] and "pip install -q -e '.[dev]'" in ci
    assert commands[1].endswith("python -m pytest") and ".venv/bin/python -m pytest" in ci
    assert commands[0].endswith("funnel report --config config.example.yaml")


@pytest.mark.parametrize("command", ["report", "score", "init", "sample"])
def test_every_command_is_documented(command: str) -> None:
    assert f"funnel {command}" in README


def _fenced(language: str, after: str) -> str:
    return README.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    "command",
    [line.split("#")[0].strip() for line in _fenced("sh", "### `funnel check`").splitlines()],
)
def test_readme_check_examples(
    command: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    run = invoke(*shlex.split(command)[1:])
    assert run.exit_code == 1, run.stderr  # the sample data carries duplicate ids: an error


def test_readme_actions_job_runs_real_commands() -> None:
    job = _fenced("yaml", "### Use in CI")
    steps = re.findall(r"- run: (funnel .*)", job)
    assert steps == [
        "funnel check --config funnel.yaml --format github",
        "funnel check --config funnel.yaml --format junit --output funnel-check.xml",
    ]


def _cron_command() -> str:
    line = next(x for x in _fenced("sh", "### Use in CI").splitlines() if x.startswith("0 7"))
    return line.split(None, 5)[5]


def _run_cron(root: Path) -> subprocess.CompletedProcess[str]:
    command = _cron_command().replace("cd /srv/funnel", f"cd {shlex.quote(str(root))}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, check=False
    )


def test_cron_line_stops_on_broken_data(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    (tmp_path / "funnel.yaml").write_text((ROOT / "config.example.yaml").read_text())
    (tmp_path / "reports").mkdir()
    done = _run_cron(tmp_path)
    assert done.returncode == 1, done.stderr
    assert json.loads((tmp_path / "reports" / "check.json").read_text())["status"] == "fail"
    assert not (tmp_path / "reports" / "funnel.md").exists()


def test_cron_line_writes_report_on_sound_data(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    policy = (ROOT / "config.example.yaml").read_text()
    # This team tolerates the sample's few re-imported and undated leads.
    policy = policy.replace(
        "quality: {}",
        "quality:\n  leads.duplicate_id: {max_rate: 0.01}\n  leads.bad_created_at: {max_rate: 0.01}",
    )
    (tmp_path / "funnel.yaml").write_text(policy)
    (tmp_path / "reports").mkdir()
    done = _run_cron(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "reports" / "check.json").read_text())["status"] == "pass"
    assert (tmp_path / "reports" / "funnel.md").read_text().startswith("## Funnel report")


def _weekly_cron(
    tmp_path: Path, after: str, sendmail: str = ""
) -> subprocess.CompletedProcess[str]:
    """The README's weekly cron line after ``after``, run in a copy of the sample project;
    ``sendmail``: a stand-in for /usr/sbin/sendmail (a user cannot put one there)."""
    line = next(x for x in _fenced("sh", after).splitlines() if x.startswith("0 7"))
    command = line.split(None, 5)[5].replace("cd /srv/funnel", f"cd {shlex.quote(str(tmp_path))}")
    if sendmail:
        command = command.replace("/usr/sbin/sendmail", sendmail)
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    (tmp_path / "funnel.yaml").write_text((ROOT / "config.example.yaml").read_text())
    (tmp_path / "reports").mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, check=False
    )


def test_weekly_summary_cron_line_mails_the_message(tmp_path: Path) -> None:
    fake = tmp_path / "sendmail"  # keeps its arguments and the message it is given
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {tmp_path}/sent.eml\n')
    fake.chmod(0o755)
    done = _weekly_cron(tmp_path, "### Weekly summary", sendmail=str(fake))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().strip() == "-t"
    message = email.message_from_bytes((tmp_path / "sent.eml").read_bytes(), policy=policy.default)
    assert message["To"] == "growth@example.com" and message["Subject"].startswith("Funnel ")
    assert message.get_content_type() == "multipart/alternative"


def test_weekly_summary_cron_line_writes_markdown_and_html(tmp_path: Path) -> None:
    done = _weekly_cron(tmp_path, "Or keep the files:")
    assert done.returncode == 0, done.stderr
    week = subprocess.run(
        ["date", "-d", "yesterday", "+%G-W%V"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (tmp_path / "reports" / f"funnel-{week}.md").read_text().startswith("## Funnel report")
    assert "<!DOCTYPE html>" in (tmp_path / "reports" / f"funnel-{week}.html").read_text()
