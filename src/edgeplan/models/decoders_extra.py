"""Decoders for MediaPipe BlazeFace (SSD anchors) and DB text detection (PP-OCR det)."""

from functools import lru_cache

import cv2
import numpy as np

from edgeplan.models.decoders import Decoded, _finish, register
from edgeplan.spec.modelcard import ModelCard


@lru_cache(maxsize=4)
def blazeface_anchors(input_size: int, n: int) -> np.ndarray:
    """MediaPipe SSD anchors (centres, fixed size 1): short range 128 px -> strides 8 (2 per
    cell) and 16 (6 per cell) = 896; full range 192 px -> stride 4 (1 per cell) = 2304."""
    layers = [(8, 2), (16, 6)] if n == 896 else [(4, 1)]
    out = []
    for stride, per_cell in layers:
        fm = int(np.ceil(input_size / stride))
        ys, xs = np.mgrid[0:fm, 0:fm]
        centres = np.stack([(xs + 0.5) / fm, (ys + 0.5) / fm], -1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    anchors = np.concatenate(out)
    if len(anchors) != n:
        raise ValueError(f"BlazeFace: {n} outputs do not match {len(anchors)} anchors")
    return anchors.astype(np.float32)


@register("blazeface")
def decode_blazeface(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """Regressors (N,16): centre offset and size in input pixels relative to the anchor, then 6
    keypoints; classificators (N,1) are logits."""
    arrs = sorted((np.asarray(v)[0] for v in outputs.values()), key=lambda a: a.shape[-1])
    scores_raw, reg = arrs[0][:, 0], arrs[1]
    size = card.input.width_px
    anchors = blazeface_anchors(size, len(reg))
    scores = 1 / (1 + np.exp(-np.clip(scores_raw.astype(np.float64), -80, 80)))
    m = scores > card.score_threshold
    r, a = reg[m], anchors[m]
    cx = r[:, 0] / size + a[:, 0]
    cy = r[:, 1] / size + a[:, 1]
    w, h = r[:, 2] / size, r[:, 3] / size
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * size
    return _finish(boxes, scores[m], np.zeros(int(m.sum()), dtype=int), card, hw)


@register("db-text")
def decode_db_text(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """Differentiable-binarisation text maps: threshold 0.3, connected regions, score = mean
    probability inside, boxes expanded by area x 1.5 / perimeter (the DB 'unclip')."""
    prob = np.asarray(next(iter(outputs.values())))[0, 0]
    binary = (prob > 0.3).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w < 3 or h < 3:
            continue
        score = float(prob[y : y + h, x : x + w][binary[y : y + h, x : x + w] > 0].mean())
        if score < card.score_threshold:
            continue
        d = w * h * 1.5 / (2 * (w + h))
        boxes.append([x - d, y - d, x + w + d, y + h + d])
        scores.append(score)
    if not boxes:
        return []
    return _finish(
        np.array(boxes, np.float32),
        np.array(scores, np.float32),
        np.zeros(len(boxes), dtype=int),
        card,
        hw,
    )
