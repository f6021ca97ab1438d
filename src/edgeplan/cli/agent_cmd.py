"""`edgeplan agent run CONFIG`: run the edge runtime until stopped (or for --duration-s)."""

import signal
import threading
from pathlib import Path

import typer

from edgeplan.cli.output import console
from edgeplan.errors import ConfigError
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.loading import load_yaml_model

app = typer.Typer(help="The edge runtime.", no_args_is_help=True)


@app.command()
def run(
    config: Path = typer.Argument(..., help="Agent config YAML (see edgeplan.spec.agent)."),
    duration_s: float | None = typer.Option(None, help="Stop after this long (tests, demos)."),
) -> None:
    """Run the cameras' pipelines, deliver events through the outbox, serve /healthz /readyz
    /status /metrics. SIGTERM or SIGINT stops it after a short drain of the outbox."""
    from edgeplan.agent.api import ApiServer
    from edgeplan.agent.runtime import Agent

    cfg = load_yaml_model(config, AgentConfig)
    missing = [f"cameras[{i}] ({c.id})" for i, c in enumerate(cfg.cameras) if c.source is None]
    if missing:
        raise ConfigError(
            f"{config}: {', '.join(missing)}: no video source. The fleet gave none: set "
            "`source:` (a file, an rtsp:// URL or /dev/videoN) on the camera here, or on the "
            "camera in fleet.yaml and re-plan."
        )
    no_url = [
        f"cameras[{i}].escalation.url ({c.id})"
        for i, c in enumerate(cfg.cameras)
        if c.escalation is not None and not c.escalation.url
    ]
    if no_url:
        raise ConfigError(
            f"{config}: {', '.join(no_url)}: no cloud endpoint for escalations. Set it here, or "
            "set `endpoint:` on the cloud option in fleet.yaml and re-plan."
        )
    agent = Agent(cfg, config.parent)
    api = ApiServer(agent, cfg.api.host, cfg.api.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.start()
    api.start()
    console.print(
        f"agent for site {cfg.site}: {len(cfg.cameras)} camera(s); API on "
        f"http://{cfg.api.host}:{api.port} (healthz, readyz, status, metrics)",
        highlight=False,
    )
    stop.wait(duration_s)
    console.print("stopping: draining the outbox")
    agent.stop()
    api.stop()


@app.command("export-records")
def export_records(
    url: str = typer.Option("http://127.0.0.1:8080", help="A running agent's API."),
    store: Path | None = typer.Option(None, help="Records store (default ~/.cache/edgeplan)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the records as JSON."),
) -> None:
    """Write what a running agent observed (end-to-end latency, throughput, fallbacks,
    escalations) as records with `source: measured-in-production`, for `edgeplan plan`."""
    import hashlib
    import json

    import httpx

    from edgeplan.errors import DataError
    from edgeplan.records.accuracy import ProductionRecord
    from edgeplan.records.provenance import Provenance, host_fingerprint
    from edgeplan.records.store import RecordStore

    try:
        status = httpx.get(f"{url.rstrip('/')}/status", timeout=5).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DataError(f"cannot read {url}/status: {exc}") from exc
    records = []
    for cam in status["cameras"]:
        lat = cam.get("end_to_end_ms_p50_p99") or [None, None]
        prov = Provenance(
            source="measured-in-production",
            host=host_fingerprint(),
            backend=cam["backend"],
            model_path=cam["model"],
            model_sha256=cam.get("model_sha256") or "",
            harness={"agent": url, "model_version": cam["model_version"]},
        )
        esc = cam.get("escalations")
        processed = max(cam["frames_processed"], 1)
        key = hashlib.sha256(
            f"{status['site']}{cam['camera']}{prov.timestamp_utc}".encode()
        ).hexdigest()
        records.append(
            ProductionRecord(
                record_id=key[:16],
                cache_key=key,
                model_sha256=cam.get("model_sha256") or "",
                model_path=cam["model"],
                backend=cam["backend"],
                device_id=status.get("device"),
                site=status["site"],
                camera=cam["camera"],
                latency_ms_p50=lat[0],
                latency_ms_p99=lat[1],
                throughput_fps=cam["frames_processed"] / max(status["uptime_s"], 1e-9),
                frames_in=cam.get("frames_in", 0),
                frames_processed=cam["frames_processed"],
                frames_dropped=cam.get("frames_dropped", {}),
                uptime_s=status["uptime_s"],
                fallback_transitions=len(cam["transitions"]),
                escalations=esc,
                escalation_rate=(
                    cam.get("escalation_candidates", 0) / processed if esc is not None else None
                ),
                provenance=prov,
            )
        )
    with RecordStore(store) as st:
        for r in records:
            st.put(r)
        console.print(
            f"wrote {len(records)} production record(s) to {st.path}"
            + (f" as measured on {status['device']}" if status.get("device") else ""),
            highlight=False,
        )
    if json_out:
        json_out.write_text(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
