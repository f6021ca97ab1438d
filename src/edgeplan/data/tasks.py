"""Single-image checks for tasks without a dataset reader: segmentation mIoU against a mask and
pose keypoints against a reference CSV (as shipped with the Coral test data)."""

import csv
from pathlib import Path

import cv2
import numpy as np

from edgeplan.backends.predict import LoadedModel
from edgeplan.data.metrics import keypoint_errors, miou
from edgeplan.errors import DataError


def _read(image: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    img = cv2.imread(str(image), flags)
    if img is None:
        raise DataError(f"{image}: unreadable image")
    return img


def segmentation_miou(
    model: LoadedModel, image: Path, mask: Path, n_classes: int
) -> tuple[float, dict[int, float]]:
    """mIoU of the model's mask against a label mask (class index per pixel)."""
    pred = model.predict(_read(image))[0]["mask"]
    truth = _read(mask, cv2.IMREAD_UNCHANGED)
    if truth.ndim == 3:
        truth = truth[..., 0]
    if truth.shape != pred.shape:
        raise DataError(f"{mask}: mask is {truth.shape}, prediction {pred.shape}")
    return miou(pred, truth, n_classes)


def read_pose_csv(path: Path) -> np.ndarray:
    """Keypoints (x, y) normalised, ordered by keypoint_id, from `keypoint_x, keypoint_y` rows."""
    with path.open() as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["keypoint_id"]))
    if not rows:
        raise DataError(f"{path}: no keypoints")
    return np.array([[float(r["keypoint_x"]), float(r["keypoint_y"])] for r in rows], np.float32)


def pose_vs_reference(
    model: LoadedModel, image: Path, reference_csv: Path
) -> tuple[float, float, int]:
    """(mean keypoint error in normalised units, OKS, keypoints compared)."""
    pose = model.predict(_read(image))[0]
    pred = np.array(pose["keypoints_xy_norm"], np.float32)
    ref = read_pose_csv(reference_csv)
    n = min(len(pred), len(ref))
    err, oks = keypoint_errors(pred[:n], ref[:n])
    return err, oks, n
