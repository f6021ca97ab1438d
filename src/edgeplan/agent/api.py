"""The agent's HTTP API: /healthz (alive), /readyz (truthful), /status (JSON), /metrics."""

import hmac
import logging
import os
import socket
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edgeplan.agent.runtime import Agent

log = logging.getLogger(__name__)


def control_token(agent: Agent) -> str | None:
    """The control API's bearer token (file first, then env); None disables the control API."""
    u = agent.cfg.updates
    if u is None:
        return None
    if u.token_file:
        p = agent.base / u.token_file
        return p.read_text().strip() if p.exists() else None
    return os.environ.get(u.token_env) or None


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

    token = control_token(agent)

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        ok = token is not None and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        if not ok:  # logged without the token
            log.warning(
                "rejected control request %s %s from %s",
                request.method,
                request.url.path,
                request.client.host if request.client else "?",
            )
        return ok

    @app.post("/control/update")
    def update(body: dict, request: Request, response: Response) -> dict:
        if not authorised(request):
            response.status_code = 401
            return {"error": "unauthorised"}
        bundle = Path(str(body.get("bundle", "")))
        if not bundle.is_file():
            response.status_code = 400
            return {"error": f"no bundle at {bundle}"}
        result = agent.apply_update(bundle)
        if result and all(r.startswith("refused") for r in result.values()):
            response.status_code = 422  # nothing installed; each camera says why
        elif any(r.startswith("busy") for r in result.values()):
            response.status_code = 409
        return {"result": result}

    @app.post("/control/rollback")
    def rollback(request: Request, response: Response) -> dict:
        if not authorised(request):
            response.status_code = 401
            return {"error": "unauthorised"}
        return {"result": agent.rollback("manual rollback through the control API")}

    @app.get("/control/updates")
    def updates(request: Request, response: Response) -> dict:
        if not authorised(request):
            response.status_code = 401
            return {"error": "unauthorised"}
        return {c["camera"]: c.get("updates") for c in agent.status()["cameras"]}

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
        tls = agent.cfg.api
        on = bool(tls.tls_cert and tls.tls_key)
        cfg = uvicorn.Config(
            make_app(agent),
            host=host,
            port=self.port,
            log_level="warning",
            ssl_certfile=str(agent.base / tls.tls_cert) if on and tls.tls_cert else None,
            ssl_keyfile=str(agent.base / tls.tls_key) if on and tls.tls_key else None,
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="api")

    def start(self, timeout_s: float = 15.0) -> None:
        """Serve in a thread; returns once the socket is listening (so the address printed
        next is already reachable)."""
        self.thread.start()
        end = time.monotonic() + timeout_s
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
