"""`edgeplan agent run CONFIG`: run the edge runtime until stopped (or for --duration-s)."""

import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.loading import load_yaml_model

app = typer.Typer(help="The edge runtime.", no_args_is_help=True)
console = Console()


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
