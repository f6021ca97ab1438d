"""An ordered chain of backends with health checks: on load failure, repeated errors or a p99
latency SLO breach, step down; after a quiet period, try the better level again (hysteresis).
With no level left, the agent runs degraded (motion events only) and says so."""

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.backends import BackendOptions
from edgeplan.data.predict import LoadedModel, load_model
from edgeplan.errors import EdgeplanError

log = logging.getLogger(__name__)


@dataclass
class Level:
    backend: str
    device: str
    model: LoadedModel | None = None
    failed_reason: str = ""
    failed_at: float = 0.0
    errors: int = 0
    latencies: deque = field(default_factory=lambda: deque(maxlen=50))


class FallbackChain:
    def __init__(
        self,
        model: Path,
        card: Path | None,
        backends: list[str],
        threads: int | None,
        score_threshold: float | None,
        slo_ms: float,
        max_errors: int,
        recover_after_s: float,
        window: int,
    ) -> None:
        self.model_path, self.card, self.threads = model, card, threads
        self.overrides = (
            {"score_threshold": score_threshold} if score_threshold is not None else None
        )
        self.levels = [Level(*(b.split(":", 1) if ":" in b else (b, "cpu"))) for b in backends]
        for lv in self.levels:
            lv.latencies = deque(maxlen=window)
        self.slo_ms, self.max_errors, self.recover_after_s = slo_ms, max_errors, recover_after_s
        self.active = -1
        self.transitions: list[dict[str, Any]] = []
        self._select()

    def _load(self, lv: Level) -> bool:
        if lv.model is not None:
            return True
        try:
            lv.model = load_model(
                self.model_path,
                lv.backend,
                BackendOptions(threads=self.threads, device=lv.device),  # type: ignore[arg-type]
                self.card,
                self.overrides,
            )
            return True
        except (EdgeplanError, OSError, RuntimeError) as exc:
            self._fail(lv, f"load failed: {exc}")
            return False

    def _fail(self, lv: Level, reason: str) -> None:
        lv.failed_reason, lv.failed_at, lv.model, lv.errors = reason, time.monotonic(), None, 0
        lv.latencies.clear()
        log.warning("backend %s:%s stepped down: %s", lv.backend, lv.device, reason)

    def _select(self) -> None:
        before = self.active
        now = time.monotonic()
        self.active = -1
        for i, lv in enumerate(self.levels):
            if lv.failed_reason and now - lv.failed_at < self.recover_after_s:
                continue
            if self._load(lv):
                lv.failed_reason = ""
                self.active = i
                break
        if self.active != before:
            self.transitions.append(
                {
                    "ts_unix": time.time(),
                    "from": self.label(before),
                    "to": self.label(self.active),
                    "reason": self.levels[before].failed_reason if before >= 0 else "start",
                }
            )

    def label(self, i: int | None = None) -> str:
        i = self.active if i is None else i
        return "degraded" if i < 0 else f"{self.levels[i].backend}:{self.levels[i].device}"

    @property
    def degraded(self) -> bool:
        return self.active < 0

    def maybe_recover(self) -> None:
        """Try better levels again once their quiet period is over."""
        if self.active != 0 and any(
            lv.failed_reason and time.monotonic() - lv.failed_at >= self.recover_after_s
            for lv in self.levels[: max(self.active, 0) or None]
        ):
            self._select()

    def infer(self, frame: np.ndarray) -> tuple[list[dict[str, Any]] | None, dict[str, float]]:
        """Decoded output and stage times (ms), or (None, {}) when degraded or this frame failed;
        failures move the chain down so the next frame uses the next level."""
        self.maybe_recover()
        if self.degraded:
            return None, {}
        lv = self.levels[self.active]
        assert lv.model is not None
        try:
            out, times = timed_predict(lv.model, frame)
        except Exception as exc:  # any runtime failure: count it, never crash the agent
            lv.errors += 1
            if lv.errors >= self.max_errors:
                self._fail(lv, f"{lv.errors} consecutive errors, last: {exc}")
                self._select()
            return None, {}
        lv.errors = 0
        lv.latencies.append(times["infer"])
        if len(lv.latencies) == lv.latencies.maxlen:
            p99 = float(np.percentile(lv.latencies, 99))
            if p99 > self.slo_ms and self.active < len(self.levels) - 1:
                self._fail(lv, f"infer p99 {p99:.1f} ms above the SLO {self.slo_ms:g} ms")
                self._select()
        return out, times


def timed_predict(
    model: LoadedModel, frame: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    from edgeplan.models.decoders import get_decoder
    from edgeplan.models.preprocess import preprocess

    t0 = time.perf_counter()
    x = preprocess(frame, model.card.input)
    t1 = time.perf_counter()
    out = model.session.run({model.session.input_names[0]: x})
    t2 = time.perf_counter()
    dets = get_decoder(model.card.decoder)(out, model.card, frame.shape[:2])
    t3 = time.perf_counter()
    return dets, {
        "preprocess": (t1 - t0) * 1000,
        "infer": (t2 - t1) * 1000,
        "postprocess": (t3 - t2) * 1000,
    }
