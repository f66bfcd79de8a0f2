"""Writing results: stdout, or a file written atomically (temp file, then rename)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from funnelcli.errors import UsageError


def check_writable(path: Path) -> None:
    """Fail before any work when ``--output`` cannot be written (exit 2)."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        msg = f"--output {path}: folder {folder} does not exist. Create it first."
        raise UsageError(msg)
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder; name a file.")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--output {path}: folder {folder} is not writable.")


def write_text(text: str, path: Path | None) -> None:
    """Print to stdout, or replace ``path`` in one step so no reader sees half a file."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        Path(tmp).chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
