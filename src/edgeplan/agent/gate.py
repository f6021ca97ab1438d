"""Motion gate: OpenCV background subtraction with a minimum blob area — the duty-cycle lever."""

import cv2
import numpy as np


class MotionGate:
    def __init__(self, min_area_px: int, history: int, warmup_frames: int) -> None:
        self._bg = cv2.createBackgroundSubtractorMOG2(history=history, detectShadows=False)
        self.min_area_px, self.warmup, self.seen = min_area_px, warmup_frames, 0

    def moving(self, frame: np.ndarray) -> tuple[bool, float]:
        """(motion?, largest moving area in pixels) on a downscaled grey frame."""
        small = cv2.resize(frame, (320, int(320 * frame.shape[0] / frame.shape[1])))
        scale = (frame.shape[1] / 320) ** 2
        mask = self._bg.apply(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0))
        self.seen += 1
        contours, _ = cv2.findContours(
            (mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        area = max((cv2.contourArea(c) for c in contours), default=0.0) * scale
        return self.seen <= self.warmup or area >= self.min_area_px, float(area)
