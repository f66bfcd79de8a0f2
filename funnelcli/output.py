"""Writing results: stdout, or a file written atomically (temp file, then rename)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
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
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp file beside ``path`` to write; renamed over ``path`` only if the block succeeds."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
