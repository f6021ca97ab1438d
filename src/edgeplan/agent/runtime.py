"""The agent: its cameras (camera.py: per camera a reader and a worker thread), one dispatcher
delivering the outbox to the sinks in order with retries, a heartbeat, bundle updates, and a
graceful stop that drains. Nothing here lets one bad frame stop the agent."""

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from edgeplan.agent.camera import CameraRunner
from edgeplan.agent.events import Event
from edgeplan.agent.metrics import Metrics
from edgeplan.agent.outbox import Outbox
from edgeplan.agent.sinks import MqttSink, Sink, WebhookSink
from edgeplan.spec.agent import AgentConfig

log = logging.getLogger(__name__)


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
