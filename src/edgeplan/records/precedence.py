"""Evidence precedence, the one rule: measured on the device > measured in production > measured
on this host (and projected from it) > published > assumed. Everything that picks between
figures for the same model on the same device calls `best`."""

from collections.abc import Callable, Iterable
from typing import TypeVar

ORDER = (
    "measured-on-device",
    "measured-in-production",
    "measured",
    "projected",
    "published",
    "assumed",
)
T = TypeVar("T")


def rank(source: str) -> int:
    """Lower is stronger evidence; unknown sources rank last."""
    return ORDER.index(source) if source in ORDER else len(ORDER)


def best(
    items: Iterable[T], source: Callable[[T], str], newest: Callable[[T], str] = lambda _i: ""
) -> T | None:
    """The item with the strongest source; among equals, the newest."""
    pool = list(items)
    if not pool:
        return None
    top = min(rank(source(i)) for i in pool)
    return max((i for i in pool if rank(source(i)) == top), key=newest)
