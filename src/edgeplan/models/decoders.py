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
    if name not in DECODERS:
        raise ConfigError(f"card.decoder: unknown decoder {name!r}; allowed: {sorted(DECODERS)}")
    return DECODERS[name]


def _nms(boxes: np.ndarray, scores: np.ndarray, card: ModelCard) -> np.ndarray:
    if len(boxes) == 0:
        return np.zeros(0, dtype=int)
    xywh = np.column_stack(
        [boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]]
    )
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), card.score_threshold, card.nms_iou)
    return np.asarray(keep, dtype=int).reshape(-1)


def _boxes_out(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> Decoded:
    return [
        {"label": int(c), "score": float(s), "box_xyxy": [float(v) for v in b]}
        for b, s, c in zip(boxes, scores, labels, strict=True)
    ]


@register("raw")
def decode_raw(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """No decoding: copy each output to host memory (what every pipeline does at least)."""
    return [{"output": k, "shape": list(np.asarray(v).shape)} for k, v in outputs.items()]


@register("classification")
def decode_classification(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """Top-5 classes after dequantising and (if needed) softmax; label offset applied."""
    logits = np.asarray(next(iter(outputs.values())), dtype=np.float32).reshape(-1)
    if logits.min() < 0 or logits.max() > 1.0 + 1e-3:
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
    h, w = hw
    boxes = np.column_stack(
        [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
    )
    scores, labels = score[ys, xs], label[ys, xs]
    keep = _nms(boxes, scores, card)
    return _boxes_out(boxes[keep], scores[keep], labels[keep])


@register("ultraface")
def decode_ultraface(
    outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]
) -> Decoded:
    """UltraFace: decoded priors already; scores[:, 1] is face, boxes normalised x1y1x2y2."""
    scores = np.asarray(outputs["scores"])[0][:, 1]
    boxes = np.asarray(outputs["boxes"])[0]
    m = scores > card.score_threshold
    h, w = hw
    b = boxes[m] * np.array([w, h, w, h], dtype=np.float32)
    s = scores[m]
    keep = _nms(b, s, card)
    return _boxes_out(b[keep], s[keep], np.zeros(len(keep), dtype=int))


@register("yunet")
def decode_yunet(outputs: dict[str, np.ndarray], card: ModelCard, hw: tuple[int, int]) -> Decoded:
    """YuNet multi-stride (8/16/32) anchor-free decoding; score = sqrt(cls * obj)."""
    ih, iw = card.input.height_px, card.input.width_px
    h, w = hw
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
    boxes = boxes[m] * np.array([w / iw, h / ih, w / iw, h / ih], dtype=np.float32)
    scores = scores[m]
    keep = _nms(boxes, scores, card)
    return _boxes_out(boxes[keep], scores[keep], np.zeros(len(keep), dtype=int))
