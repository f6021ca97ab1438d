"""`edgeplan cloud serve MODEL`: the cloud tier over the Open Inference Protocol (MLServer)."""

import os
import sys
import tempfile
from pathlib import Path

import typer

from edgeplan.cloud.serve import write_settings
from edgeplan.models.files import open_model

app = typer.Typer(help="The cloud tier.", no_args_is_help=True)


@app.command()
def serve(
    model: Path = typer.Argument(..., help="Model file; its card sets pre/post-processing."),
    backend: str | None = typer.Option(None, help="onnxruntime | openvino | litert"),
    port: int = typer.Option(8090, help="HTTP port (KServe v2 REST)."),
    threads: int | None = typer.Option(None, help="Inference threads."),
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on (0.0.0.0: every interface, for a site device)."
    ),
) -> None:
    """Serve MODEL as `edgeplan` on http://HOST:PORT/v2/models/edgeplan/infer: input
    `image` (BYTES, base64 JPEG), output `detections` (JSON). Runs unchanged on KServe/Seldon."""
    open_model(model)  # a clear error before MLServer starts
    work = write_settings(
        Path(tempfile.mkdtemp(prefix="edgeplan-cloud-")), model, backend, port, threads, host
    )
    os.execv(sys.executable, [sys.executable, "-m", "mlserver.cli.main", "start", str(work)])
