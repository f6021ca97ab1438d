"""Output decoders, registered by name and chosen by the model card.

Each takes the model's outputs (name -> array), the card and the frame size, and returns a list
of plain dicts (label, score, box in frame pixels) or a classification top-k. The full set and their
accuracy checks arrive with the accuracy work; these cover the families in the test data.
"""

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from edgeplan.errors import ConfigError
from edgeplan.models.preprocess import input_to_frame
from edgeplan.spec.modelcard import ModelCard

Decoded = list[dict[str, Any]]
Decoder = Callable[[dict[str, np.ndarray], ModelCard, tuple[int, int]], Decoded]
DECODERS: dict[str, Decoder] = {}


def register(name: str) -> Callable[[Decoder], Decoder]:
    def deco(fn: Decoder) -> Decoder:
        DECODERS[name] = fn
        return fn

    return deco


def get_decoder(name: str) -> Decoder:
    import edgeplan.models.decoders_extra  # noqa: F401  (registers more decoders)

    if name not in DECODERS:
        raise ConfigError(f"card.decoder: unknown decoder {name!r}; allowed: {sorted(DECODERS)}")
    return DECODERS[name]


def _nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, card: ModelCard) -> np.ndarray:
    """Class-wise NMS (boxes of different classes never suppress each other)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=int)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    keep = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(),
        scores.astype(float).tolist(),
        labels.astype(int).tolist(),
        card.score_threshold,
        card.nms_iou,
    )
    return np.asarray(keep, dtype=int).reshape(-1)


def _boxes_out(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> Decoded:
    return [
        {"label": int(c), "score": float(s), "box_xyxy": [float(v) for v in b]}
        for b, s, c in zip(boxes, scores, labels, strict=True)
    ]


def _finish(
    boxes_in: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    card: ModelCard,
    hw: tuple[int, int],
) -> Decoded:
    """Input-pixel boxes -> frame pixels -> class-wise NMS -> dicts."""
    boxes = input_to_frame(boxes_in, card.input, hw)
    keep = _nms(boxes, scores, labels, card)
    return _boxes_out(boxes[keep], scores[keep], labels[keep])


@register("raw")
def decode_raw(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """No decoding: copy each output to host memory (what every pipeline does at least)."""
    return [{"output": k, "shape": list(np.asarray(v).shape)} for k, v in outputs.items()]


@register("classification")
def decode_classification(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """Top-5 classes after dequantising and (if needed) softmax; label offset applied."""
    raw = np.asarray(next(iter(outputs.values())))
    logits = raw.astype(np.float32).reshape(-1)
    if raw.dtype.kind in "iu" and logits.sum() > 0:
        # still-quantised probabilities (a backend that does not dequantise): q / sum(q) is exact
        # for softmax outputs (zero point 0), which is how quantised classifiers end
        logits = logits / logits.sum()
    elif logits.min() < 0 or logits.max() > 1.0 + 1e-3:
        e = np.exp(logits - logits.max())
        logits = e / e.sum()
    top = np.argsort(logits)[::-1][:5]
    return [{"label": int(i) - card.label_offset, "score": float(logits[i])} for i in top]


@register("fastestdet")
def decode_fastestdet(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """FastestDet grid: per cell obj, (dx, dy, w, h) and class scores; score = obj^0.6 * cls^0.4."""
    out = np.asarray(next(iter(outputs.values())))[0]  # 85 x H x W
    _, gh, gw = out.shape
    obj, reg, cls = out[0], out[1:5], out[5:]
    label = cls.argmax(0)
    score = (obj**0.6) * (cls.max(0) ** 0.4)
    ys, xs = np.nonzero(score > card.score_threshold)
    if len(ys) == 0:
        return []
    dx, dy = np.tanh(reg[0, ys, xs]), np.tanh(reg[1, ys, xs])
    bw, bh = 1 / (1 + np.exp(-reg[2, ys, xs])), 1 / (1 + np.exp(-reg[3, ys, xs]))
    cx, cy = (dx + xs) / gw, (dy + ys) / gh
    ih, iw = card.input.height_px, card.input.width_px
    boxes = np.column_stack(
        [(cx - bw / 2) * iw, (cy - bh / 2) * ih, (cx + bw / 2) * iw, (cy + bh / 2) * ih]
    )
    return _finish(boxes, score[ys, xs], label[ys, xs], card, hw)


@register("ssd")
@register("ultraface")
def decode_ssd(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """SSD-style decoded priors: `boxes` (1,N,4) normalised xyxy and `scores` (1,N,C) with the
    background in column 0 (UltraFace: C=2, face = class 0 after the background)."""
    scores = np.asarray(outputs["scores"])[0]
    boxes = np.asarray(outputs["boxes"])[0]
    cls = scores[:, 1:].argmax(1)
    best = scores[np.arange(len(scores)), cls + 1]
    m = best > card.score_threshold
    ih, iw = card.input.height_px, card.input.width_px
    b = boxes[m] * np.array([iw, ih, iw, ih], dtype=np.float32)
    return _finish(b, best[m], cls[m], card, hw)


@register("yunet")
def decode_yunet(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """YuNet multi-stride (8/16/32) anchor-free decoding; score = sqrt(cls * obj)."""
    iw = card.input.width_px
    all_b, all_s = [], []
    for stride in (8, 16, 32):
        cls = np.asarray(outputs[f"cls_{stride}"])[0, :, 0]
        obj = np.asarray(outputs[f"obj_{stride}"])[0, :, 0]
        bbox = np.asarray(outputs[f"bbox_{stride}"])[0]
        cols = iw // stride
        idx = np.arange(len(cls))
        ax, ay = (idx % cols) * stride, (idx // cols) * stride
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        cx, cy = ax + bbox[:, 0] * stride, ay + bbox[:, 1] * stride
        bw, bh = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
        all_b.append(np.column_stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]))
        all_s.append(score)
    boxes, scores = np.concatenate(all_b), np.concatenate(all_s)
    m = scores > card.score_threshold
    return _finish(boxes[m], scores[m], np.zeros(int(m.sum()), dtype=int), card, hw)


@register("movenet")
def decode_movenet(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """MoveNet single pose (1,1,17,3) of (y, x, score) in input-normalised units -> one pose with
    keypoints in frame pixels and frame-normalised units."""
    kp = np.asarray(next(iter(outputs.values())), np.float32).reshape(-1, 3)
    ih, iw = card.input.height_px, card.input.width_px
    h, w = hw
    pts = np.column_stack([kp[:, 1] * iw, kp[:, 0] * ih, kp[:, 1] * iw, kp[:, 0] * ih])
    xy = input_to_frame(pts, card.input, hw)[:, :2]
    return [
        {
            "label": 0,
            "score": float(kp[:, 2].mean()),
            "keypoints_xy": xy.tolist(),
            "keypoints_xy_norm": (xy / np.array([w, h], np.float32)).tolist(),
            "keypoint_scores": kp[:, 2].tolist(),
        }
    ]


@register("segmentation")
def decode_segmentation(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """Per-pixel class: argmax of logits (NHWC or NCHW) or the model's own ArgMax output, resized
    (nearest) to the frame."""
    out = np.asarray(next(iter(outputs.values())))[0]
    if out.ndim == 3:
        out = out.argmax(-1) if out.shape[-1] < out.shape[0] else out.argmax(0)
    mask = cv2.resize(out.astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
    return [{"label": -1, "score": 1.0, "mask": mask}]
