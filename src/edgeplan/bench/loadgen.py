"""MLPerf LoadGen scenarios around a Session. Percentiles and throughput are taken from
LoadGen's own summary; the SUT also keeps (time, latency) per query for drift windows."""

import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import mlperf_loadgen as lg
import numpy as np

from edgeplan.backends.base import Session
from edgeplan.records.types import LatencyStats, ScenarioResult

Scenario = Literal["SingleStream", "MultiStream", "Server", "Offline"]
SCENARIOS: tuple[Scenario, ...] = ("SingleStream", "MultiStream", "Server", "Offline")


@dataclass
class RunSettings:
    """Knobs for one LoadGen run. Defaults suit a quick look; a real run wants
    duration_s >= 600 and min_queries >= 1024 (MLPerf's own minimums)."""

    duration_s: float = 10.0
    min_queries: int = 64
    streams: int = 8  # MultiStream samples per query
    target_qps: float | None = None  # Server
    latency_bound_ms: float | None = None  # Server
    expected_latency_ms: float = 10.0
    workers: int = 1  # Offline / Server concurrent workers
    log_dir: Path | None = None


@dataclass
class SampleLog:
    """(seconds since the run began, latency ms) per query, as the SUT saw it."""

    t0: float = field(default_factory=time.perf_counter)
    t_s: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)


_NS_FIELDS = {
    "latency_ms_min": "Min latency (ns)",
    "latency_ms_mean": "Mean latency (ns)",
    "latency_ms_p50": "50.00 percentile latency (ns)",
    "latency_ms_p90": "90.00 percentile latency (ns)",
    "latency_ms_p95": "95.00 percentile latency (ns)",
    "latency_ms_p99": "99.00 percentile latency (ns)",
    "latency_ms_max": "Max latency (ns)",
}


def parse_summary(text: str) -> dict[str, Any]:
    """Fields of `mlperf_log_summary.txt` we use: validity, throughput, latency percentiles."""

    def grab(label: str) -> str | None:
        m = re.search(rf"^{re.escape(label)}\s*:\s*(\S+)", text, re.MULTILINE)
        return m.group(1) if m else None

    out: dict[str, Any] = {"valid": grab("Result is") == "VALID"}
    for key in (
        "Samples per second",
        "QPS w/o loadgen overhead",
        "Completed samples per second",
        "Scheduled samples per second",
    ):
        if (v := grab(key)) is not None:
            out[key] = float(v)
    for key, label in _NS_FIELDS.items():
        if (v := grab(label)) is not None:
            out[key] = int(v) / 1e6
    return out


class _SUT:
    """Runs queries inline (SingleStream, MultiStream) or on worker threads (Offline, Server)."""

    def __init__(
        self, session: Session, samples: list[dict[str, np.ndarray]], workers: int, inline: bool
    ) -> None:
        self.session, self.samples, self.inline = session, samples, inline
        self.per_sample = False
        self.log = SampleLog()
        self.errors: list[str] = []
        self._q: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        if not inline:
            for t in self._threads:
                t.start()

    def _run(self, qs: list[Any]) -> None:
        start = time.perf_counter()
        for q in qs:
            try:
                self.session.run(self.samples[q.index])
            except Exception as exc:  # a failing run is recorded, LoadGen still gets its answer
                self.errors.append(str(exc))
        end = time.perf_counter()
        lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in qs])
        with self._lock:
            self.log.t_s.append(start - self.log.t0)
            self.log.latency_ms.append((end - start) * 1000)

    def _work(self) -> None:
        while (item := self._q.get()) is not None:
            self._run([item])

    def issue(self, qs: list[Any]) -> None:
        if self.inline and self.per_sample:
            for q in qs:  # Offline: one query of many samples, each answered when done
                self._run([q])
        elif self.inline:
            self._run(qs)
        else:
            for q in qs:
                self._q.put(q)

    def stop(self) -> None:
        if not self.inline:
            for _ in self._threads:
                self._q.put(None)
            for t in self._threads:
                t.join()


def _settings(scenario: Scenario, rs: RunSettings, n_samples: int) -> Any:
    ts = lg.TestSettings()
    ts.scenario = getattr(lg.TestScenario, scenario)
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_duration_ms = int(rs.duration_s * 1000)
    ts.min_query_count = rs.min_queries
    expected_ns = int(rs.expected_latency_ms * 1e6)
    if scenario == "SingleStream":
        ts.single_stream_expected_latency_ns = expected_ns
    elif scenario == "MultiStream":
        ts.multi_stream_samples_per_query = rs.streams
        ts.multi_stream_expected_latency_ns = expected_ns * rs.streams
        ts.min_query_count = max(8, rs.min_queries // rs.streams)
    elif scenario == "Server":
        ts.server_target_qps = rs.target_qps or 1000.0 / rs.expected_latency_ms
        ts.server_target_latency_ns = int((rs.latency_bound_ms or 100.0) * 1e6)
        ts.server_target_latency_percentile = 0.99
        ts.min_query_count = 1
    else:
        ts.offline_expected_qps = 1000.0 / rs.expected_latency_ms
        ts.min_query_count = 1
    ts.performance_sample_count_override = n_samples
    return ts


def run_scenario(
    session: Session,
    samples: list[dict[str, np.ndarray]],
    scenario: Scenario,
    rs: RunSettings,
) -> tuple[ScenarioResult, SampleLog]:
    """One LoadGen run; returns LoadGen's figures and the SUT's own per-query log."""
    # Inline: the query runs on LoadGen's issue thread (no hand-off). Offline with one worker is
    # inline too: a queue hop cost ~8% of Offline throughput on a 2-vCPU host.
    inline = scenario in ("SingleStream", "MultiStream") or (
        scenario == "Offline" and rs.workers == 1
    )
    sut_impl = _SUT(session, samples, rs.workers, inline)
    sut_impl.per_sample = scenario == "Offline"
    sut = lg.ConstructSUT(sut_impl.issue, lambda: None)
    qsl = lg.ConstructQSL(len(samples), len(samples), lambda _s: None, lambda _s: None)
    ts = _settings(scenario, rs, len(samples))
    with tempfile.TemporaryDirectory() as tmp:
        outdir = rs.log_dir or Path(tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        log_settings = lg.LogSettings()
        log_settings.log_output.outdir = str(outdir)
        log_settings.log_output.copy_summary_to_stdout = False
        log_settings.enable_trace = False
        t0 = time.perf_counter()
        lg.StartTestWithLogSettings(sut, qsl, ts, log_settings, "")
        wall_s = time.perf_counter() - t0
        summary = parse_summary((outdir / "mlperf_log_summary.txt").read_text())
    sut_impl.stop()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    if sut_impl.errors:
        raise RuntimeError(f"{len(sut_impl.errors)} inferences failed: {sut_impl.errors[0]}")
    return _result(scenario, rs, summary, sut_impl.log, wall_s), sut_impl.log


def _result(
    scenario: Scenario, rs: RunSettings, s: dict[str, Any], log: SampleLog, wall_s: float
) -> ScenarioResult:
    spq = rs.streams if scenario == "MultiStream" else 1
    latency = None
    if scenario != "Offline" and "latency_ms_p50" in s:
        latency = LatencyStats(
            samples=len(log.latency_ms), **{k: s[k] for k in _NS_FIELDS if k in s}
        )
    fps = s.get("Samples per second") or s.get("Completed samples per second")
    if fps is None and scenario == "MultiStream" and log.t_s:
        span = log.t_s[-1] + log.latency_ms[-1] / 1000 - log.t_s[0]
        fps = len(log.t_s) * spq / span  # LoadGen prints no samples/s for MultiStream
    if fps is None:
        fps = s.get("QPS w/o loadgen overhead", 0.0) * spq
    return ScenarioResult(
        scenario=scenario,
        valid=s["valid"],
        duration_s=wall_s,
        queries=len(log.latency_ms),
        samples_per_query=spq,
        latency=latency,
        throughput_fps=float(fps),
        target_qps=rs.target_qps if scenario == "Server" else None,
        latency_bound_ms=rs.latency_bound_ms if scenario == "Server" else None,
        settings={
            "min_duration_s": rs.duration_s,
            "min_queries": rs.min_queries,
            "workers": rs.workers if not scenario.endswith("Stream") else 1,
            "expected_latency_ms": round(rs.expected_latency_ms, 3),
        },
    )


def find_server_qps(
    session: Session,
    samples: list[dict[str, np.ndarray]],
    rs: RunSettings,
    qps_upper: float,
    steps: int = 5,
    progress: Callable[[str], None] | None = None,
) -> ScenarioResult:
    """Bisect the Server target QPS for the highest one whose p99 holds `rs.latency_bound_ms`."""
    bound = rs.latency_bound_ms or 100.0
    lo, hi = 0.0, qps_upper
    tried: list[dict[str, Any]] = []
    best: ScenarioResult | None = None
    last: ScenarioResult | None = None
    for _ in range(steps):
        qps = (lo + hi) / 2 if tried else qps_upper * 0.8
        run = RunSettings(**{**rs.__dict__, "target_qps": qps})
        res, _ = run_scenario(session, samples, "Server", run)
        p99 = res.latency.latency_ms_p99 if res.latency else float("inf")
        ok = p99 <= bound
        tried.append({"target_qps": round(qps, 2), "latency_ms_p99": round(p99, 3), "held": ok})
        if progress:
            progress(f"Server {qps:.1f} qps: p99 {p99:.2f} ms ({'held' if ok else 'broke'})")
        last = res
        if ok:
            lo, best = qps, res
        else:
            hi = qps
    final = best or last
    assert final is not None
    return final.model_copy(
        update={
            "server_search": tried,
            "latency_bound_ms": bound,
            "max_qps_under_bound": lo if best else 0.0,
        }
    )
