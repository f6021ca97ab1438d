"""The update flow for one camera: verify -> stage (load, shape check) -> trial beside the current
model on live frames (latency p95/p99 vs the SLO, agreement and detection rate vs the current) ->
promote by an atomic swap between two frames -> watch window with automatic rollback. The active
and previous versions live in state.json, replaced atomically, so a kill -9 at any point leaves a
consistent version after restart."""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.agent.events import Event
from edgeplan.agent.fallback import FallbackChain, timed_predict
from edgeplan.data.agreement import box_matches, f1
from edgeplan.errors import EdgeplanError
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


class UpdateManager:
    def __init__(self, runner: Any, agent: Any, base: Path) -> None:
        u = agent.cfg.updates
        self.runner, self.agent, self.cfg = runner, agent, u
        self.pubkey = base / u.pubkey
        self.dir = base / u.state_dir / runner.cfg.id
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
    def active_model(self) -> tuple[Path | None, str | None]:
        a = self.state.get("active")
        if not a:
            return None, None
        return self.dir / "versions" / a / self.state["files"][a], a

    def _emit(self, step: str, ok: bool, note: str) -> None:
        self.agent.metrics.updates.labels(self.runner.cfg.id, step, "ok" if ok else "refused").inc()
        self.agent.emit(
            Event(
                self.runner.cfg.id,
                "update",
                self.runner.cfg.model_version,
                note=f"{step}: {'ok' if ok else 'refused'}: {note}",
            )
        )
        self.state.setdefault("history", []).append(
            {"ts_unix": time.time(), "step": step, "ok": ok, "note": note}
        )
        self.state["history"] = self.state["history"][-50:]

    def _chain(self, model: Path) -> FallbackChain:
        c, s = self.runner.cfg, self.agent.cfg.slo
        return FallbackChain(
            model,
            None,
            c.backends,
            c.threads,
            c.score_threshold,
            s.latency_ms_p99,
            s.max_consecutive_errors,
            s.recover_after_s,
            s.window,
        )

    # -- verify and stage ------------------------------------------------------------------------
    def submit(self, bundle: Path) -> str:
        with self.lock:
            if self.trial or self.watch:
                return "busy: a trial or watch window is running"
            try:
                staging = self.dir / "versions" / f"staging-{int(time.time() * 1000)}"
                manifest = unpack(bundle, self.pubkey, staging)
            except EdgeplanError as exc:
                self._emit("verify", False, str(exc))
                return f"refused: {exc}"
            version = str(manifest["version"])
            final = self.dir / "versions" / version
            if final.exists():
                import shutil

                shutil.rmtree(final)
            staging.rename(final)
            self._emit("verify", True, f"version {version}: signature and hashes valid")
            model = final / manifest["model"]
            chain = self._chain(model)
            current = self.runner.chain
            reason = self._incompatible(chain, current)
            if reason:
                self._emit("stage", False, f"version {version}: {reason}")
                return f"refused: {reason}"
            self.state.setdefault("files", {})[version] = manifest["model"]
            write_state(self.state_path, {**self.state, "trial": version})
            self.trial = Trial(version, chain)
            self._emit("stage", True, f"version {version} loaded on {chain.label()}; trial starts")
            return f"trial: {version}"

    @staticmethod
    def _incompatible(new: FallbackChain, current: FallbackChain) -> str:
        if new.degraded:
            return f"cannot load: {new.levels[0].failed_reason}"
        if current.degraded:
            return ""
        a = new.levels[new.active].model.session  # type: ignore[union-attr]
        b = current.levels[current.active].model.session  # type: ignore[union-attr]
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
        lv = t.chain.levels[t.chain.active]
        try:
            dets, times = timed_predict(lv.model, frame)  # type: ignore[arg-type]
        except Exception as exc:  # the candidate failing on a live frame ends its trial
            self._end_trial(False, f"inference failed on a live frame: {exc}")
            return
        t.latencies.append(times["infer"])
        t.agreement.append(f1(*box_matches(dets, current, 0.5)))
        t.cand_dets += len(dets)
        t.curr_dets += len(current)
        if len(t.latencies) < self.cfg.trial_frames:
            return
        p95, p99 = np.percentile(t.latencies, [95, 99])
        agree = float(np.mean(t.agreement))
        rate = (t.cand_dets + 1) / (t.curr_dets + 1)
        slo = self.agent.cfg.slo.latency_ms_p99
        if p99 > slo:
            self._end_trial(
                False, f"infer p99 {p99:.1f} ms (p95 {p95:.1f}) above the SLO {slo:g} ms"
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
        prev_chain, prev_version = self.runner.chain, self.state.get("active")
        self.state.update({"previous": prev_version, "active": t.version})
        self.state.pop("trial", None)
        write_state(self.state_path, self.state)  # the swap is durable before it is visible
        self.runner.chain = t.chain  # between two frames of this camera's worker: no gap
        self.runner.cfg_version = t.version
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
        prev = w["prev_chain"]
        if not prev.degraded:
            try:
                w["prev_dets"] += len(timed_predict(prev.levels[prev.active].model, frame)[0])
            except Exception:  # the shadow failing is no reason to roll the new model back
                w["prev_dets"] += len(current or [])
        chain = self.runner.chain
        lat = chain.levels[chain.active].latencies if not chain.degraded else []
        slo = self.agent.cfg.slo.latency_ms_p99
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
            chain = self._chain(self.dir / "versions" / prev / self.state["files"][prev])
        else:
            chain = self._chain(self.runner.base_model)
        bad = self.state.get("active")
        self.state.update({"active": prev, "previous": bad})
        write_state(self.state_path, self.state)
        self.runner.chain = chain
        self.watch = None
        self._emit("rollback", True, f"from {bad} to {prev or 'the configured model'}: {reason}")
        return f"rolled back to {prev or 'the configured model'}"
