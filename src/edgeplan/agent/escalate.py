"""Escalation to the cloud tier (hybrid): uncertain frames go over the Open Inference Protocol
with a timeout and a budget; every escalation ends as refined, timeout, over_budget or error, and
is counted. The edge path never waits for it."""

import base64
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import httpx
import numpy as np

from edgeplan.spec.agent import Escalation

log = logging.getLogger(__name__)
OUTCOMES = ("refined", "timeout", "over_budget", "error")


class Escalator:
    def __init__(
        self, cfg: Escalation, on_result: Callable[[str, list[dict[str, Any]] | None, dict], None]
    ) -> None:
        self.cfg, self.on_result = cfg, on_result
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="escalate")
        self._client = httpx.Client(timeout=cfg.timeout_s)
        self._lock = threading.Lock()
        self._sent: deque[tuple[float, int]] = deque()  # (time, bytes) in the last minute
        self._day, self._spent_usd = time.strftime("%Y-%m-%d"), 0.0
        self.counts = dict.fromkeys(OUTCOMES, 0)

    def uncertain(self, dets: list[dict[str, Any]]) -> bool:
        lo, hi = self.cfg.band
        return any(lo <= d["score"] < hi for d in dets)

    def _budget_ok(self, nbytes: int) -> bool:
        now = time.time()
        with self._lock:
            while self._sent and now - self._sent[0][0] > 60:
                self._sent.popleft()
            if time.strftime("%Y-%m-%d") != self._day:
                self._day, self._spent_usd = time.strftime("%Y-%m-%d"), 0.0
            kbps = (sum(b for _, b in self._sent) + nbytes) * 8 / 1000 / 60
            if (
                len(self._sent) >= self.cfg.max_per_minute
                or kbps > self.cfg.max_uplink_kbps
                or self._spent_usd + self.cfg.usd_per_escalation > self.cfg.max_usd_per_day
            ):
                return False
            self._sent.append((now, nbytes))
            self._spent_usd += self.cfg.usd_per_escalation
            return True

    def submit(self, frame: np.ndarray, context: dict) -> str | None:
        """Escalate unless the budget says no; returns 'over_budget' synchronously, else None."""
        ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        if not ok or not self._budget_ok(len(jpg)):
            self._count("over_budget" if ok else "error")
            self.on_result("over_budget" if ok else "error", None, context)
            return "over_budget"
        self._pool.submit(self._call, jpg.tobytes(), context)
        return None

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1

    def _call(self, jpg: bytes, context: dict) -> None:
        body = {
            "inputs": [
                {
                    "name": "image",
                    "shape": [1],
                    "datatype": "BYTES",
                    "data": [base64.b64encode(jpg).decode()],
                    "parameters": {"content_type": "base64"},
                }
            ]
        }
        url = f"{(self.cfg.url or '').rstrip('/')}/v2/models/{self.cfg.model}/infer"
        try:
            r = self._client.post(url, json=body)
            r.raise_for_status()
            import json

            dets = json.loads(r.json()["outputs"][0]["data"][0])
            if isinstance(dets, dict) and "error" in dets:
                raise ValueError(dets["error"])
            outcome, result = "refined", dets
        except httpx.TimeoutException:
            outcome, result = "timeout", None
        except Exception as exc:  # refused connection, 5xx, bad payload: counted, never fatal
            log.debug("escalation failed: %s", exc)
            outcome, result = "error", None
        self._count(outcome)
        self.on_result(outcome, result, context)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
