"""fleet.yaml: sites, cameras, workloads, candidate hardware, cloud options, horizon, priorities.

Strict (unknown fields are errors, naming the YAML path); every figure has its unit in its name.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Privacy = Literal["none", "no-video-egress", "crops-only", "metadata-only", "no-egress"]
Objective = Literal["latency", "accuracy", "cost", "power", "availability"]
Codec = Literal["h264", "h265", "mjpeg"]
Tolerance = Literal["low", "medium", "high"]
Condition = Literal["low-light", "motion-blur", "noise", "jpeg", "occlusion"]
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
    server_url: str | None = Field(
        None,
        description="Federated edge: where this site's device serving escalations listens "
        "(http://host:port; the plan's deployment uses http://127.0.0.1:8500 when unset).",
    )


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
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Deployment conditions the cameras see (edgeplan evaluate --conditions): "
        "each model is also evaluated under each; an int8 variant that loses more there than "
        "the floor allows on clean images is not deployed.",
    )
    site_models: list[str] | None = Field(
        None,
        description="Heavier models a pooled site device may run for the federated-edge pattern "
        "(default: `cloud_models`; [] for none).",
    )
    latency_budget_ms: float = Field(gt=0, description="End-to-end latency budget, ms.")
    latency_percentile: Literal[50, 90, 95, 99] = Field(99, description="Percentile it holds at.")
    accuracy_floor: float = Field(0.0, ge=0, le=1, description="Minimum accuracy (task metric).")
    recall_floor: float | None = Field(
        None, ge=0, le=1, description="Minimum detection recall at the serving threshold."
    )
    precision_floor: float | None = Field(
        None, ge=0, le=1, description="Minimum detection precision at the serving threshold."
    )
    availability_pct_min: float | None = Field(
        None, ge=0, le=100, description="Minimum share of time full answers are produced, %."
    )
    power_budget_w: float | None = Field(None, gt=0, description="Max power per edge device, W.")
    privacy: Privacy = Field(
        "none",
        description="What may leave the site: none (anything), no-video-egress (no streams; "
        "stills of escalated frames), crops-only (crops of uncertain detections), metadata-only "
        "(events, no imagery), no-egress (nothing to the cloud).",
    )
    images_per_day: float | None = Field(
        None,
        gt=0,
        description="Episodic workload: this many photos a day, uploaded as stills within the "
        "camera's hours (instead of analysing its video at fps).",
    )
    duty_cycle: DutyCycle = Field(default_factory=DutyCycle)
    degraded_tolerance: Tolerance = Field(
        "medium", description="How acceptable degraded (motion-only) answers are during outages."
    )
    escalation_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Declared hybrid / federated escalation share when no cascade is measured.",
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
    power_w: float | None = Field(
        None, gt=0, description="Override of the device's power under load, W (idle stays)."
    )
    decode_1080p_fps: float | None = Field(
        None, gt=0, description="Override: 1080p H.264 frames/s the device (or its host) decodes."
    )
    host: str | None = Field(
        None,
        description="Catalogue id of the computer that drives this accelerator (USB/M.2): ops "
        "the accelerator cannot run run on its CPU. Default: the cheapest CPU candidate here.",
    )


class CloudOption(BaseModel):
    """A cloud tier and how it bills: whole instances (per second, with a minimum), a serverless
    endpoint (per request), or a per-image API."""

    model_config = _STRICT
    id: str
    kind: Literal["gpu-instance", "serverless", "api"] = "gpu-instance"
    region: str = Field(description="Region id (matches a site's rtt_ms key).")
    gpu: str | None = Field(
        None,
        description="Catalogue id of the instance's accelerator (e.g. nvidia-t4): its inference "
        "is projected like a device's, calibrated on published figures.",
    )
    usd_per_hour: float | None = Field(None, ge=0, description="Instance price, $/hour.")
    price_plan: Literal["on-demand", "reserved", "spot"] = Field(
        "on-demand", description="Which rate `usd_per_hour` is (for the record and the report)."
    )
    min_billing_s: float = Field(
        60.0, ge=0, description="Minimum billed time per start, s (EC2 Linux: 60)."
    )
    always_on: bool = Field(
        False,
        description="The endpoint stays deployed 24 h a day (SageMaker real-time, Vertex AI "
        "endpoints do not scale to zero); else it runs only during the cameras' hours.",
    )
    usd_per_1000_images: float | None = Field(None, ge=0, description="API price, $/1000 images.")
    usd_per_gb_s: float | None = Field(
        None, ge=0, description="Serverless compute price, $ per GB of memory per second."
    )
    memory_gb: float = Field(2.0, gt=0, description="Serverless memory size, GB.")
    usd_per_gb_processed: float = Field(0.0, ge=0, description="Serverless data price, $/GB.")
    cold_start_ms: float = Field(
        2000.0,
        ge=0,
        description="Serverless cold start, ms (assumed; added to the p99 when "
        "requests are further apart than keep_warm_s).",
    )
    keep_warm_s: float = Field(300.0, gt=0, description="Idle time before a serverless scale-in.")
    utilisation: float = Field(0.6, gt=0, le=1, description="Target instance utilisation.")
    ingest_usd_per_gb: float = Field(0.0, ge=0, description="Cloud ingest price, $/GB.")
    queueing_ms: float = Field(5.0, ge=0, description="Queueing at the cloud tier, ms.")
    speedup_vs_host: float | None = Field(
        None,
        gt=0,
        description="Explicit override: inference at this host's measured speed times this "
        "(stated as assumed). Without it (and without `gpu`), a cloud option gets no "
        "candidate for models measured only here, and the plan says so.",
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
        if self.kind == "serverless" and self.usd_per_gb_s is None:
            raise ValueError("a serverless endpoint needs usd_per_gb_s")
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
    lan_ms: float = Field(
        5.0, ge=0, description="A still across the site LAN to a site device (federated), ms."
    )
    crop_fraction: float = Field(
        0.1, gt=0, le=1, description="A crop's share of a frame's pixels (crops-only hybrid)."
    )
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
