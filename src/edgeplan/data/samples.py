"""What readers yield, and the report of what they skipped."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassSample:
    """An image with its 0-based class index (None when unlabelled)."""

    path: Path
    label: int | None = None


@dataclass(frozen=True)
class DetSample:
    """An image with boxes in pixels (x1, y1, x2, y2) and 0-based contiguous class indices."""

    path: Path
    image_id: int
    width: int
    height: int
    boxes_xyxy: np.ndarray  # (n, 4) float32
    labels: np.ndarray  # (n,) int64
    iscrowd: np.ndarray  # (n,) bool

    @property
    def n_boxes(self) -> int:
        return int((~self.iscrowd).sum())


@dataclass
class ReadReport:
    """Problems met while reading: each with the file and line, skipped and counted."""

    problems: list[str] = field(default_factory=list)

    def skip(self, where: str, why: str) -> None:
        msg = f"{where}: {why} (skipped)"
        log.warning(msg)
        self.problems.append(msg)

    @property
    def skipped(self) -> int:
        return len(self.problems)
