"""The update flow for one camera: verify -> stage (load, shape check) -> trial beside the current
model on live frames (latency p95/p99 vs the SLO, agreement and detection rate vs the current) ->
promote by an atomic swap between two frames -> watch window with automatic rollback. The active
and previous versions live in state.json, replaced atomically, so a kill -9 at any point leaves a
consistent version after restart."""

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgeplan.agent.events import Event
from edgeplan.agent.fallback import FallbackChain
from edgeplan.data.agreement import box_matches, f1
from edgeplan.errors import EdgeplanError
from edgeplan.spec.agent import Updates
from edgeplan.updates.bundle import unpack

log = logging.getLogger(__name__)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomic: write, fsync, rename."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Trial:
    version: str
    chain: FallbackChain
    latencies: list[float] = field(default_factory=list)
    agreement: list[float] = field(default_factory=list)
    cand_dets: int = 0
    curr_dets: int = 0


class CameraPort(Protocol):
    """What the update flow needs of one camera: its id and configured version, its current
    chain (swapped between two frames), and a way to build a chain for another model."""

    camera_id: str
    configured_version: str
    chain: FallbackChain

    def new_chain(self, model: Path | None = None, card: Path | None = None) -> FallbackChain:
        """The camera's chain with `model` as primary (None: the configured model)."""
        ...


class EventPort(Protocol):
    """Where the update flow reports: an event into the outbox, a counted outcome."""

    def emit(self, event: Event) -> None: ...

    def count_update(self, camera: str, step: str, outcome: str) -> None: ...


class UpdateManager:
    def __init__(self, cfg: Updates, camera: CameraPort, events: EventPort, base: Path) -> None:
        self.cfg, self.camera, self.events = cfg, camera, events
        self.pubkey = base / cfg.pubkey
        self.dir = base / cfg.state_dir / camera.camera_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "state.json"
        self.state = (
            json.loads(self.state_path.read_text())
            if self.state_path.exists()
            else {"active": None, "previous": None, "history": []}
        )
        self.trial: Trial | None = None
        self.watch: dict[str, Any] | None = None
        self.lock = threading.Lock()

    # -- the model the camera should run after a (re)start ------------------------------------
    def active_model(self) -> tuple[Path | None, Path | None, str | None]:
        """(model, card, version) of the promoted version, or Nones for the configured model."""
        a = self.state.get("active")
        if not a:
            return None, None, None
        return (*self._files(a), a)

    def _files(self, version: str) -> tuple[Path, Path | None]:
        folder = self.dir / "versions" / version
        card = self.state.get("cards", {}).get(version)
        return folder / self.state["files"][version], (folder / card if card else None)

    def _emit(self, step: str, ok: bool, note: str) -> None:
        cam = self.camera.camera_id
        self.events.count_update(cam, step, "ok" if ok else "refused")
        self.events.emit(
            Event(
                cam,
                "update",
                self.state.get("active") or self.camera.configured_version,
                note=f"{step}: {'ok' if ok else 'refused'}: {note}",
            )
        )
        self.state.setdefault("history", []).append(
            {"ts_unix": time.time(), "step": step, "ok": ok, "note": note}
        )
        self.state["history"] = self.state["history"][-50:]

    # -- verify and stage ------------------------------------------------------------------------
    def submit(self, bundle: Path) -> str:
        """Verify, stage and start the trial of a bundle. Never raises: whatever is wrong with
        it ends as a refusal, with an update event and the refused counter."""
        with self.lock:
            if self.trial or self.watch:
                return "busy: a trial or watch window is running"
            try:
                return self._submit(bundle)
            except EdgeplanError as exc:
                self._emit("verify", False, str(exc))
                return f"refused: {exc}"
            except Exception as exc:  # never let a bad bundle take the caller down
                log.exception("bundle %s", bundle)
                self._emit("verify", False, f"{bundle}: {type(exc).__name__}: {exc}")
                return f"refused: {type(exc).__name__}: {exc}"

    def _submit(self, bundle: Path) -> str:
        staging = self.dir / "versions" / f"staging-{int(time.time() * 1000)}"
        manifest = unpack(bundle, self.pubkey, staging)
        version = str(manifest["version"])
        final = self.dir / "versions" / version
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        self._emit("verify", True, f"version {version}: signature and hashes valid")
        card = manifest.get("card")
        chain = self.camera.new_chain(final / manifest["model"], final / card if card else None)
        current = self.camera.chain
        reason = self._incompatible(chain, current)
        if reason:
            self._emit("stage", False, f"version {version}: {reason}")
            return f"refused: {reason}"
        self.state.setdefault("files", {})[version] = manifest["model"]
        self.state.setdefault("cards", {})[version] = card
        write_state(self.state_path, {**self.state, "trial": version})
        self.trial = Trial(version, chain)
        self._emit("stage", True, f"version {version} loaded on {chain.label()}; trial starts")
        return f"trial: {version}"

    @staticmethod
    def _incompatible(new: FallbackChain, current: FallbackChain) -> str:
        if new.degraded:
            return f"cannot load: {new.levels[0].failed_reason}"
        if current.degraded or new.current is None or current.current is None:
            return ""
        a, b = new.current.session, current.current.session
        if list(a.input_shapes.values()) != list(b.input_shapes.values()):
            return (
                f"input shape {list(a.input_shapes.values())} differs from the current "
                f"{list(b.input_shapes.values())}"
            )
        if sorted(a.output_shapes) != sorted(b.output_shapes):
            return f"outputs {sorted(a.output_shapes)} differ from {sorted(b.output_shapes)}"
        return ""

    # -- called by the camera worker after the current model ran on a frame ----------------------
    def on_frame(self, frame: np.ndarray, current: list[dict] | None) -> None:
        if self.trial is not None:
            self._trial_frame(frame, current or [])
        elif self.watch is not None:
            self._watch_frame(frame, current)

    def _trial_frame(self, frame: np.ndarray, current: list[dict]) -> None:
        t = self.trial
        assert t is not None
        model = t.chain.current
        try:
            if model is None:
                raise RuntimeError(f"no inference path ({t.chain.label()})")
            dets, times = model.timed(frame)
        except Exception as exc:  # the candidate failing on a live frame ends its trial
            self._end_trial(False, f"inference failed on a live frame: {exc}")
            return
        t.latencies.append(sum(times.values()))
        t.agreement.append(f1(*box_matches(dets, current, 0.5)))
        t.cand_dets += len(dets)
        t.curr_dets += len(current)
        if len(t.latencies) < self.cfg.trial_frames:
            return
        p95, p99 = np.percentile(t.latencies, [95, 99])
        agree = float(np.mean(t.agreement))
        rate = (t.cand_dets + 1) / (t.curr_dets + 1)
        slo = t.chain.settings.slo_ms
        if p99 > slo:
            self._end_trial(
                False,
                f"pre+infer+post p99 {p99:.1f} ms (p95 {p95:.1f}) above the SLO {slo:g} ms",
            )
        elif agree < self.cfg.min_agreement:
            self._end_trial(
                False,
                f"agreement {agree:.2f} with the current model below {self.cfg.min_agreement}",
            )
        elif abs(rate - 1) > self.cfg.max_detection_rate_change:
            self._end_trial(False, f"detection rate x{rate:.2f} of the current model")
        else:
            self._promote(
                t,
                f"p99 {p99:.1f} ms, agreement {agree:.2f}, detection rate x{rate:.2f}",
                t.curr_dets / max(len(t.latencies), 1),
            )

    def _end_trial(self, ok: bool, note: str) -> None:
        version = self.trial.version if self.trial else "?"
        self.trial = None
        self.state.pop("trial", None)
        write_state(self.state_path, self.state)
        self._emit("trial", ok, f"version {version}: {note}")

    def _promote(self, t: Trial, note: str, baseline_rate: float) -> None:
        prev_chain, prev_version = self.camera.chain, self.state.get("active")
        self.state.update({"previous": prev_version, "active": t.version})
        self.state.pop("trial", None)
        write_state(self.state_path, self.state)  # the swap is durable before it is visible
        self.camera.chain = t.chain  # between two frames of this camera's worker: no gap
        self.trial = None
        self.watch = {
            "frames": 0,
            "prev_chain": prev_chain,
            "prev_version": prev_version,
            "baseline_rate": baseline_rate,
            "prev_dets": 0,
            "dets": 0,
            "version": t.version,
        }
        self._emit(
            "promote", True, f"version {t.version}: {note}; watching {self.cfg.watch_frames} frames"
        )

    def _watch_frame(self, frame: np.ndarray, current: list[dict] | None) -> None:
        """After promotion: the previous model shadows the new one on the same frames, so a
        detection-rate drift is measured against it, not against a scene that moved on."""
        w = self.watch
        assert w is not None
        w["frames"] += 1
        w["dets"] += len(current or [])
        prev = w["prev_chain"].current
        if prev is not None:
            try:
                w["prev_dets"] += len(prev.predict(frame))
            except Exception:  # the shadow failing is no reason to roll the new model back
                w["prev_dets"] += len(current or [])
        chain = self.camera.chain
        lat = chain.levels[chain.active].latencies if not chain.degraded else []
        slo = chain.settings.slo_ms
        if chain.degraded or (lat and np.percentile(list(lat), 99) > slo and len(lat) >= 5):
            why = "no inference path" if chain.degraded else "latency SLO breach"
            self.rollback(f"after promotion: {why}")
            return
        if w["frames"] >= self.cfg.watch_frames:
            rate = (w["dets"] + 1) / (w["prev_dets"] + 1)
            if abs(rate - 1) > self.cfg.max_detection_rate_change:
                self.rollback(
                    f"detection rate drifted to x{rate:.2f} of the previous model's on "
                    f"the same {w['frames']} frames"
                )
            else:
                self._emit(
                    "watch",
                    True,
                    f"version {w['version']} kept after {w['frames']} frames "
                    f"(detection rate x{rate:.2f} of the previous model)",
                )
                self.watch = None
                write_state(self.state_path, self.state)

    def rollback(self, reason: str) -> str:
        prev = self.state.get("previous")
        if self.watch is not None:
            chain = self.watch["prev_chain"]
        elif prev is not None:
            chain = self.camera.new_chain(*self._files(prev))
        else:
            chain = self.camera.new_chain()
        bad = self.state.get("active")
        self.state.update({"active": prev, "previous": bad})
        write_state(self.state_path, self.state)
        self.camera.chain = chain
        self.watch = None
        self._emit("rollback", True, f"from {bad} to {prev or 'the configured model'}: {reason}")
        return f"rolled back to {prev or 'the configured model'}"
