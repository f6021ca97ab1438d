"""Frozen measurement records. Units are in every field name; provenance is on every record."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgeplan.records.accuracy import Metric
from edgeplan.records.provenance import Provenance

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class LatencyStats(BaseModel):
    """Percentiles of a latency sample, in milliseconds."""

    model_config = _FROZEN

    samples: int
    latency_ms_min: float
    latency_ms_mean: float
    latency_ms_p50: float
    latency_ms_p90: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_ms_max: float


class ColdStart(BaseModel):
    """Session creation and first inference, measured in a fresh subprocess, plus its memory."""

    model_config = _FROZEN

    import_ms: float = Field(description="Importing the runtime package, before load.")
    load_ms: float
    first_inference_ms: float
    rss_before_load_mib: float
    rss_after_load_mib: float
    model_rss_delta_mib: float = Field(description="RSS after load minus before: the model's cost.")
    peak_rss_mib: float = Field(description="Process high-water mark after warm inferences.")
    gpu_memory_mib: float | None = Field(None, description="NVML used memory, when a GPU exists.")


class ScenarioResult(BaseModel):
    """One MLPerf LoadGen run (figures taken from LoadGen's own summary)."""

    model_config = _FROZEN

    scenario: Literal["SingleStream", "MultiStream", "Server", "Offline"]
    valid: bool = Field(description="LoadGen's own VALID/INVALID verdict.")
    duration_s: float
    queries: int
    samples_per_query: int = 1
    latency: LatencyStats | None = Field(
        None, description="Per-query latency; None for Offline, where it is meaningless."
    )
    throughput_fps: float = Field(description="Samples per second as LoadGen reports it.")
    target_qps: float | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    server_search: list[dict[str, Any]] | None = Field(
        None, description="Server: each QPS tried with its p99 and whether it held the bound."
    )
    max_qps_under_bound: float | None = None
    latency_bound_ms: float | None = None


class Window(BaseModel):
    """Latency in one time window of a sustained run."""

    model_config = _FROZEN

    start_s: float
    samples: int
    latency_ms_p50: float
    latency_ms_p99: float


class SustainedResult(BaseModel):
    """A sustained run: latency per window and how it drifted."""

    model_config = _FROZEN

    duration_s: float
    windows: tuple[Window, ...]
    p50_slope_ms_per_min: float = Field(description="Least-squares slope of window p50 over time.")
    last_vs_first_p99_ratio: float
    windows_disagree: bool = Field(
        description="True when window p50s spread more than 25%: a noisy host, rerun or compare"
        " interleaved."
    )
    cpu_mhz: tuple[float, ...] = Field((), description="Mean CPU clock per window, when readable.")
    temperature_c: tuple[float, ...] = Field((), description="Max thermal zone per window.")
    clock_source: str | None = None


class StreamResult(BaseModel):
    """One camera stream in a concurrency run."""

    model_config = _FROZEN

    stream: int
    demanded_fps: float
    achieved_fps: float
    frames_offered: int
    frames_processed: int
    frames_dropped: int
    latency_ms_p99: float | None


class ConcurrencyResult(BaseModel):
    """k streams at a demanded fps sharing this host."""

    model_config = _FROZEN

    streams: tuple[StreamResult, ...]
    duration_s: float
    demanded_fps: float
    total_achieved_fps: float
    keeps_up: bool = Field(description="Every stream achieved >= 95% of the demanded fps.")


class EnergyReport(BaseModel):
    """Energy from real counters, or an explicit statement that none were readable."""

    model_config = _FROZEN

    available: bool
    counters: tuple[str, ...] = ()
    energy_mj_per_frame: float | None = None
    power_w_mean: float | None = None
    reason: str = ""


class OpTime(BaseModel):
    """One op type's share of measured execution time, with the static cost that explains it."""

    model_config = _FROZEN

    op_type: str
    calls: int
    time_ms: float = Field(description="Measured time per inference summed over calls.")
    share_pct: float
    macs: int
    bytes_moved: int
    verdict: Literal["compute-bound", "memory-bound", "overhead-bound", "unknown"]


class CharacterisationRecord(BaseModel):
    """Everything `edgeplan characterise` measured for one model x backend x options on one host."""

    model_config = _FROZEN

    kind: Literal["characterisation"] = "characterisation"
    record_id: str
    device_id: str | None = Field(
        None, description="Catalogue device it was measured on, for records imported from a device."
    )
    cache_key: str
    model_sha256: str
    model_path: str
    model_format: str
    backend: str
    precision: str
    threads: int | None
    load_ms: float
    first_inference_ms: float
    latency_ms_p50: float
    latency_ms_p90: float
    latency_ms_p95: float
    latency_ms_p99: float
    throughput_fps: float
    throughput_source: str = Field(description="Which run the throughput comes from.")
    peak_rss_mib: float
    model_rss_delta_mib: float
    cold_start: ColdStart
    scenarios: tuple[ScenarioResult, ...]
    stages: dict[str, LatencyStats] = Field(
        description="decode, preprocess, infer, postprocess, end_to_end (p50/p99 per stage)."
    )
    stage_input: str = Field(description="What the pipeline ran on (image dir, video, synthetic).")
    sustained: SustainedResult | None
    concurrency: ConcurrencyResult | None
    energy: EnergyReport
    top_ops: tuple[OpTime, ...]
    bottleneck: str
    bottleneck_reason: str
    static: dict[str, Any] = Field(description="Parameters, MACs, weight and activation bytes.")
    accuracy: tuple[Metric, ...] = Field(
        (), description="From `--data`: accuracy of this model x backend x options (measured)."
    )
    accuracy_dataset: str | None = Field(
        None, description="Dataset name and sha256 for `accuracy`."
    )
    warnings: tuple[str, ...] = ()
    provenance: Provenance
