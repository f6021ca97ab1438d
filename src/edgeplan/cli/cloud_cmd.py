"""`edgeplan cloud serve MODEL`: the cloud tier over the Open Inference Protocol (KServe v2)."""

from pathlib import Path

import typer

from edgeplan.cli.output import console

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
    """Serve MODEL as `edgeplan` on http://HOST:PORT/v2/models/edgeplan/infer (KServe v2 /
    Open Inference Protocol: metadata, config, JSON and binary tensor data): input `image`
    (BYTES, encoded frames), output `detections` (BYTES, JSON per image). The model is loaded
    first: one that cannot load exits non-zero with the reason."""
    from edgeplan.cloud.serve import load, run

    loaded = load(model, backend, threads)
    console.print(
        f"serving {model.name} ({loaded.backend}) as `edgeplan` on http://{host}:{port}/v2",
        highlight=False,
    )
    run(loaded, host, port)
