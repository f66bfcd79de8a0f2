"""Real engines for the tests, started by the test session (nothing mocked).

PostgreSQL: the Debian ``postgresql`` package's server, in a throw-away cluster on a Unix
socket; it refuses to run as root, so under root (CI) it runs as the ``postgres`` user.
Spark: pyspark in local mode, which needs a Java runtime. ``.ci/run`` installs both; where
they cannot be had, the tests that need them skip and say why."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres() -> Iterator[str]:
    """A running server's URL (no password: trust on its own socket), stopped afterwards."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server here (.ci/run installs the postgresql package)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    bindir = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="funnel-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server will not run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [
            *as_user,
            bindir / "initdb",
            "-D",
            data,
            "--auth=trust",
            "-U",
            "funnel",
            "--locale=C",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-k {root} -p {port} -c listen_addresses='' -c fsync=off"
    ctl = [*as_user, bindir / "pg_ctl", "-D", data]
    subprocess.run(
        [*ctl, "-o", options, "-l", root / "log", "-w", "start"], check=True, capture_output=True
    )
    try:
        yield f"postgresql://funnel@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def spark() -> str:
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark (.ci/run installs default-jre-headless)")
    return "spark:local[2]"
