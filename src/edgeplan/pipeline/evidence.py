"""Typed evidence `edgeplan plan` gathers before it plans: one field per kind of evidence, each
filled by one gatherer (pipeline/gather.py), each figure with its source."""

from dataclasses import dataclass, field
from pathlib import Path

from edgeplan.pipeline.measure import CacheStats
from edgeplan.pipeline.refs import ModelRef
from edgeplan.projection.profile import CostProfile
from edgeplan.records.accuracy import (
    AccuracyRecord,
    CascadeRecord,
    ProductionRecord,
    ProjectionRecord,
)
from edgeplan.records.types import CharacterisationRecord


@dataclass(frozen=True)
class Accuracy:
    """The accuracy a model carries into the plan, and where it came from."""

    value: float | None
    source: str  # "measured: map50_95 on labels (n=48)", "agreement: ...", "published", "none"
    recall: float | None = None  # detection, at the serving threshold (measured only)
    precision: float | None = None


@dataclass(frozen=True)
class Int8Variant:
    """A calibrated int8 variant built for int8-only devices, with its measured accuracy."""

    model: str  # the fleet's model reference
    path: Path
    label: str  # how it was made, e.g. "int8-static(Percentile,uint8)"
    sha256: str
    accuracy: Accuracy


@dataclass(frozen=True)
class CascadeChoice:
    """A measured edge -> cloud cascade and the band the plan uses (the cheapest that meets the
    workload's floor, else the most accurate)."""

    edge_model: str
    cloud_model: str
    record: CascadeRecord
    band: tuple[float, float]
    escalation_rate: float
    accuracy: float
    meets_floor: bool


@dataclass
class Evidence:
    """Everything the plan and the report rest on."""

    refs: dict[str, ModelRef] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)  # model ref -> file hash
    profiles: dict[str, CostProfile] = field(default_factory=dict)
    quantised: dict[str, bool] = field(default_factory=dict)
    accuracy: dict[str, Accuracy] = field(default_factory=dict)
    accuracy_records: dict[str, AccuracyRecord] = field(default_factory=dict)
    int8: dict[str, Int8Variant] = field(default_factory=dict)
    made: dict[str, str] = field(default_factory=dict)  # accuracy key -> how its model was made
    host: dict[str, list[CharacterisationRecord]] = field(default_factory=dict)
    projections: dict[tuple[str, str], ProjectionRecord] = field(default_factory=dict)
    on_device: list[CharacterisationRecord] = field(default_factory=list)
    production: list[ProductionRecord] = field(default_factory=list)
    cascades: list[CascadeChoice] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)  # accelerator -> the host driving it
    notes: list[str] = field(default_factory=list)
    stats: CacheStats = field(default_factory=CacheStats)

    def best_host(self, model: str) -> CharacterisationRecord | None:
        """This host's fastest measurement of a model (its p99/p50 ratio feeds projections)."""
        recs = self.host.get(model, [])
        return min(recs, key=lambda r: r.latency_ms_p99) if recs else None
