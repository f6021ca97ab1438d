"""What the planner is given: performance points (a model on a piece of hardware, measured or
projected), device costs, and measured cascades. Building these from records and the catalogue
is the caller's job, so the planner stays pure."""

from dataclasses import dataclass, field

from edgeplan.sources import Source
from edgeplan.spec.fleet import Fleet

HOST_NOISE_PCT = 30.0  # how far this shared host's measurements move under load (DESIGN.md)


@dataclass(frozen=True)
class PerfPoint:
    """One model variant on one piece of hardware (an edge device id or a cloud option id)."""

    model: str
    hardware: str
    latency_ms_p99: float
    throughput_fps: float
    accuracy: float | None
    power_w: float | None = None  # power under load (edge hardware)
    source: Source = "measured"
    band_pct: float = 0.0  # +- error band of a projected latency
    backend: str = ""
    deployable: bool = True
    note: str = ""
    accuracy_source: str = ""  # e.g. "measured: top1 on ilsvrc (n=1300)", "published"
    artifact: str = ""  # the file deployed when it is not `model` (e.g. a calibrated int8 variant)
    variant: str = ""  # how that file was made from `model` (e.g. "int8-static(Percentile,uint8)")
    exclusion: str = ""  # why it is not deployable (e.g. "end of support: ..."), if it is not
    recall: float | None = None  # detection recall at the serving threshold, IoU 0.5
    precision: float | None = None  # detection precision at the serving threshold, IoU 0.5
    noise_pct: float | None = None  # how far latency/throughput may move; None: by source

    @property
    def uncertainty_pct(self) -> float:
        """+- % the latency and throughput may be off: this host's measurements (and figures
        derived from them) move with its load; a projection is off by up to its band; a figure
        measured on the device, in production or published is taken as it is."""
        if self.noise_pct is not None:
            return self.noise_pct
        if self.source == "measured":
            return HOST_NOISE_PCT
        return self.band_pct if self.source == "projected" else 0.0


@dataclass(frozen=True)
class DeviceCost:
    """An edge device's cost inputs (catalogue figures, overridden by the fleet). An accelerator
    that needs a host computer (USB/M.2) carries its host: priced, powered and decoding with it."""

    id: str
    price_usd: float
    life_years: float
    idle_w: float
    source: str = "published"
    end_of_support: str = ""
    host: str | None = None  # the computer that drives it, when it needs one
    host_price_usd: float = 0.0
    host_idle_w: float = 0.0
    host_max_w: float = 0.0
    decode_1080p_fps: float | None = None  # video decode capacity of the device or its host
    decode_source: str = ""


@dataclass(frozen=True)
class Cascade:
    """A measured edge -> heavier-model cascade (cloud or site device) at the chosen band."""

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
    gate_pass_rate: dict[str, float] = field(default_factory=dict)  # camera -> measured share
