"""The ``funnel`` command: signal handlers first, then the slow imports (polars, rich,
typer take a second or more), so that Ctrl-C or SIGTERM at any moment ends cleanly."""

from __future__ import annotations

import signal
import sys

from funnelcli.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated


def main() -> None:
    # Python's own Ctrl-C handler lets polars raise one Ctrl-C twice (in the query, then
    # again at the next Python call, which can be the clean-up of a half-written file);
    # with a handler of our own polars stops the query once. Measured in issue 4's note.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from funnelcli.cli import run  # noqa: PLC0415 (after the handlers, see above)

        run()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        sys.stderr.write("terminated\n")
        sys.exit(EXIT_TERMINATED)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated
