"""Accuracy, agreement and cascade records: every figure with its sample count, a bootstrap 95%
interval, and the data it was measured against (name + checksum)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edgeplan.records.provenance import Provenance

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Metric(BaseModel):
    """One metric value with its interval."""

    model_config = _FROZEN

    metric: str
    value: float
    ci95_low: float
    ci95_high: float
    samples: int


class AccuracyRecord(BaseModel):
    """`edgeplan evaluate`: accuracy against labels, or agreement with a reference model."""

    model_config = _FROZEN

    kind: Literal["accuracy"] = "accuracy"
    record_id: str
    cache_key: str
    model_sha256: str
    model_path: str
    backend: str
    figure: Literal["accuracy", "agreement"] = Field(
        description="agreement: measured against another model's output, not against labels"
    )
    metric: str
    value: float
    ci95_low: float
    ci95_high: float
    samples: int
    metrics: tuple[Metric, ...]
    dataset_name: str
    dataset_path: str
    dataset_format: str
    dataset_sha256: str
    reference_model_sha256: str | None = None
    reference_model_path: str | None = None
    condition: str | None = Field(
        None, description="Deployment condition applied to every image (None: clean images)."
    )
    skipped: int = Field(0, description="Corrupt images / label lines reported and skipped.")
    problems: tuple[str, ...] = Field((), description="The first skipped items, file and line.")
    card_source: str
    warnings: tuple[str, ...] = ()
    device_id: str | None = Field(
        None, description="Catalogue id of the farm device it ran on (None: this host)."
    )
    provenance: Provenance


class CascadeBand(BaseModel):
    """The edge escalates to the cloud model when its confidence is in [low, high)."""

    model_config = _FROZEN

    band_low: float
    band_high: float
    escalation_rate: float
    cascade: Metric
    meets_floor: bool | None = None


class CascadeRecord(BaseModel):
    """`edgeplan evaluate EDGE --cascade CLOUD`: the data behind the hybrid pattern."""

    model_config = _FROZEN

    kind: Literal["cascade"] = "cascade"
    record_id: str
    cache_key: str
    model_sha256: str
    model_path: str
    backend: str
    cloud_model_sha256: str
    cloud_model_path: str
    metric: str
    edge: Metric
    cloud: Metric
    bands: tuple[CascadeBand, ...]
    accuracy_floor: float | None = None
    cheapest_band_meeting_floor: CascadeBand | None = None
    dataset_name: str
    dataset_sha256: str
    samples: int
    provenance: Provenance


class ProductionRecord(BaseModel):
    """What an agent observed in production, per camera: fed back to `edgeplan plan`, where it
    outranks projections for the same model on the same device."""

    model_config = _FROZEN

    kind: Literal["production"] = "production"
    record_id: str
    cache_key: str
    model_sha256: str = ""
    model_path: str
    backend: str
    device_id: str | None = Field(None, description="Catalogue id of the device it ran on.")
    site: str
    camera: str
    latency_ms_p50: float | None = Field(description="End to end, decode to events.")
    latency_ms_p99: float | None
    throughput_fps: float = Field(description="Frames processed per second of uptime.")
    frames_in: int = Field(0, description="Frames read from the source.")
    frames_processed: int
    frames_dropped: dict[str, int] = Field(
        default_factory=dict, description="Frames not processed, by reason (no_motion, ...)."
    )
    uptime_s: float
    fallback_transitions: int
    escalations: dict[str, int] | None = None
    escalation_rate: float | None = Field(
        None, description="Escalations submitted per frame processed (hybrid)."
    )
    provenance: Provenance

    @property
    def overload_drop_share(self) -> float:
        """Share of frames lost because the device could not keep up (queue full, errors)."""
        lost = sum(v for k, v in self.frames_dropped.items() if k != "no_motion")
        return lost / max(self.frames_in, 1)


class ProjectionRecord(BaseModel):
    """A figure projected onto a device edgeplan does not own: never presented as measured,
    always with its band and the calibration behind it."""

    model_config = _FROZEN

    kind: Literal["projection"] = "projection"
    record_id: str
    cache_key: str
    model_sha256: str = Field(description="Model file hash; empty for a catalogue model id.")
    model_path: str = Field(description="Model file, or the catalogue model id.")
    backend: str = Field(description="`projected:<precision>`.")
    device_id: str
    precision: str
    host_device: str | None = Field(None, description="Host of an accelerator, when it matters.")
    deployable: bool
    reason: str
    latency_ms_p50: float | None = Field(description="Projected model-only latency (median).")
    latency_ms_low: float | None
    latency_ms_high: float | None
    band_pct: float
    tail_ratio: float = Field(description="p99/p50 measured on this host for the same model.")
    latency_ms_p99: float | None = Field(description="latency_ms_p50 x tail_ratio.")
    throughput_fps: float | None
    power_w: float | None
    power_source: str
    calibration: str
    cpu_fallback_gmacs: float = 0.0
    notes: tuple[str, ...] = ()
    provenance: Provenance
