"""Frame sources (file, rtsp://, V4L2) with reconnect and backoff. A source that stops delivering
is reported as stalled by the runtime's watchdog; it never takes the agent down. Every failure
is logged once when it starts (naming the source and the reason), again when the reason changes
or a minute passes, and when the source recovers; network opens and reads time out after
OPEN_TIMEOUT_S, so a silent RTSP server cannot hold the agent past its stop."""

import logging
import time
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)
OPEN_TIMEOUT_S = 5.0
REPEAT_LOG_S = 60.0
NETWORK = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


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
        self.error = "opening"  # why the source is not delivering now ("" when it is)
        self._logged_at = 0.0

    def _fail(self, reason: str) -> None:
        """Record why the source is not delivering; log it when it starts or changes, and at
        most once a minute while it lasts."""
        now = time.monotonic()
        if reason != self.error or now - self._logged_at > REPEAT_LOG_S:
            log.warning("source %s: %s", self.uri, reason)
            self._logged_at = now
        self.error = reason

    def _recovered(self) -> None:
        if self.error and self._logged_at:
            log.warning("source %s: delivering frames again", self.uri)
        self.error = ""

    def _open(self) -> bool:
        if self.uri.startswith("/dev/video"):
            target: int | str = int(self.uri[len("/dev/video") :])
        else:
            target = self.uri
        network = self.uri.startswith(NETWORK)
        if not network and isinstance(target, str) and not Path(target).exists():
            self._fail("file not found")
            return False
        if network:
            ms = int(OPEN_TIMEOUT_S * 1000)
            cap = cv2.VideoCapture(
                target, cv2.CAP_FFMPEG,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms],
            )  # fmt: skip
        else:
            cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            self._fail(
                f"cannot open (refused, unreachable or no answer within {OPEN_TIMEOUT_S:g} s)"
                if network
                else "cannot open (not a video OpenCV can read, or the device is busy)"
            )
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
            if self.uri.startswith((*NETWORK, "/dev/video")):
                self._cap.release()
                self._cap = None  # reconnect with backoff
                self._fail("stream stopped delivering frames; reconnecting")
            elif self.loop:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            else:
                self.ended = True
                self._fail("end of file (loop: false)")
            return None, ms
        self._recovered()
        return frame, ms

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
