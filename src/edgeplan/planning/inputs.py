"""What the planner is given: performance points (a model on a piece of hardware, measured or
projected), device costs, and measured cascades. Building these from records and the catalogue
is the caller's job, so the planner stays pure."""

from dataclasses import dataclass, field

from edgeplan.spec.fleet import Fleet


@dataclass(frozen=True)
class PerfPoint:
    """One model variant on one piece of hardware (an edge device id or a cloud option id)."""

    model: str
    hardware: str
    latency_ms_p99: float
    throughput_fps: float
    accuracy: float | None
    power_w: float | None = None  # average power under load (edge hardware)
    source: str = "measured"  # measured | measured-on-device | projected | published | assumed
    band_pct: float = 0.0  # +- error band of a projected latency
    backend: str = ""
    deployable: bool = True
    note: str = ""
    accuracy_source: str = ""  # e.g. "measured: top1 on ilsvrc (n=1300)", "published"
    artifact: str = ""  # the file deployed when it is not `model` (e.g. a calibrated int8 variant)
    variant: str = ""  # how that file was made from `model` (e.g. "int8-static(Percentile,uint8)")


@dataclass(frozen=True)
class DeviceCost:
    """An edge device's cost inputs (catalogue figures, overridden by the fleet)."""

    id: str
    price_usd: float
    life_years: float
    idle_w: float
    source: str = "published"
    end_of_support: str = ""


@dataclass(frozen=True)
class Cascade:
    """A measured edge -> cloud cascade at the chosen band."""

    edge_model: str
    cloud_model: str
    escalation_rate: float
    accuracy: float
    source: str = "measured"
    band: tuple[float, float] | None = None  # escalate when the edge score is in [low, high)


@dataclass(frozen=True)
class PlanInputs:
    fleet: Fleet
    perf: tuple[PerfPoint, ...]
    devices: dict[str, DeviceCost]
    cascades: tuple[Cascade, ...] = field(default=())
