"""Frame (BGR uint8, HxWx3) -> model input tensor, exactly as the card says."""

import cv2
import numpy as np

from edgeplan.spec.modelcard import InputSpec

_INTERP = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "nearest": cv2.INTER_NEAREST,
    "cubic": cv2.INTER_CUBIC,
}


def _fit(frame: np.ndarray, spec: InputSpec) -> np.ndarray:
    h, w = spec.height_px, spec.width_px
    interp = _INTERP[spec.interpolation]
    if spec.resize == "stretch":
        return cv2.resize(frame, (w, h), interpolation=interp)
    fh, fw = frame.shape[:2]
    if spec.resize == "centre-crop":
        scale = max(h / fh, w / fw)
        resized = cv2.resize(frame, (round(fw * scale), round(fh * scale)), interpolation=interp)
        y0, x0 = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
        return resized[y0 : y0 + h, x0 : x0 + w]
    scale = min(h / fh, w / fw)  # letterbox: keep aspect, pad with grey
    nh, nw = round(fh * scale), round(fw * scale)
    resized = cv2.resize(frame, (nw, nh), interpolation=interp)
    out = np.full((h, w, 3), 114, dtype=np.uint8)
    y0, x0 = (h - nh) // 2, (w - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def preprocess(frame: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize, reorder channels, normalise, lay out and cast; returns a batch of one."""
    img = _fit(frame, spec)
    if spec.colour_order == "RGB":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if spec.dtype == "uint8":
        x = img
    elif spec.dtype == "int8":
        x = (img.astype(np.int16) - 128).astype(np.int8)
    else:
        x = img.astype(np.float32) * spec.scale
        if spec.mean != (0.0, 0.0, 0.0) or spec.std != (1.0, 1.0, 1.0):
            x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
        x = x.astype(spec.dtype)
    if spec.layout == "NCHW":
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None])


def input_to_frame(boxes: np.ndarray, spec: InputSpec, frame_hw: tuple[int, int]) -> np.ndarray:
    """Map xyxy boxes in model-input pixels back to frame pixels, undoing the card's resize,
    clipped to the frame (a decoder's box may reach past the input's edge)."""
    ih, iw = spec.height_px, spec.width_px
    fh, fw = frame_hw
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    if spec.resize == "stretch":
        b = b * np.array([fw / iw, fh / ih, fw / iw, fh / ih], np.float32)
    elif spec.resize == "letterbox":
        s = min(ih / fh, iw / fw)
        px, py = (iw - round(fw * s)) // 2, (ih - round(fh * s)) // 2
        b = (b - np.array([px, py, px, py], np.float32)) / s
    else:  # centre-crop
        s = max(ih / fh, iw / fw)
        x0, y0 = (round(fw * s) - iw) // 2, (round(fh * s) - ih) // 2
        b = (b + np.array([x0, y0, x0, y0], np.float32)) / s
    return np.clip(b, 0, np.array([fw, fh, fw, fh], np.float32)).astype(np.float32)
