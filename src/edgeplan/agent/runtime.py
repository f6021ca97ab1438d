"""The agent: per camera a reader thread (source -> bounded queue that drops the oldest) and a
worker thread (motion gate -> fallback chain -> events -> outbox); one dispatcher delivering the
outbox to the sinks with retries; a heartbeat. Nothing here lets one bad frame stop the agent."""

import json
import logging
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.agent.escalate import Escalator
from edgeplan.agent.events import Event
from edgeplan.agent.fallback import FallbackChain
from edgeplan.agent.gate import MotionGate
from edgeplan.agent.metrics import Metrics
from edgeplan.agent.outbox import Outbox
from edgeplan.agent.sinks import MqttSink, Sink, WebhookSink
from edgeplan.agent.source import Source
from edgeplan.errors import ConfigError
from edgeplan.spec.agent import AgentConfig, CameraConfig
from edgeplan.updates.manager import UpdateManager

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


class Agent:
    def __init__(self, cfg: AgentConfig, base: Path) -> None:
        self.cfg, self.base = cfg, base
        self.metrics = Metrics()
        self.stopping = threading.Event()
        self.quiescing = threading.Event()  # cameras stop producing; the outbox still drains
        ob = cfg.outbox
        self.outbox = Outbox(base / ob.path, ob.max_events, ob.overflow)
        self.sinks: list[Sink] = []
        if cfg.mqtt:
            q = cfg.mqtt
            self.sinks.append(MqttSink(q.host, q.port, q.topic, f"{q.client_id}-{cfg.site}"))
        if cfg.webhook:
            self.sinks.append(WebhookSink(cfg.webhook.url, cfg.webhook.timeout_s))
        self.cameras = [CameraRunner(c, base, self) for c in cfg.cameras]
        self.threads: list[threading.Thread] = []
        self.started = time.time()
        self._drops_counted = 0

    def emit(self, event: Event) -> None:
        self.metrics.events.labels(event.camera, event.kind).inc()
        self.outbox.put(event)  # written before it is sent

    def count_update(self, camera: str, step: str, outcome: str) -> None:
        self.metrics.updates.labels(camera, step, outcome).inc()

    def dispatcher(self) -> None:
        """Deliver the outbox oldest first. A failed send backs the whole queue off (doubling up
        to retry_max_s) and the same oldest event is tried first again: nothing newer overtakes
        it, so consumers see events in order."""
        ob = self.cfg.outbox
        failures, retry_at = 0, 0.0
        while not self.stopping.is_set():
            wait = retry_at - time.time()
            if wait > 0:
                self._gauges()
                self.stopping.wait(min(wait, 0.2))
                continue
            due = self.outbox.due()
            if not due or not self.sinks:
                self._gauges()
                self.stopping.wait(0.2)
                continue
            for seq, body in due:
                if all(s.send(body) for s in self.sinks):
                    self.outbox.ack(seq)  # deleted only after every sink acknowledged
                    for s in self.sinks:
                        self.metrics.delivered.labels(s.name).inc()
                    failures = 0
                    continue
                self.outbox.failed(seq)
                for s in self.sinks:
                    self.metrics.sink_errors.labels(s.name).inc()
                retry_at = time.time() + min(ob.retry_max_s, ob.retry_initial_s * 2**failures)
                failures += 1
                break
            self._gauges()

    def _gauges(self) -> None:
        self.metrics.outbox_depth.set(self.outbox.depth())
        self.metrics.outbox_age.set(self.outbox.oldest_age_s())
        new_drops = self.outbox.dropped - self._drops_counted
        if new_drops > 0:
            self.metrics.outbox_dropped.inc(new_drops)
            self._drops_counted += new_drops
        for c in self.cameras:
            if c.last_frame:
                self.metrics.last_frame.labels(c.cfg.id).set(time.time() - c.last_frame)

    def heartbeat(self) -> None:
        while not self.stopping.wait(self.cfg.heartbeat_s):
            self.emit(Event("agent", "heartbeat", None, note=f"ready={self.ready()}"))

    def watch_bundles(self) -> None:
        """Apply bundles dropped into the watched directory (each once)."""
        assert self.cfg.updates is not None and self.cfg.updates.watch_dir
        folder = self.base / self.cfg.updates.watch_dir
        folder.mkdir(parents=True, exist_ok=True)
        while not self.stopping.wait(1.0):
            for b in sorted(folder.glob("*.tar")):
                done = b.with_suffix(".applied")
                if done.exists():
                    continue
                try:
                    result = self.apply_update(b)
                except Exception as exc:  # the watch must outlive any one bundle
                    log.exception("bundle %s", b)
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                log.info("bundle %s: %s", b.name, result)
                try:
                    done.write_text(json.dumps(result))
                except OSError as exc:
                    log.warning("bundle %s: cannot record the result: %s", b.name, exc)

    def poll_url(self) -> None:
        """Poll the bundle URL with If-None-Match; a new ETag downloads and applies the bundle."""
        import httpx

        u = self.cfg.updates
        assert u is not None and u.url
        etag_file = self.base / u.state_dir / "url.etag"
        etag_file.parent.mkdir(parents=True, exist_ok=True)
        etag = etag_file.read_text().strip() if etag_file.exists() else None
        first = True
        while first or not self.stopping.wait(u.poll_s):
            first = False
            try:
                r = httpx.get(u.url, headers={"If-None-Match": etag} if etag else {}, timeout=30)
            except httpx.HTTPError as exc:
                log.warning("update URL %s: %s", u.url, exc)
                continue
            if r.status_code == 304 or r.status_code != 200:
                continue
            target = self.base / u.state_dir / "downloaded.tar"
            target.write_bytes(r.content)
            log.info(
                "update URL %s: new bundle (ETag %s): %s",
                u.url,
                r.headers.get("etag"),
                self.apply_update(target),
            )
            etag = r.headers.get("etag")
            if etag:
                etag_file.write_text(etag)

    def apply_update(self, bundle: Path) -> dict[str, str]:
        return {c.cfg.id: c.updates.submit(bundle) for c in self.cameras if c.updates}

    def rollback(self, reason: str) -> dict[str, str]:
        return {c.cfg.id: c.updates.rollback(reason) for c in self.cameras if c.updates}

    def ready(self) -> bool:
        """A backend is loaded and every camera produced a frame within its stall window."""
        return all(not c.chain.degraded and not c.status()["stalled"] for c in self.cameras)

    def status(self) -> dict[str, Any]:
        return {
            "site": self.cfg.site,
            "device": self.cfg.device,
            "ready": self.ready(),
            "uptime_s": time.time() - self.started,
            "cameras": [c.status() for c in self.cameras],
            "outbox": {
                "depth": self.outbox.depth(),
                "oldest_age_s": self.outbox.oldest_age_s(),
                "overflow_dropped": self.outbox.dropped,
            },
            "sinks": [s.name for s in self.sinks],
        }

    def start(self) -> None:
        for c in self.cameras:
            for fn in (c.reader, c.worker):
                self.threads.append(
                    threading.Thread(target=fn, daemon=True, name=f"{c.cfg.id}-{fn.__name__}")
                )
        self.threads.append(
            threading.Thread(target=self.dispatcher, daemon=True, name="dispatcher")
        )
        self.threads.append(threading.Thread(target=self.heartbeat, daemon=True, name="heartbeat"))
        if self.cfg.updates and self.cfg.updates.url:
            self.threads.append(threading.Thread(target=self.poll_url, daemon=True, name="poll"))
        if self.cfg.updates and self.cfg.updates.watch_dir:
            self.threads.append(
                threading.Thread(target=self.watch_bundles, daemon=True, name="watch")
            )
        for t in self.threads:
            t.start()

    def stop(self, drain_s: float = 2.0) -> None:
        """Stop producing, let the cameras finish the frame in hand, deliver what the outbox
        holds for up to `drain_s` (whatever is left stays there for the next start), then stop."""
        self.quiescing.set()
        for t in self.threads:
            if t.name.endswith(("-reader", "-worker")):
                t.join(timeout=3)
        end = time.time() + drain_s
        while self.outbox.depth() and time.time() < end and self.sinks:
            time.sleep(0.1)
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=3)
        for s in self.sinks:
            s.close()
        for c in self.cameras:
            c.source.close()
            if c.escalator is not None:
                c.escalator.close()
        self.outbox.close()
