"""The progress seam: long steps report what they are doing and, where countable, how far.

`progress(msg)` names a step; `progress(msg, done, total)` advances a counted one (images
calibrated, frames evaluated). The CLI renders it with Rich; library code only calls it.
"""

from typing import Protocol


class Progress(Protocol):
    def __call__(self, msg: str, done: int | None = None, total: int | None = None) -> None: ...


def no_progress(msg: str, done: int | None = None, total: int | None = None) -> None:
    """The default: report nothing."""
    return None


def prefixed(progress: Progress, prefix: str) -> Progress:
    """The same reporter with `prefix` before every message."""

    def report(msg: str, done: int | None = None, total: int | None = None) -> None:
        progress(f"{prefix}{msg}", done, total)

    return report
