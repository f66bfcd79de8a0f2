"""Writing results without ever losing data: stdout, or a file written atomically.

A regular file is replaced in one step (a temp file beside it, then a rename), keeping its
mode; a symlink is written through (its target replaced the same way); a FIFO, a character
device or ``/dev/fd/N`` is written directly, never replaced. A temp file carries the
writer's pid, so one left by a killed run is removed by the next write to the same path —
only when its owner is gone or it is over an hour old, never a live run's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from funnelcli.errors import UsageError

STALE_SECONDS = 3600
NAME_MAX = 255  # bytes in a file name on Linux and macOS file systems
TEMP_PREFIX = ".funnel-"


def check_writable(path: Path) -> None:
    """Fail before any work when ``path`` cannot be written (exit 2)."""
    if len(os.fsencode(path.name)) > NAME_MAX:  # before any stat: it would fail on it
        raise UsageError(f"cannot write {path}: the file name is longer than {NAME_MAX} bytes.")
    if _is_stream(path):
        return
    target = _target(path)
    folder = target.parent if str(target.parent) else Path()
    if not folder.is_dir():
        msg = f"cannot write {path}: folder {folder} does not exist. Create it first."
        raise UsageError(msg)
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file.")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable.")


def refuse_clobber(path: Path, protected: Iterable[Path]) -> None:
    """An output must not be an input or the policy: refuse before anything runs."""
    for other in protected:
        with contextlib.suppress(OSError):
            if path.exists() and other.exists() and path.samefile(other):
                msg = (
                    f"will not write {path}: it is the file {other}, which this run reads "
                    "(the policy or an input). Write the output somewhere else."
                )
                raise UsageError(msg)


def write_text(text: str, path: Path | None) -> None:
    """Print to stdout, or write ``path`` so that no reader ever sees half a file."""
    if path is None:
        _write_stdout(text)
        return
    check_writable(path)
    data = text.encode("utf-8")
    try:
        if _is_stream(path):  # stat follows links: /dev/fd/1 and >(cmd) are streams
            with path.open("wb") as stream:
                stream.write(data)
            return
        with atomic_path(_target(path)) as tmp:
            tmp.write_bytes(data)
    except OSError as err:
        raise UsageError(f"cannot write {path} ({_reason(err)}).") from None


def _write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `funnel report | head`: the reader has what it wanted; end quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    except OSError as err:
        raise UsageError(f"cannot write to standard output ({_reason(err)}).") from None


def _reason(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "no space left on the device"
    return err.strerror or type(err).__name__


def _target(path: Path) -> Path:
    """The file a write to ``path`` lands in: a symlink's (final) target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _is_stream(path: Path) -> bool:
    """A FIFO, a character device (``/dev/null``, a terminal) or a socket, also through a
    link such as /dev/fd/N: written directly, since replacing it would break its reader."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp file beside ``path`` to write; renamed over ``path`` only if the block
    succeeds, with the mode the file had (or the usual one for a new file)."""
    remove_stale_temps(path)
    folder = path.parent if str(path.parent) else Path()
    # The name is chosen before the file exists, so a signal at any moment after this line
    # finds it to remove.
    tmp = folder / f"{temp_prefix(path)}{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()  # mkstemp makes 0600; give the usual file mode
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def temp_prefix(path: Path) -> str:
    """``.funnel-<name>.<pid>.``: whose temp file it is, so a later run can tell a dead
    writer's leftover from a live one's."""
    # The name is cut so that prefix + random part + suffix stay within the 255-byte limit.
    return f"{TEMP_PREFIX}{path.name[:150]}.{os.getpid()}."


def remove_stale_temps(path: Path) -> None:
    """Remove temp files of ``path`` left by runs that were killed (their pid is gone) or
    that are over an hour old; a live concurrent run's temp file is left alone."""
    folder = path.parent if str(path.parent) else Path()
    head = f"{TEMP_PREFIX}{path.name[:150]}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(head) and entry.name.endswith(".tmp"):
                _remove_if_stale(Path(entry.path), entry.name[len(head) :])


def _remove_if_stale(temp: Path, rest: str) -> None:
    pid_text = rest.split(".", 1)[0]
    pid = int(pid_text) if pid_text.isdigit() else None
    with contextlib.suppress(OSError):
        old = time.time() - temp.lstat().st_mtime > STALE_SECONDS
        if old or (pid is not None and pid != os.getpid() and not _alive(pid)):
            if temp.is_dir() and not temp.is_symlink():
                import shutil  # noqa: PLC0415 (only for a killed `sample`'s folder)

                shutil.rmtree(temp, ignore_errors=True)
            else:
                temp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
