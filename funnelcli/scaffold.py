"""``funnel init``: the commented starter policy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from funnelcli.errors import UsageError

FILENAME = "funnel.yaml"


def starter_text(data_dir: str = "data") -> str:
    """The starter policy, its input paths under ``data_dir`` (relative to the config)."""
    text = resources.files("funnelcli").joinpath("starter.yaml").read_text(encoding="utf-8")
    return text.replace("{data_dir}", data_dir)


def write_starter(folder: Path) -> Path:
    """Write ``folder/funnel.yaml``; refuse to overwrite an existing file (exit 2)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; give a folder for funnel.yaml.")
    path = folder / FILENAME
    if path.exists():
        msg = f"{path} already exists; not overwriting it. Move it away or pick another folder."
        raise UsageError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_text(), encoding="utf-8")
    return path
