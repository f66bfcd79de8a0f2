"""Error types raised inside the package and the exit codes they map to.

Domain code raises these; only ``cli.py`` turns them into a message and an exit code.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERRUPTED = 130


class FunnelError(Exception):
    """A failure the user can fix; ``str(err)`` is the whole message shown to them."""

    exit_code = EXIT_USAGE


class UsageError(FunnelError):
    """Bad flags or flag combinations (exit 2)."""

    exit_code = EXIT_USAGE


class ExistsError(UsageError):
    """A file the command would write is already there (exit 2); the CLI says how to force."""


class ConfigError(FunnelError):
    """The policy file is missing or invalid (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(FunnelError):
    """An input file is missing, unreadable or lacks a required column (exit 3)."""

    exit_code = EXIT_INPUT


EXIT_TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM (timeout, systemd, docker stop): unwinds like Ctrl-C, so that every temp
    file is removed on the way out, and ends with exit 143."""


def excerpt(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message quotes what the user wrote,
    but never a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}… ({len(text):,} chars)"


def listed(names: Iterable[object], limit: int = 12) -> str:
    """``a, b, c`` — at most ``limit`` names, then "… and 99,990 more": a message names
    what it found, but a file of 100,000 junk headers is not a 900 KB error."""
    items = [str(n) for n in names]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} … and {len(items) - limit:,} more"
