"""An ordered chain of (model, backend) levels with health checks: on a load failure, repeated
errors or a latency SLO breach, step down; after a quiet period, try the better level again
(hysteresis). With no level left, the agent runs degraded (motion events only) and says so.

The plan writes the chain: the chosen model on its backends, then the runner-up model on the same
device, then degraded mode."""

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import LoadedModel, load_model
from edgeplan.errors import EdgeplanError
from edgeplan.spec.agent import CameraConfig, Slo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LevelSpec:
    """One rung: a model file (and its card) on one backend and device."""

    model: Path
    card: Path | None
    backend: str
    device: str = "cpu"

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.device}"


@dataclass(frozen=True)
class ChainSettings:
    """What the chain checks, per camera."""

    slo_ms: float  # p99 of preprocess + infer + postprocess above this steps down
    max_errors: int
    recover_after_s: float
    window: int
    threads: int | None = None
    score_threshold: float | None = None


@dataclass
class Level:
    spec: LevelSpec
    model: LoadedModel | None = None
    failed_reason: str = ""
    failed_at: float = 0.0
    errors: int = 0
    latencies: deque = field(default_factory=lambda: deque(maxlen=50))


def _split(backend: str) -> tuple[str, str]:
    name, _, device = backend.partition(":")
    return name, device or "cpu"


def camera_levels(
    cfg: CameraConfig, base: Path, model: Path | None = None, card: Path | None = None
) -> list[LevelSpec]:
    """The chain a camera config describes; `model`/`card` replace the primary (an update)."""
    primary = model or base / cfg.model
    primary_card = card if model is not None else (base / cfg.card if cfg.card else None)
    levels = [LevelSpec(primary, primary_card, *_split(b)) for b in cfg.backends]
    for fb in cfg.fallback_models:
        fb_card = base / fb.card if fb.card else None
        levels += [LevelSpec(base / fb.model, fb_card, *_split(b)) for b in fb.backends]
    return levels


def chain_settings(cfg: CameraConfig, slo: Slo) -> ChainSettings:
    return ChainSettings(
        slo_ms=cfg.latency_budget_ms or slo.latency_ms_p99,
        max_errors=slo.max_consecutive_errors,
        recover_after_s=slo.recover_after_s,
        window=slo.window,
        threads=cfg.threads,
        score_threshold=cfg.score_threshold,
    )


class FallbackChain:
    def __init__(self, levels: list[LevelSpec], settings: ChainSettings) -> None:
        self.settings = settings
        self.overrides = (
            {"score_threshold": settings.score_threshold}
            if settings.score_threshold is not None
            else None
        )
        self.levels = [Level(spec, latencies=deque(maxlen=settings.window)) for spec in levels]
        self.active = -1
        self.transitions: list[dict[str, Any]] = []
        self._select()

    @classmethod
    def for_camera(
        cls,
        cfg: CameraConfig,
        slo: Slo,
        base: Path,
        model: Path | None = None,
        card: Path | None = None,
    ) -> "FallbackChain":
        return cls(camera_levels(cfg, base, model, card), chain_settings(cfg, slo))

    @property
    def model_path(self) -> Path:
        """The primary model (what this chain was built to run)."""
        return self.levels[0].spec.model

    @property
    def current(self) -> LoadedModel | None:
        return None if self.degraded else self.levels[self.active].model

    def _load(self, lv: Level) -> bool:
        if lv.model is not None:
            return True
        try:
            lv.model = load_model(
                lv.spec.model,
                lv.spec.backend,
                BackendOptions(threads=self.settings.threads, device=lv.spec.device),  # type: ignore[arg-type]
                lv.spec.card,
                self.overrides,
            )
            return True
        except (EdgeplanError, OSError, RuntimeError) as exc:
            self._fail(lv, f"load failed: {exc}")
            return False

    def _fail(self, lv: Level, reason: str) -> None:
        lv.failed_reason, lv.failed_at, lv.model, lv.errors = reason, time.monotonic(), None, 0
        lv.latencies.clear()
        log.warning("%s on %s stepped down: %s", lv.spec.model.name, lv.spec.label, reason)

    def _select(self) -> None:
        before = self.active
        now = time.monotonic()
        self.active = -1
        for i, lv in enumerate(self.levels):
            if lv.failed_reason and now - lv.failed_at < self.settings.recover_after_s:
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
        """`backend:device`, with the model file when it is not the primary one."""
        i = self.active if i is None else i
        if i < 0:
            return "degraded"
        spec = self.levels[i].spec
        extra = f" ({spec.model.name})" if spec.model != self.model_path else ""
        return spec.label + extra

    @property
    def degraded(self) -> bool:
        return self.active < 0

    def maybe_recover(self) -> None:
        """Try better levels again once their quiet period is over."""
        if self.active != 0 and any(
            lv.failed_reason and time.monotonic() - lv.failed_at >= self.settings.recover_after_s
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
            out, times = lv.model.timed(frame)
        except Exception as exc:  # any runtime failure: count it, never crash the agent
            lv.errors += 1
            if lv.errors >= self.settings.max_errors:
                self._fail(lv, f"{lv.errors} consecutive errors, last: {exc}")
                self._select()
            return None, {}
        lv.errors = 0
        lv.latencies.append(sum(times.values()))
        if len(lv.latencies) == lv.latencies.maxlen:
            p99 = float(np.percentile(lv.latencies, 99))
            if p99 > self.settings.slo_ms and self.active < len(self.levels) - 1:
                self._fail(
                    lv,
                    f"pre+infer+post p99 {p99:.1f} ms above the SLO {self.settings.slo_ms:g} ms",
                )
                self._select()
        return out, times
