from pathlib import Path

import pytest

from edgeplan.backends import BackendOptions, OpTiming
from edgeplan.bench.coldstart import measure_cold_start
from edgeplan.bench.opprofile import HostPeaks, measure_host_peaks, summarise_ops
from edgeplan.errors import EdgeplanError
from edgeplan.models.analysis import OpStat, StaticAnalysis

PEAKS = HostPeaks(gmacs_per_s=100.0, bandwidth_gb_per_s=10.0)  # ridge: 10 MACs per byte


def _static(ops: list[OpStat]) -> StaticAnalysis:
    return StaticAnalysis(
        params=0,
        weight_bytes=0,
        macs=sum(o.macs for o in ops),
        activation_bytes=sum(o.activation_bytes for o in ops),
        peak_activation_bytes=0,
        input_shapes={},
        ops=ops,
    )


@pytest.mark.parametrize(
    ("macs", "nbytes", "time_ms", "verdict"),
    [
        (1_000_000_000, 1_000_000, 12.0, "compute-bound"),  # 10 ms at peak compute
        (1_000_000, 100_000_000, 12.0, "memory-bound"),  # 10 ms at peak bandwidth
        (1_000, 1_000, 5.0, "overhead-bound"),  # needs microseconds, took 5 ms
    ],
)
def test_verdicts(macs: int, nbytes: int, time_ms: float, verdict: str) -> None:
    static = _static([OpStat("a", "Conv", macs=macs, activation_bytes=nbytes)])
    rows, model_verdict, reason = summarise_ops([OpTiming("a", "Conv", time_ms)], static, PEAKS)
    assert rows[0].verdict == verdict == model_verdict
    assert rows[0].share_pct == 100 and "measured here" in reason


def test_time_is_shared_by_class_and_sorted() -> None:
    static = _static([OpStat("c", "Conv", macs=10**9, activation_bytes=10**6)])
    timings = [
        OpTiming("c1", "FusedConv", 8.0),
        OpTiming("c2", "Conv", 2.0),
        OpTiming("r", "Reorder", 0.01),
    ]
    rows, _, _ = summarise_ops(timings, static, PEAKS)
    assert [r.op_type for r in rows] == ["FusedConv", "Conv", "Reorder"]
    assert rows[0].macs == pytest.approx(0.8e9, rel=1e-6) and rows[1].macs == pytest.approx(0.2e9)
    assert sum(r.share_pct for r in rows) == pytest.approx(100)


def test_no_profiler_gives_a_model_level_verdict() -> None:
    static = _static([OpStat("c", "CONV_2D", macs=10**9, activation_bytes=10**6)])
    rows, verdict, reason = summarise_ops([], static, PEAKS, model_ms=12.0)
    assert rows == [] and verdict == "compute-bound" and "whole-model" in reason
    assert summarise_ops([], static, PEAKS)[1] == "unknown"


def test_host_peaks_are_positive() -> None:
    p = measure_host_peaks()
    assert p.gmacs_per_s > 0.1 and p.bandwidth_gb_per_s > 0.1


def test_cold_start_in_a_fresh_process(fastestdet: Path) -> None:
    c = measure_cold_start(str(fastestdet), "onnxruntime", BackendOptions(threads=1))
    assert c.load_ms > 0 and c.first_inference_ms > 0
    assert c.rss_after_load_mib > c.rss_before_load_mib > 0
    assert c.peak_rss_mib >= c.rss_after_load_mib
    assert c.model_rss_delta_mib == pytest.approx(c.rss_after_load_mib - c.rss_before_load_mib)
    assert c.gpu_memory_mib is None or c.gpu_memory_mib > 0


def test_cold_start_reports_a_broken_model(tmp_path: Path, fastestdet: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(fastestdet.read_bytes()[:3000])
    with pytest.raises(EdgeplanError, match="cold-start"):
        measure_cold_start(str(bad), "onnxruntime", BackendOptions())
