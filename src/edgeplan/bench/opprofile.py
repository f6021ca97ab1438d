"""Per-op profile -> top op types by measured time, and a bottleneck verdict.

Each op type's measured time is set against the roofline time its static MACs and bytes need on
this host (peak GEMM rate and copy bandwidth, both measured here by small microbenchmarks):
compute-bound when its arithmetic intensity is above the host's ridge point, memory-bound when
below, overhead-bound when it takes far longer than either bound allows (dispatch, reorders, tiny
kernels). The model's verdict is the class holding most of the measured time.
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

import numpy as np

from edgeplan.backends.base import OpTiming
from edgeplan.models.analysis import StaticAnalysis
from edgeplan.records.types import OpTime

Verdict = Literal["compute-bound", "memory-bound", "overhead-bound", "unknown"]

# Runtime op names -> a common class so static (graph) and measured (runtime) ops can be joined.
_CLASS = {
    "Conv": "conv",
    "FusedConv": "conv",
    "Convolution": "conv",
    "GroupConvolution": "conv",
    "CONV_2D": "conv",
    "DEPTHWISE_CONV_2D": "conv",
    "QLinearConv": "conv",
    "ConvInteger": "conv",
    "ConvTranspose": "conv",
    "TRANSPOSE_CONV": "conv",
    "MatMul": "matmul",
    "Gemm": "matmul",
    "FusedMatMul": "matmul",
    "FullyConnected": "matmul",
    "FULLY_CONNECTED": "matmul",
    "QLinearMatMul": "matmul",
    "MatMulInteger": "matmul",
}
OVERHEAD_FACTOR = 8.0  # measured time this many times the roofline bound -> overhead-bound


@dataclass(frozen=True)
class HostPeaks:
    """Measured on this host: float32 GEMM rate and memory copy bandwidth."""

    gmacs_per_s: float
    bandwidth_gb_per_s: float

    @property
    def ridge_macs_per_byte(self) -> float:
        return self.gmacs_per_s / self.bandwidth_gb_per_s


@lru_cache(maxsize=1)
def measure_host_peaks() -> HostPeaks:
    """~0.3 s of microbenchmarks: best of a few 512^3 GEMMs and 64 MiB copies."""
    a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    gmacs = 512**3 / best / 1e9
    src = np.ones(16 * 2**20, dtype=np.float32)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return HostPeaks(gmacs_per_s=gmacs, bandwidth_gb_per_s=2 * src.nbytes / best / 1e9)


def _op_class(op_type: str) -> str:
    return _CLASS.get(op_type, op_type)


def _verdict(macs: int, nbytes: int, time_ms: float, calls: int, peaks: HostPeaks) -> str:
    if macs == 0 and nbytes == 0:
        return "overhead-bound" if time_ms / max(calls, 1) < 0.05 else "unknown"
    t_compute = macs / (peaks.gmacs_per_s * 1e9) * 1000
    t_memory = nbytes / (peaks.bandwidth_gb_per_s * 1e9) * 1000
    if time_ms > OVERHEAD_FACTOR * max(t_compute, t_memory):
        return "overhead-bound"
    return "compute-bound" if t_compute >= t_memory else "memory-bound"


def model_level_verdict(
    static: StaticAnalysis, peaks: HostPeaks, model_ms: float
) -> tuple[str, str]:
    """Whole-model roofline verdict, for backends without a per-op profiler."""
    if model_ms <= 0:
        return "unknown", "no per-op profiler and no measured latency"
    nbytes = static.weight_bytes + static.activation_bytes
    verdict = _verdict(static.macs, nbytes, model_ms, len(static.ops), peaks)
    return verdict, (
        f"whole-model roofline (this backend has no per-op profiler): {static.macs / 1e6:.0f} "
        f"MMACs and {nbytes / 2**20:.1f} MiB in {model_ms:.2f} ms = "
        f"{static.macs / model_ms / 1e6:.1f} GMAC/s vs host float32 GEMM peak "
        f"{peaks.gmacs_per_s:.1f} GMAC/s, copy bandwidth {peaks.bandwidth_gb_per_s:.1f} GB/s"
    )


def summarise_ops(
    timings: list[OpTiming],
    static: StaticAnalysis,
    peaks: HostPeaks,
    model_ms: float = 0.0,
    top: int = 10,
) -> tuple[list[OpTime], str, str]:
    """Top op types by time with verdicts; the model's bottleneck and the reason for it."""
    if not timings:
        return [], *model_level_verdict(static, peaks, model_ms)
    time_by: dict[str, float] = defaultdict(float)
    calls_by: dict[str, int] = defaultdict(int)
    for t in timings:
        time_by[t.op_type] += t.time_ms
        calls_by[t.op_type] += 1
    static_by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for op in static.ops:
        row = static_by[_op_class(op.op_type)]
        row[0] += op.macs
        row[1] += op.weight_bytes + op.activation_bytes
    # Share each class's static cost among the runtime op types of that class, by measured time.
    class_time: dict[str, float] = defaultdict(float)
    for op_type, ms in time_by.items():
        class_time[_op_class(op_type)] += ms
    total = sum(time_by.values())
    rows = []
    for op_type, ms in time_by.items():
        cls = _op_class(op_type)
        share = ms / class_time[cls] if class_time[cls] else 0.0
        macs, nbytes = (int(v * share) for v in static_by.get(cls, [0, 0]))
        rows.append(
            OpTime(
                op_type=op_type,
                calls=calls_by[op_type],
                time_ms=ms,
                share_pct=100 * ms / total,
                macs=macs,
                bytes_moved=nbytes,
                verdict=cast(Verdict, _verdict(macs, nbytes, ms, calls_by[op_type], peaks)),
            )
        )
    rows.sort(key=lambda r: -r.time_ms)
    by_verdict: dict[str, float] = defaultdict(float)
    for r in rows:
        by_verdict[r.verdict] += r.share_pct
    verdict = max(by_verdict, key=lambda k: by_verdict[k])
    achieved = static.macs / (total / 1000) / 1e9 if total else 0.0
    reason = (
        f"{by_verdict[verdict]:.0f}% of op time is {verdict}; model runs at {achieved:.1f} GMAC/s "
        f"vs host GEMM peak {peaks.gmacs_per_s:.1f} GMAC/s and copy bandwidth "
        f"{peaks.bandwidth_gb_per_s:.1f} GB/s (both measured here)"
    )
    return rows[:top], verdict, reason
