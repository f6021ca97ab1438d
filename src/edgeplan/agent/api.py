"""The agent's HTTP API: /healthz (alive), /readyz (truthful), /status (JSON), /metrics."""

import socket
import threading

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edgeplan.agent.runtime import Agent


def make_app(agent: Agent) -> FastAPI:
    app = FastAPI(title="edgeplan agent", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"alive": True}

    @app.get("/readyz")
    def readyz(response: Response) -> dict:
        ok = agent.ready()
        response.status_code = 200 if ok else 503
        return {"ready": ok}

    @app.get("/status")
    def status() -> dict:
        return agent.status()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(agent.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ApiServer:
    def __init__(self, agent: Agent, host: str, port: int) -> None:
        self.port = port or free_port(host)
        cfg = uvicorn.Config(make_app(agent), host=host, port=self.port, log_level="warning")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="api")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
