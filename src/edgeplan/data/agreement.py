"""Agreement with a reference model on unlabelled data. It is agreement, never accuracy."""

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (n,4) with every box in b (m,4), xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def box_matches(pred: list[dict], ref: list[dict], iou: float = 0.5) -> tuple[int, int, int]:
    """(true positives, predictions, references): greedy by score, same label, IoU >= `iou`."""
    if not pred or not ref:
        return 0, len(pred), len(ref)
    pred = sorted(pred, key=lambda d: -d["score"])
    pb = np.array([d["box_xyxy"] for d in pred], np.float32)
    rb = np.array([d["box_xyxy"] for d in ref], np.float32)
    m = iou_matrix(pb, rb)
    taken = np.zeros(len(ref), bool)
    tp = 0
    for i, d in enumerate(pred):
        same = np.array([r["label"] == d["label"] for r in ref])
        cand = np.where(~taken & same & (m[i] >= iou))[0]
        if len(cand):
            taken[cand[np.argmax(m[i, cand])]] = True
            tp += 1
    return tp, len(pred), len(ref)


def f1(tp: int, n_pred: int, n_ref: int) -> float:
    """Box F1; 1.0 when neither model found anything (they agree)."""
    if n_pred == 0 and n_ref == 0:
        return 1.0
    return 2 * tp / (n_pred + n_ref)
