"""Calibration data for int8 passes: one split policy, and images streamed one at a time.

A calibration set is a list of image paths plus the card's input contract. Iterating it reads and
preprocesses one image at a time, so memory does not grow with the number of images. Its hash
(image bytes + input contract) goes into every variant key built from it.
"""

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgeplan.spec.modelcard import InputSpec, ModelCard

log = logging.getLogger(__name__)

CALIBRATION_IMAGES = 32  # the tail of a dataset that int8 passes calibrate on
MIN_EVAL_IMAGES = 8  # below calibration + this, a dataset is too small to keep the two apart


def split_paths(paths: Sequence[Path], n_calibration: int = CALIBRATION_IMAGES) -> int | None:
    """How many leading images may be evaluated, keeping the last `n_calibration` for
    calibration only; None when the dataset is too small to keep them apart."""
    if len(paths) < n_calibration + MIN_EVAL_IMAGES:
        return None
    return len(paths) - n_calibration


def eval_limit(n_images: int, quick: bool, quick_max: int = 40) -> int:
    """Evaluation images for a dataset of `n_images`: the leading ones, never the calibration
    tail (when the dataset is big enough to have one), capped at `quick_max` in quick mode."""
    big_enough = n_images >= CALIBRATION_IMAGES + MIN_EVAL_IMAGES
    usable = n_images - CALIBRATION_IMAGES if big_enough else n_images
    return min(usable, quick_max) if quick else usable


@dataclass(frozen=True)
class CalibrationSet:
    """Calibration inputs streamed from image files through the card's preprocessing.

    `__iter__` yields `{input_name: tensor}` one image at a time; unreadable images are logged
    and skipped. Re-iterable (NNCF and two-pass calibration read it more than once)."""

    paths: tuple[Path, ...]
    spec: InputSpec
    input_name: str

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        from edgeplan.models.preprocess import preprocess

        for path in self.paths:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                log.warning("calibration: skipping unreadable image %s", path)
                continue
            yield {self.input_name: preprocess(frame, self.spec)}

    def first(self, n: int) -> list[dict[str, np.ndarray]]:
        """The first `n` readable inputs (a small, bounded sample, e.g. for latency runs)."""
        out = []
        for x in self:
            out.append(x)
            if len(out) == n:
                break
        return out

    def sha256(self) -> str:
        """Content hash: every image's bytes and the input contract."""
        h = hashlib.sha256(json.dumps(self.spec.model_dump(mode="json"), sort_keys=True).encode())
        for p in self.paths:
            h.update(p.name.encode())
            try:
                with p.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
            except OSError:
                h.update(b"<unreadable>")
        return h.hexdigest()

    def with_input_name(self, name: str) -> "CalibrationSet":
        return CalibrationSet(self.paths, self.spec, name)


@dataclass(frozen=True)
class Validation:
    """Labelled images an accuracy-aware pass may score its candidates on: the calibration tail,
    so the evaluation split that judges the variant afterwards stays unseen by the pass."""

    data: Path
    paths: tuple[Path, ...]
    card: ModelCard
    dataset_sha256: str  # images and labels: part of the key of a variant it shaped


def calibration_set(
    image_paths: Sequence[Path], spec: InputSpec, input_name: str
) -> CalibrationSet | None:
    """The calibration tail of `image_paths`, or None when too small to keep it apart."""
    n_eval = split_paths(image_paths)
    if n_eval is None:
        return None
    return CalibrationSet(tuple(image_paths[n_eval:]), spec, input_name)
