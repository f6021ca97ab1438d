"""The plan, as written to plan.json (its JSON Schema is generated from these models)."""

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

_F = ConfigDict(extra="forbid", frozen=True)
M = TypeVar("M", bound=BaseModel)


def built(cls: type[M], values: dict[str, Any]) -> M:
    """A model from values the planner computed from validated inputs, every field given.
    What `model_construct` does, less its per-field alias and default handling: a plan of
    10,000 cameras builds 40,000 of these."""
    if len(values) != len(cls.model_fields):
        missing = sorted(cls.model_fields.keys() - values.keys())
        raise TypeError(f"{cls.__name__}: {missing or 'unknown'} fields")
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


class Option(BaseModel):
    """One candidate: pattern, hardware and model, with its figures."""

    model_config = _F
    pattern: str
    hardware: str | None = Field(description="Edge device id (None for pure cloud).")
    model: str | None
    deployed_model: str | None = Field(
        None, description="The file deployed when it is not `model`: e.g. its int8 variant."
    )
    variant: str | None = Field(None, description="How `deployed_model` was made from `model`.")
    cloud: str | None = Field(None, description="Cloud option id, when the cloud is involved.")
    cloud_model: str | None = Field(None, description="The cloud's (or federated site's) model.")
    site_hardware: str | None = Field(
        None, description="Federated edge: the pooled site device the escalations go to."
    )
    latency_ms_p99: float
    accuracy: float | None
    power_w: float
    usd_per_month: float
    tco_usd: float
    availability: float
    escalation_rate: float = 0.0
    escalation_band: tuple[float, float] | None = Field(
        None, description="Hybrid: escalate when the edge score is in [low, high) (a cascade's)."
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Where each figure came from (measured / projected ...)."
    )
    latency_band_pct: float = Field(0.0, description="+- band of a projected latency, %.")


class Decision(BaseModel):
    model_config = _F
    camera: str
    site: str
    workload: int = Field(description="Index of the workload within the camera.")
    task: str
    latency_budget_ms: float = Field(0.0, description="The workload's latency budget, ms.")
    accuracy_floor: float = Field(0.0, description="The workload's accuracy floor.")
    chosen: Option | None
    runner_up: Option | None
    fallback: Option | None = Field(
        None, description="Best other model on the chosen device: the agent's next rung."
    )
    margin_pct: float | None = Field(
        None,
        description="How much worse the runner-up is on the first priority, %: a choice with a "
        "margin inside the figures' noise or band could flip on a measurement.",
    )
    margin_on: str = Field("", description="The objective the margin is measured on.")
    stable: bool | None = Field(
        None,
        description="True when no figure moving within its uncertainty (this host's "
        "measurements +-30%, a projection within its band) can change the choice; False when "
        "one could: measure on the device before buying. None when nothing was chosen.",
    )
    excluded: dict[str, str] = Field(
        default_factory=dict,
        description="Candidate hardware excluded before comparison, with the reason (e.g. end "
        "of support).",
    )
    reasons: list[str]
    binding_constraints: list[str]
    what_would_change: list[str]
    candidates: int
    frontier: int
    dropped: dict[str, int] = Field(description="Candidates dropped, by constraint.")


class SeriesPoint(BaseModel):
    model_config = _F
    month: int
    usd_cumulative: float


class Tornado(BaseModel):
    model_config = _F
    input: str
    tco_usd_low: float = Field(description="Plan TCO with the input at -50%.")
    tco_usd_high: float = Field(description="Plan TCO with the input at +50%.")


class FleetSummary(BaseModel):
    model_config = _F
    horizon_years: float
    cameras: int
    decisions: int
    unplaced: int
    usd_per_month: float
    tco_usd: float
    by_pattern: dict[str, int]
    usd_per_month_by_pattern: dict[str, float]
    devices_by_site: dict[str, dict[str, int]] = Field(
        description="Whole edge devices per site and hardware (shared devices pooled)."
    )
    cumulative: dict[str, list[SeriesPoint]] = Field(
        description="Cumulative spend per month: the plan, all-edge and all-cloud alternatives."
    )
    break_even_month: int | None = Field(
        description="First month the all-edge alternative stays cheaper than all-cloud."
    )
    break_even_note: str = Field("", description="Why there is no break-even month, if none.")
    sensitivity: list[Tornado]


class CandidatePoint(BaseModel):
    """One candidate of a representative camera, for the Pareto plot."""

    model_config = _F
    pattern: str
    hardware: str | None
    model: str | None
    cloud: str | None
    latency_ms_p99: float
    accuracy: float | None
    power_w: float
    usd_per_month: float
    feasible: bool
    frontier: bool
    chosen: bool
    dropped_by: list[str]
    latency_source: str
    accuracy_source: str = Field("", description="Where the accuracy came from.")


class CandidateSet(BaseModel):
    model_config = _F
    camera: str
    workload: int
    task: str
    cameras_sharing: int = Field(description="Cameras with the same workload spec.")
    points: list[CandidatePoint]


class Figure(BaseModel):
    """The figures a plan used for one model on one device or cloud option, with sources."""

    model_config = _F
    latency_ms_p99: float
    latency_source: str
    throughput_fps: float
    accuracy: float | None
    accuracy_source: str


class Change(BaseModel):
    """A decision that differs from the previous plan's, and the evidence that moved it."""

    model_config = _F
    camera: str
    workload: int
    before: str
    after: str
    because: list[str]


class Plan(BaseModel):
    model_config = _F
    schema_version: int = 1
    fleet: str
    decisions: list[Decision]
    summary: FleetSummary
    assumptions: dict[str, float | str] = Field(description="Assumed inputs, with their values.")
    candidate_sets: list[CandidateSet] = Field(
        default_factory=list, description="Every candidate of one camera per workload spec."
    )
    run: dict[str, Any] = Field(default_factory=dict, description="How this plan was produced.")
    evidence: dict[str, Figure] = Field(
        default_factory=dict, description="`model@hardware` -> the figures the plan used."
    )
    changes: list[Change] = Field(
        default_factory=list, description="Decisions that changed since the previous plan."
    )
