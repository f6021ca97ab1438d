"""One camera in the agent: a reader thread (source -> bounded queue that drops the oldest) and a
worker thread (motion gate -> fallback chain -> events -> the agent's outbox), with its status.
A bad frame or a broken stream is counted and reported, never fatal."""

import logging
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeplan.agent.escalate import Escalator
from edgeplan.agent.events import Event
from edgeplan.agent.fallback import FallbackChain
from edgeplan.agent.gate import MotionGate
from edgeplan.agent.source import Source
from edgeplan.errors import ConfigError
from edgeplan.spec.agent import CameraConfig
from edgeplan.updates.manager import UpdateManager

if TYPE_CHECKING:
    from edgeplan.agent.runtime import Agent

log = logging.getLogger(__name__)


def source_path(source: str, base: Path) -> str:
    """A URL or device as given; a file path relative to the config's folder."""
    if "://" in source or source.startswith("/dev/"):
        return source
    return str(base / source)


class CameraRunner:
    """One camera: reader and worker threads. Implements the update flow's CameraPort."""

    def __init__(self, cfg: CameraConfig, base: Path, agent: "Agent") -> None:
        self.cfg, self.agent, self.m, self.base = cfg, agent, agent.metrics, base
        self.camera_id, self.configured_version = cfg.id, cfg.model_version
        if cfg.source is None:  # agent run refuses this config before it gets here
            raise ConfigError(f"camera {cfg.id}: no source")
        self.source = Source(source_path(cfg.source, base), cfg.loop, cfg.fps_cap)
        self.queue: deque[tuple[np.ndarray, float, int]] = deque(maxlen=cfg.queue_size)
        self.cond = threading.Condition()
        self.gate = MotionGate(cfg.motion.min_area_px, cfg.motion.history, cfg.motion.warmup_frames)
        self.updates: UpdateManager | None = None
        model, card, self.version = None, None, cfg.model_version
        if agent.cfg.updates is not None:
            self.updates = UpdateManager(agent.cfg.updates, self, agent, base)
            active, active_card, version = self.updates.active_model()
            if active is not None:  # the promoted version survives restarts
                model, card, self.version = active, active_card, version or self.version
        self.chain = self.new_chain(model, card)
        self.escalator: Escalator | None = None
        if cfg.escalation is not None:
            self.escalator = Escalator(cfg.escalation, self._escalated)
        self.last_frame = 0.0
        self.frames = 0
        self.frames_in = 0
        self.dropped: Counter[str] = Counter()
        self.escalation_candidates = 0
        self.processed = 0
        self.last_degraded_event = 0.0
        self.lat_ms: deque[float] = deque(maxlen=500)

    def _drop(self, reason: str) -> None:
        self.m.frames_dropped.labels(self.cfg.id, reason).inc()
        self.dropped[reason] += 1

    def new_chain(self, model: Path | None = None, card: Path | None = None) -> FallbackChain:
        """This camera's chain, with `model` (and its card) as primary when given."""
        return FallbackChain.for_camera(self.cfg, self.agent.cfg.slo, self.base, model, card)

    def reader(self) -> None:
        idx = 0
        while not self.agent.quiescing.is_set():
            try:
                frame, decode_ms = self.source.read()
            except Exception as exc:  # a broken stream is reported, never fatal
                log.warning("camera %s: source error: %s", self.cfg.id, exc)
                self._drop("decode_error")
                time.sleep(0.5)
                continue
            if frame is None:
                continue
            idx += 1
            self.last_frame = time.time()
            self.m.frames_in.labels(self.cfg.id).inc()
            self.frames_in += 1
            with self.cond:
                if len(self.queue) == self.queue.maxlen:
                    self._drop("queue_full")
                self.queue.append((frame, decode_ms, idx))
                self.cond.notify()

    def worker(self) -> None:
        while not self.agent.quiescing.is_set():
            with self.cond:
                if not self.queue:
                    self.cond.wait(timeout=0.2)
                    continue
                frame, decode_ms, idx = self.queue.popleft()
            try:
                self._process(frame, decode_ms, idx)
            except Exception as exc:  # the agent never crashes on a bad frame
                log.exception("camera %s frame %d: %s", self.cfg.id, idx, exc)
                self._drop("processing_error")

    def _process(self, frame: np.ndarray, decode_ms: float, idx: int) -> None:
        cid, ver = self.cfg.id, self.version
        t0 = time.perf_counter()
        if self.cfg.motion.enabled:
            moving, area = self.gate.moving(frame)
            if not moving:
                self._drop("no_motion")
                return
        else:
            moving, area = True, 0.0
        dets, times = self.chain.infer(frame)
        self.m.fallback_level.labels(cid).set(self.chain.active)
        if self.updates is not None:
            self.updates.on_frame(frame, dets)  # trial / watch; may swap self.chain (no gap)
            self.version = self.updates.state.get("active") or self.cfg.model_version
        if dets is None:
            if self.chain.degraded and time.time() - self.last_degraded_event >= 1.0:
                self.last_degraded_event = time.time()
                self.agent.emit(
                    Event(
                        cid,
                        "degraded",
                        ver,
                        degraded=True,
                        frame_index=idx,
                        note=f"no inference path; motion area {area:.0f} px",
                    )
                )
            self._drop("degraded" if self.chain.degraded else "inference_error")
            return
        total = decode_ms + (time.perf_counter() - t0) * 1000
        for stage, ms in (("decode", decode_ms), *times.items(), ("end_to_end", total)):
            self.m.stage.labels(cid, ver, stage).observe(ms / 1000)
        self.lat_ms.append(total)
        self.processed += 1
        self.m.frames_processed.labels(cid).inc()
        if dets:
            current = self.chain.current
            labels = current.card.labels if current is not None else None
            for d in dets:
                if labels and 0 <= d.get("label", -1) < len(labels):
                    d["name"] = labels[d["label"]]
            event = Event(
                cid,
                "detection",
                ver,
                detections=dets,
                backend=self.chain.label(),
                latency_ms=round(total, 3),
                frame_index=idx,
            )
            if self.escalator is not None and self.escalator.uncertain(dets):
                self.escalation_candidates += 1
                refused = self.escalator.submit(
                    frame, {"edge_event_id": event.event_id, "frame_index": idx}
                )
                event.note = (
                    f"uncertain; not escalated: {refused}"
                    if refused
                    else "escalated to the cloud tier"
                )
            self.agent.emit(event)

    def _escalated(self, outcome: str, dets: list | None, context: dict) -> None:
        """Called when an escalation ends: count it; a refined answer becomes its own event."""
        self.m.escalations.labels(self.cfg.id, outcome).inc()
        if outcome == "refined" and dets is not None:
            self.agent.emit(
                Event(
                    self.cfg.id,
                    "refined",
                    f"{self.cfg.model_version}+cloud",
                    detections=dets,
                    backend="cloud",
                    frame_index=context["frame_index"],
                    note=f"refines {context['edge_event_id']}",
                )
            )

    def _update_status(self) -> dict[str, Any] | None:
        if self.updates is None:
            return None
        st = self.updates.state
        return {
            "active": st.get("active"),
            "previous": st.get("previous"),
            "trial": self.updates.trial.version if self.updates.trial else None,
            "history": st.get("history", [])[-5:],
        }

    def status(self) -> dict[str, Any]:
        age = time.time() - self.last_frame if self.last_frame else None
        lat = np.percentile(self.lat_ms, [50, 99]).tolist() if self.lat_ms else None
        cur = self.chain.current
        return {
            "camera": self.cfg.id,
            "model": str(cur.file.path if cur else self.chain.model_path),
            "model_sha256": cur.file.sha256 if cur else None,
            "model_version": self.version,
            "updates": self._update_status(),
            "backend": self.chain.label(),
            "degraded": self.chain.degraded,
            "fallback_level": self.chain.active,
            "last_frame_age_s": age,
            "stalled": age is None or age > self.cfg.stall_s,
            "frames_in": self.frames_in,
            "frames_processed": self.processed,
            "frames_dropped": dict(self.dropped),
            "escalation_candidates": self.escalation_candidates,
            "end_to_end_ms_p50_p99": lat,
            "transitions": self.chain.transitions[-10:],
            "source_reconnects": self.source.reconnects,
            "source_ended": self.source.ended,
            "source_error": self.source.error or None,
            "escalations": dict(self.escalator.counts) if self.escalator else None,
        }
