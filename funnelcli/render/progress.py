"""Progress on stderr while big inputs load and the queries run: a spinner naming the
current step with the time since start. Only on a terminal, never with --quiet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console


@contextmanager
def progress(console: Console, *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """Yield a ``step(text)`` callback; shown only when ``enabled`` and on a terminal."""
    if not enabled or not console.is_terminal:
        yield lambda _text: None
        return
    start = time.monotonic()
    with console.status("starting…") as status:

        def step(text: str) -> None:
            status.update(f"{text}… [dim]{time.monotonic() - start:.1f}s[/dim]")

        yield step
