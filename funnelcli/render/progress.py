"""Progress on stderr while big inputs load and the queries run: a spinner naming the
current step with the time since start. Only on a terminal, never with --quiet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


@contextmanager
def progress(console: Console, *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """Yield a ``step(text)`` callback; shown only when ``enabled`` and on a terminal."""
    if not enabled or not console.is_terminal:
        yield lambda _text: None
        return
    start = time.monotonic()
    with console.status("starting…") as status:

        def step(text: str) -> None:
            elapsed = f"{time.monotonic() - start:.1f}s"
            status.update(Text.assemble(f"{text}… ", (elapsed, "dim")))

        yield step
