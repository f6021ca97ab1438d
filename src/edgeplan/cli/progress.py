"""One progress display for long commands: a spinner with the current step, and a timestamped
log line per step that stays on screen."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def step_progress(
    console: Console, title: str, prefix: str = ""
) -> Iterator[Callable[[str], None]]:
    """Yields `progress(msg)`: updates the spinner and logs `HH:MM:SS msg`."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=None)

        def progress(msg: str) -> None:
            bar.update(task, description=f"{prefix}{msg}")
            console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {msg}", highlight=False)

        yield progress
