"""`edgeplan cloud serve`: one model over the Open Inference Protocol (oip.py), with the same
`Predictor` as the edge (the card's preprocessing, any edgeplan backend, the card's decoder).
The model is loaded before the port opens: a model that cannot load is an error exit, never a
server that answers without it."""

import json
import logging
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

import edgeplan
from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import LoadedModel, load_model
from edgeplan.cloud import oip

log = logging.getLogger(__name__)
MODEL_NAME = "edgeplan"


def load(model: Path, backend: str | None, threads: int | None) -> LoadedModel:
    """The model, fully loaded (ModelError with the reason when it cannot be)."""
    return load_model(model, backend, BackendOptions(threads=threads))


def make_app(model: LoadedModel, name: str = MODEL_NAME) -> FastAPI:
    app = FastAPI(title="edgeplan cloud tier", docs_url=None, redoc_url=None)
    lock = threading.Lock()  # one inference at a time: the session's threads are the parallelism
    version = edgeplan.__version__

    def error(status: int, msg: str) -> JSONResponse:
        return JSONResponse({"error": msg}, status_code=status)

    def known(m: str) -> bool:
        return m == name

    @app.get("/v2/health/live")
    def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict:
        return {"ready": True}

    @app.get("/v2")
    def server() -> dict:
        return {"name": "edgeplan", "version": version, "extensions": ["binary_tensor_data"]}

    @app.get("/v2/models/{m}")
    @app.get("/v2/models/{m}/versions/{v}")
    def meta(m: str, v: str | None = None) -> Any:
        if not known(m):
            return error(404, f"unknown model {m!r} (this server serves {name!r})")
        return oip.metadata(name, model.backend, version)

    @app.get("/v2/models/{m}/ready")
    @app.get("/v2/models/{m}/versions/{v}/ready")
    def model_ready(m: str, v: str | None = None) -> Any:
        if not known(m):
            return error(404, f"unknown model {m!r}")
        return {"name": name, "ready": True}

    @app.get("/v2/models/{m}/config")
    def model_config(m: str) -> Any:
        if not known(m):
            return error(404, f"unknown model {m!r}")
        return oip.config(name, model.backend, model.card.task)

    @app.post("/v2/models/{m}/infer")
    @app.post("/v2/models/{m}/versions/{v}/infer")
    async def infer(m: str, request: Request, v: str | None = None) -> Response:
        if not known(m):
            return error(404, f"unknown model {m!r} (this server serves {name!r})")
        body = await request.body()
        try:
            req = oip.parse_request(body, request.headers.get(oip.HEADER))
            frames = [oip.decode_image(b) for b in req.images]
        except oip.ProtocolError as exc:
            return error(400, str(exc))
        try:
            with lock:
                results = [json.dumps(model.predict(f)) for f in frames]
        except Exception as exc:  # a model failing on a frame: the client hears why
            log.exception("inference failed")
            return error(500, f"inference failed: {type(exc).__name__}: {exc}")
        data, headers = oip.encode_response(name, results, req.binary_output, req.request_id)
        return Response(data, headers=headers)

    return app


def run(model: LoadedModel, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(make_app(model), host=host, port=port, log_level="warning")
