"""Stream a dataset's images as decoded frames (running a model on them is
`edgeplan.backends.predict`)."""

from collections.abc import Callable, Iterator
from typing import Any

import cv2

from edgeplan.data.samples import ReadReport


def frames(
    samples: Iterator[Any], report: ReadReport, limit: int | None
) -> Iterator[tuple[Any, Any]]:
    """(sample, decoded BGR frame) pairs; unreadable images are reported, skipped and counted."""
    n = 0
    for sample in samples:
        if limit is not None and n >= limit:
            return
        frame = cv2.imread(str(sample.path), cv2.IMREAD_COLOR)
        if frame is None:
            report.skip(str(sample.path), "unreadable or corrupt image")
            continue
        n += 1
        yield sample, frame


Progress = Callable[[int], None]
