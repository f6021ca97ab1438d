"""Agent config (`edgeplan agent run CONFIG`): validated like fleet.yaml."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_S = ConfigDict(extra="forbid", frozen=True)


class Motion(BaseModel):
    model_config = _S
    enabled: bool = Field(True, description="Skip inference on frames without motion.")
    min_area_px: int = Field(400, ge=0, description="Smallest moving blob that counts, pixels.")
    history: int = Field(200, gt=0, description="Background model history, frames.")
    warmup_frames: int = Field(5, ge=0, description="Frames treated as motion while it learns.")


class Escalation(BaseModel):
    """Hybrid: frames whose detections score inside the uncertainty band go to the cloud tier."""

    model_config = _S
    url: str | None = Field(
        description="Cloud tier base URL (Open Inference Protocol, KServe v2 REST). `null` when "
        "the fleet named no endpoint: the agent then refuses to start and says so."
    )
    model: str = Field("edgeplan", description="Model name on the cloud tier.")
    band: tuple[float, float] = Field(
        (0.3, 0.6), description="Escalate when a score is in [lo, hi)."
    )
    timeout_s: float = Field(2.0, gt=0)
    max_per_minute: int = Field(60, ge=0, description="Budget: escalations per minute.")
    max_uplink_kbps: float = Field(2000.0, gt=0, description="Budget: average uplink, kbit/s.")
    max_usd_per_day: float = Field(10.0, ge=0, description="Budget: spend per day.")
    usd_per_escalation: float = Field(0.0015, ge=0, description="Price of one escalation, $.")
    jpeg_quality: int = Field(85, ge=10, le=100)


class FallbackModel(BaseModel):
    """A further rung of the fallback chain: another model (e.g. the plan's runner-up on the same
    device) on its own backends, tried after every backend of the camera's primary model."""

    model_config = _S
    model: str = Field(description="Model file (relative to this config).")
    card: str | None = Field(None, description="Its model card (default: beside / built-in).")
    backends: list[str] = Field(
        default_factory=lambda: ["onnxruntime"], description="Backends to try it on, best first."
    )
    precision: str | None = Field(None, description="Precision the plan chose (for the record).")


class CameraConfig(BaseModel):
    model_config = _S
    id: str
    source: str | None = Field(
        description="Video file path, rtsp:// URL or V4L2 device (/dev/videoN). `null` when the "
        "fleet gave none: the agent then refuses to start and says which camera needs one."
    )
    loop: bool = Field(False, description="Restart a file source at its end (tests, demos).")
    fps_cap: float = Field(10.0, gt=0, description="Frames per second taken from the source.")
    model: str = Field(description="Model file for the edge tier.")
    model_version: str = Field("1", description="Reported with every event.")
    card: str | None = Field(None, description="Model card YAML (default: beside / built-in).")
    backends: list[str] = Field(
        default_factory=lambda: ["onnxruntime"],
        description="Fallback chain, best first; entries 'name' or 'name:device' (e.g. "
        "onnxruntime:cuda).",
    )
    precision: str | None = Field(None, description="Precision the plan chose (for the record).")
    fallback_models: list[FallbackModel] = Field(
        default_factory=list,
        description="Further rungs after the primary model's backends; then degraded mode.",
    )
    latency_budget_ms: float | None = Field(
        None,
        gt=0,
        description="This camera's SLO: p99 of preprocess+infer+postprocess above it steps down "
        "the chain (default: slo.latency_ms_p99). The plan writes the workload's budget.",
    )
    threads: int | None = Field(None, ge=1)
    score_threshold: float | None = Field(None, ge=0, le=1, description="Override the card's.")
    queue_size: int = Field(2, ge=1, description="Frames buffered; the oldest is dropped.")
    motion: Motion = Field(default_factory=Motion)
    escalation: Escalation | None = Field(None, description="Hybrid pattern: the cloud tier.")
    stall_s: float = Field(5.0, gt=0, description="No frame for this long = stalled.")


class MqttSink(BaseModel):
    model_config = _S
    host: str = "127.0.0.1"
    port: int = Field(1883, gt=0, lt=65536)
    topic: str = Field("edgeplan/events", description="Events go to <topic>/<camera>.")
    qos: Literal[1] = Field(1, description="QoS 1: delivered at least once.")
    client_id: str = "edgeplan-agent"


class WebhookSink(BaseModel):
    model_config = _S
    url: str
    timeout_s: float = Field(5.0, gt=0)


class Outbox(BaseModel):
    model_config = _S
    path: str = Field("outbox.sqlite", description="SQLite file (relative to the config).")
    max_events: int = Field(100_000, gt=0, description="Bound on undelivered events.")
    overflow: Literal["drop-oldest", "drop-newest"] = Field(
        "drop-oldest", description="What happens at the bound; every drop is counted."
    )
    retry_initial_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(30.0, gt=0)


class Slo(BaseModel):
    model_config = _S
    latency_ms_p99: float = Field(500.0, gt=0, description="Infer p99 above this steps down.")
    window: int = Field(50, ge=5, description="Inferences in the rolling window.")
    max_consecutive_errors: int = Field(3, ge=1)
    recover_after_s: float = Field(30.0, gt=0, description="Try the better backend again after.")


class Api(BaseModel):
    model_config = _S
    host: str = Field("127.0.0.1", description="Bind address; loopback unless configured.")
    port: int = Field(8080, ge=0, lt=65536, description="0 picks a free port.")
    tls_cert: str | None = Field(None, description="PEM certificate: serve HTTPS.")
    tls_key: str | None = Field(None, description="PEM private key for tls_cert.")


class Updates(BaseModel):
    """Signed model updates with a trial on live frames and automatic rollback."""

    model_config = _S
    pubkey: str = Field(description="Ed25519 public key that bundles must be signed with.")
    state_dir: str = Field("updates", description="Versions and state.json (relative to config).")
    watch_dir: str | None = Field(None, description="New bundles dropped here are applied.")
    url: str | None = Field(None, description="HTTP(S) URL polled with ETag for a new bundle.")
    poll_s: float = Field(60.0, gt=0, description="URL polling period.")
    trial_frames: int = Field(20, ge=1, description="Live frames the candidate runs beside.")
    min_agreement: float = Field(0.6, ge=0, le=1, description="Box-F1 agreement with the current.")
    max_detection_rate_change: float = Field(0.5, ge=0, description="Relative change allowed.")
    watch_frames: int = Field(30, ge=1, description="Frames watched after promotion.")
    token_env: str = Field("EDGEPLAN_AGENT_TOKEN", description="Env var holding the bearer token.")
    token_file: str | None = Field(None, description="File holding the bearer token.")


class AgentConfig(BaseModel):
    """One agent per edge device."""

    model_config = _S
    site: str = "site"
    device: str | None = Field(
        None,
        description="Catalogue id of the device this agent runs on; its production records "
        "(`agent export-records`) are figures for that device.",
    )
    generated_by: str | None = Field(None, description="What wrote this config (provenance).")
    cameras: list[CameraConfig] = Field(min_length=1)
    mqtt: MqttSink | None = None
    webhook: WebhookSink | None = None
    outbox: Outbox = Field(default_factory=Outbox)
    slo: Slo = Field(default_factory=Slo)
    api: Api = Field(default_factory=Api)
    heartbeat_s: float = Field(10.0, gt=0, description="A heartbeat event this often.")
    updates: Updates | None = None
