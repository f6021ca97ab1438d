"""fleet.yaml: sites, cameras, workloads, candidate hardware, cloud options, horizon, priorities.

Strict (unknown fields are errors, naming the YAML path); every figure has its unit in its name.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Privacy = Literal["none", "no-video-egress", "no-egress"]
Objective = Literal["latency", "accuracy", "cost", "power"]
Codec = Literal["h264", "h265", "mjpeg"]
Tolerance = Literal["low", "medium", "high"]
_STRICT = ConfigDict(extra="forbid", frozen=True)
DEFAULT_ORDER: tuple[Objective, ...] = ("cost", "latency", "accuracy", "power")


class Rtt(BaseModel):
    """Round trip to a cloud region, in ms."""

    model_config = _STRICT
    p50_ms: float = Field(gt=0, description="Median round-trip time, ms.")
    p99_ms: float = Field(gt=0, description="99th-percentile round-trip time, ms.")


class Site(BaseModel):
    model_config = _STRICT
    id: str = Field(description="Unique site id.")
    uplink_mbps: float = Field(ge=0, description="Uplink bandwidth available to video, Mbit/s.")
    rtt_ms: dict[str, Rtt] = Field(default_factory=dict, description="RTT per cloud region id.")
    availability_pct: float = Field(
        99.9, ge=0, le=100, description="Share of time the network reaches the cloud, %."
    )
    metered_usd_per_gb: float = Field(0.0, ge=0, description="Metered uplink price (LTE), $/GB.")
    electricity_usd_per_kwh: float = Field(0.131, ge=0, description="Electricity price, $/kWh.")
    residency_region: str | None = Field(None, description="Data may only be processed here.")


class DutyCycle(BaseModel):
    """`continuous`, or motion-gated with the share of time there is motion."""

    model_config = _STRICT
    mode: Literal["continuous", "motion"] = "continuous"
    active_fraction: float = Field(1.0, gt=0, le=1, description="Share of frames with motion.")


class Workload(BaseModel):
    model_config = _STRICT
    task: str = Field(description="What the workload does (e.g. detection, face-detection, ocr).")
    models: list[str] = Field(min_length=1, description="Candidate model ids (records/catalogue).")
    cloud_models: list[str] = Field(
        default_factory=list, description="Models the cloud tier may run (default: `models`)."
    )
    validation_data: str | None = Field(
        None, description="Labelled data for accuracy (path, or demo:labels / demo:faces)."
    )
    validation_reference: str | None = Field(
        None, description="Reference model: accuracy becomes agreement with it (unlabelled data)."
    )
    latency_budget_ms: float = Field(gt=0, description="End-to-end latency budget, ms.")
    latency_percentile: Literal[50, 90, 95, 99] = Field(99, description="Percentile it holds at.")
    accuracy_floor: float = Field(0.0, ge=0, le=1, description="Minimum accuracy (task metric).")
    power_budget_w: float | None = Field(None, gt=0, description="Max power per edge device, W.")
    privacy: Privacy = Field("none", description="What may leave the site.")
    duty_cycle: DutyCycle = Field(default_factory=DutyCycle)
    degraded_tolerance: Tolerance = Field(
        "medium", description="How acceptable degraded (motion-only) answers are during outages."
    )
    escalation_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Declared hybrid escalation share when no cascade is measured.",
    )


class Camera(BaseModel):
    model_config = _STRICT
    id: str
    site: str = Field(description="Site id.")
    resolution: tuple[int, int] = Field((1920, 1080), description="Width, height in pixels.")
    fps: float = Field(gt=0, description="Frames per second the workload must analyse.")
    codec: Codec = "h264"
    bitrate_mbps: float | None = Field(None, gt=0, description="Stream bitrate (default: derived).")
    hours_per_day: float = Field(24.0, gt=0, le=24, description="Hours a day the camera runs.")
    source: str | None = Field(
        None,
        description="Where the agent reads video: rtsp:// URL, /dev/videoN, a file (relative to "
        "fleet.yaml; $VARS expanded) or demo:clip:faces / demo:clip:labels. Unset: the site's "
        "agent config says so and the agent refuses to start until it is given.",
    )
    workloads: list[Workload] = Field(min_length=1)


class HardwareChoice(BaseModel):
    model_config = _STRICT
    id: str = Field(description="Catalogue hardware id (e.g. jetson-orin-nano-super).")
    price_usd: float | None = Field(None, ge=0, description="Override of the catalogue price, $.")
    life_years: float = Field(4.0, gt=0, description="Refresh after this many years.")
    power_w: float | None = Field(None, gt=0, description="Override of average power, W.")
    host: str | None = Field(
        None,
        description="Catalogue id of the computer that drives this accelerator (USB/M.2): ops "
        "the accelerator cannot run run on its CPU. Default: the cheapest CPU candidate here.",
    )


class CloudOption(BaseModel):
    model_config = _STRICT
    id: str
    kind: Literal["gpu-instance", "api"] = "gpu-instance"
    region: str = Field(description="Region id (matches a site's rtt_ms key).")
    usd_per_hour: float | None = Field(None, ge=0, description="Instance price, $/hour.")
    usd_per_1000_images: float | None = Field(None, ge=0, description="API price, $/1000 images.")
    utilisation: float = Field(0.6, gt=0, le=1, description="Target instance utilisation.")
    ingest_usd_per_gb: float = Field(0.0, ge=0, description="Cloud ingest price, $/GB.")
    queueing_ms: float = Field(5.0, ge=0, description="Queueing at the cloud tier, ms.")
    speedup_vs_host: float = Field(
        1.0, gt=0, description="Assumed inference speed-up of the instance over this host."
    )
    api_latency_ms: float = Field(150.0, gt=0, description="Assumed API inference latency, ms.")
    endpoint: str | None = Field(
        None,
        description="Open Inference Protocol base URL of this cloud tier (`edgeplan cloud "
        "serve`, KServe); written into hybrid agents' escalation config.",
    )
    model_name: str = Field("edgeplan", description="Model name on that endpoint.")

    @model_validator(mode="after")
    def _priced(self) -> "CloudOption":
        if self.kind == "gpu-instance" and self.usd_per_hour is None:
            raise ValueError("a gpu-instance needs usd_per_hour")
        if self.kind == "api" and self.usd_per_1000_images is None:
            raise ValueError("an api needs usd_per_1000_images")
        return self


class Priorities(BaseModel):
    """Lexicographic `order` (first wins, ties within `tolerance_pct`) or `weights`."""

    model_config = _STRICT
    order: list[Objective] = Field(default_factory=lambda: list(DEFAULT_ORDER))
    weights: dict[Objective, float] | None = None
    tolerance_pct: float = Field(5.0, ge=0, description="Lexicographic tie band, %.")
    reliability: bool = Field(False, description="Prefer patterns that survive network outages.")


class Costs(BaseModel):
    model_config = _STRICT
    maintenance_pct_per_year: float = Field(10.0, ge=0, description="Of capex, %/year.")
    orchestration_usd_per_device_month: float = Field(2.0, ge=0, description="Fleet mgmt, $.")
    jpeg_bytes_per_pixel: float = Field(0.15, gt=0, description="Escalated still size, B/pixel.")
    encode_ms: float = Field(8.0, ge=0, description="Encoding a still for upload, ms.")
    response_ms: float = Field(2.0, ge=0, description="Cloud response transfer, ms.")
    edge_failure_pct: float = Field(1.0, ge=0, le=100, description="Edge unavailability, %.")


class DeployMqtt(BaseModel):
    model_config = _STRICT
    host: str = Field("127.0.0.1", description="Broker host the site agents publish to.")
    port: int = Field(1883, gt=0, lt=65536)
    topic: str = Field("edgeplan/events", description="Events go to <topic>/<camera>.")


class Deploy(BaseModel):
    """What every site's agent config gets besides its cameras."""

    model_config = _STRICT
    mqtt: DeployMqtt | None = Field(None, description="MQTT broker for events (QoS 1).")
    webhook_url: str | None = Field(None, description="Webhook that receives events (POST).")
    api_port: int = Field(8080, ge=0, lt=65536, description="Agent API port (0: a free one).")


class Fleet(BaseModel):
    """The whole planning input."""

    model_config = _STRICT
    name: str = "fleet"
    horizon_years: float = Field(3.0, gt=0, le=15, description="TCO horizon, years.")
    sites: list[Site] = Field(min_length=1)
    cameras: list[Camera] = Field(min_length=1)
    hardware: list[HardwareChoice] = Field(default_factory=list)
    cloud: list[CloudOption] = Field(default_factory=list)
    priorities: Priorities = Field(default_factory=Priorities)
    costs: Costs = Field(default_factory=Costs)
    deploy: Deploy = Field(default_factory=Deploy)

    @model_validator(mode="after")
    def _references(self) -> "Fleet":
        site_ids = {s.id for s in self.sites}
        for i, cam in enumerate(self.cameras):
            if cam.site not in site_ids:
                raise ValueError(
                    f"cameras[{i}].site {cam.site!r} is not a site; sites: {sorted(site_ids)}"
                )
        return self
