"""Frame sources (file, rtsp://, V4L2) with reconnect and backoff. A source that stops delivering
is reported as stalled by the runtime's watchdog; it never takes the agent down."""

import logging
import time

import cv2
import numpy as np

log = logging.getLogger(__name__)


class Source:
    def __init__(self, uri: str, loop: bool, fps_cap: float) -> None:
        self.uri, self.loop, self.period = uri, loop, 1.0 / fps_cap
        self._cap: cv2.VideoCapture | None = None
        self._backoff = 0.5
        self._next = time.monotonic()
        self.reconnects = 0
        self.decode_errors = 0
        self.ended = False
        self.native_fps = 0.0
        self._skip = 1

    def _open(self) -> bool:
        target = (
            int(self.uri[len("/dev/video") :]) if self.uri.startswith("/dev/video") else self.uri
        )
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            return False
        self._cap = cap
        self.native_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        # a file plays at its own rate: keep every n-th frame to honour the cap
        self._skip = max(1, round(self.native_fps * self.period)) if self.native_fps else 1
        self._backoff = 0.5
        return True

    def read(self, stop_wait: float = 1.0) -> tuple[np.ndarray | None, float]:
        """The next frame (None if none now) and the decode time in ms; paces to the fps cap."""
        now = time.monotonic()
        if now < self._next:
            time.sleep(min(self._next - now, stop_wait))
            if time.monotonic() < self._next:
                return None, 0.0
        self._next = max(self._next + self.period, time.monotonic() - self.period)
        if self.ended:
            return None, 0.0
        if self._cap is None and not self._open():
            self.reconnects += 1
            time.sleep(min(self._backoff, stop_wait))
            self._backoff = min(self._backoff * 2, 10.0)
            return None, 0.0
        assert self._cap is not None
        t0 = time.perf_counter()
        frame = None
        for _ in range(self._skip):
            ok, frame = self._cap.read()
            if not ok:
                frame = None
                break
        ms = (time.perf_counter() - t0) * 1000
        if frame is None:
            if self.uri.startswith(("rtsp://", "http://", "/dev/video")):
                self._cap.release()
                self._cap = None  # reconnect with backoff
            elif self.loop:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            else:
                self.ended = True
            return None, ms
        return frame, ms

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
