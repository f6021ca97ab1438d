"""One progress display for long commands: a spinner with the current step (a bar with done /
total for counted steps such as calibration images), and a timestamped log line per step that
stays on screen."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from edgeplan.progress import Progress as Reporter


@contextmanager
def step_progress(console: Console, title: str, prefix: str = "") -> Iterator[Reporter]:
    """Yields `progress(msg, done=None, total=None)`: a plain call logs `HH:MM:SS msg`; a counted
    call moves the bar and logs only when a new counted step starts."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,  # third-party prints go to the log, never above the bar
        redirect_stderr=False,
    ) as bar:
        task = bar.add_task(title, total=None, count="")
        current = {"counted": ""}

        def log(msg: str) -> None:
            console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {msg}", highlight=False)

        def progress(msg: str, done: int | None = None, total: int | None = None) -> None:
            text = f"{prefix}{msg}"
            if total is None:
                current["counted"] = ""
                bar.update(task, description=text, total=None, completed=0, count="")
                log(text)
                return
            if current["counted"] != text:
                current["counted"] = text
                log(text)
            bar.update(
                task,
                description=text,
                total=max(total, 1),
                completed=done or 0,
                count=f"{done or 0}/{total}",
            )

        yield progress
