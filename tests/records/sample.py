"""A complete record built by hand for store and planning tests (figures are not measurements)."""

from edgeplan.records.provenance import Provenance, host_fingerprint
from edgeplan.records.types import (
    CharacterisationRecord,
    ColdStart,
    EnergyReport,
    LatencyStats,
    ScenarioResult,
)


def _lat(p50: float) -> LatencyStats:
    return LatencyStats(
        samples=100,
        latency_ms_min=p50 * 0.9,
        latency_ms_mean=p50 * 1.05,
        latency_ms_p50=p50,
        latency_ms_p90=p50 * 1.2,
        latency_ms_p95=p50 * 1.3,
        latency_ms_p99=p50 * 1.5,
        latency_ms_max=p50 * 2,
    )


def sample_record(
    record_id: str = "r1", cache_key: str = "k1", p50: float = 5.0
) -> CharacterisationRecord:
    lat = _lat(p50)
    return CharacterisationRecord(
        record_id=record_id,
        cache_key=cache_key,
        model_sha256="0" * 64,
        model_path="m.onnx",
        model_format="onnx",
        backend="onnxruntime",
        precision="f32",
        threads=1,
        load_ms=10.0,
        first_inference_ms=8.0,
        latency_ms_p50=lat.latency_ms_p50,
        latency_ms_p90=lat.latency_ms_p90,
        latency_ms_p95=lat.latency_ms_p95,
        latency_ms_p99=lat.latency_ms_p99,
        throughput_fps=190.0,
        throughput_source="Offline",
        peak_rss_mib=80.0,
        model_rss_delta_mib=12.0,
        cold_start=ColdStart(
            import_ms=20,
            load_ms=10,
            first_inference_ms=8,
            rss_before_load_mib=50,
            rss_after_load_mib=62,
            model_rss_delta_mib=12,
            peak_rss_mib=80,
        ),
        scenarios=(
            ScenarioResult(
                scenario="SingleStream",
                valid=True,
                duration_s=1,
                queries=100,
                latency=lat,
                throughput_fps=180.0,
            ),
        ),
        stages={"infer": lat},
        stage_input="synthetic",
        sustained=None,
        concurrency=None,
        energy=EnergyReport(available=False, reason="none"),
        top_ops=(),
        bottleneck="unknown",
        bottleneck_reason="",
        static={"macs": 1},
        provenance=Provenance(source="measured", host=host_fingerprint()),
    )
