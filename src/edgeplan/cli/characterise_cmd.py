"""`edgeplan characterise MODEL`: measure a model on this host and store the record."""

import json
from enum import StrEnum
from pathlib import Path
from typing import cast

import typer

from edgeplan.backends import BackendOptions, backend_for, get_backend
from edgeplan.backends.base import Device, PerfHint, Precision
from edgeplan.bench.characterise import CharacteriseConfig, cache_key, record_json
from edgeplan.bench.characterise import characterise as run_characterise
from edgeplan.bench.loadgen import Scenario
from edgeplan.cli.output import console, quiet_third_party
from edgeplan.cli.progress import step_progress
from edgeplan.cli.render import summary_tables
from edgeplan.errors import ConfigError
from edgeplan.models import open_model
from edgeplan.records.store import RecordStore
from edgeplan.records.types import CharacterisationRecord


class BackendName(StrEnum):
    onnxruntime = "onnxruntime"
    openvino = "openvino"
    litert = "litert"


class ScenarioName(StrEnum):
    SingleStream = "SingleStream"
    MultiStream = "MultiStream"
    Server = "Server"
    Offline = "Offline"


def characterise(
    model: Path = typer.Argument(..., help="ONNX, TFLite or OpenVINO IR (.xml) model file."),
    backend: BackendName | None = typer.Option(
        None, help="Runtime; default: first that takes the format."
    ),
    threads: int | None = typer.Option(None, min=1, help="Intra-op / inference threads."),
    precision: str = typer.Option("auto", help="auto | f32 | bf16 | fp16 (openvino hint)."),
    perf_hint: str = typer.Option("latency", help="latency | throughput (openvino hint)."),
    device: str = typer.Option(
        "cpu",
        help="The onnxruntime EP here (cpu | cuda | tensorrt | qnn | coreml | migraphx | rocm); "
        "with --cluster, the farm device (catalogue id) whose node runs it.",
    ),
    ep: str | None = typer.Option(
        None, help="The onnxruntime EP (with --cluster, on the device's node); default cpu."
    ),
    cluster: str | None = typer.Option(
        None,
        help="Ray cluster address (HEAD:PORT): run on a node that offers device:DEVICE; the "
        "record comes back as measured on that device.",
    ),
    scenario: list[ScenarioName] = typer.Option(
        ["SingleStream", "Offline"], help="LoadGen scenarios; SingleStream always runs. Repeat."
    ),
    duration_s: float = typer.Option(
        10.0,
        min=0.5,
        help="SingleStream / sustained run length (others get a quarter). Real runs: 600.",
    ),
    min_queries: int = typer.Option(
        64, min=1, help="LoadGen minimum query count. Real runs: 1024."
    ),
    streams: int = typer.Option(8, min=1, help="MultiStream samples per query."),
    server_bound_ms: float | None = typer.Option(
        None, help="Server: p99 bound for the QPS search (default 4x SingleStream p99)."
    ),
    concurrency: int = typer.Option(0, min=0, help="Camera streams sharing the host (0 = skip)."),
    fps: float = typer.Option(10.0, min=0.1, help="Demanded fps per stream for --concurrency."),
    images: Path | None = typer.Option(None, help="Folder of images for samples and stages."),
    video: Path | None = typer.Option(None, help="Video file for samples and stages."),
    card: Path | None = typer.Option(None, help="Model card YAML (default: MODEL.card.yaml)."),
    data: Path | None = typer.Option(None, help="Labelled data: measure accuracy too."),
    data_limit: int | None = typer.Option(None, min=1, help="Evaluate the first N of --data."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the record as JSON here."),
    store: Path | None = typer.Option(None, help="Records store (default ~/.cache/edgeplan)."),
    reuse: bool = typer.Option(
        False,
        help="Reuse a stored record with the same cache key (model bytes, backend, options, "
        "host, harness settings) instead of measuring again.",
    ),
) -> None:
    """Measure MODEL on this host (or, with --cluster, on a farm node offering --device): cold
    start, LoadGen latency percentiles and throughput, per-stage pipeline time, drift, memory,
    energy (when counters exist) and an op profile."""
    farm_device = None
    if cluster is not None:
        from edgeplan.farm import check_device

        check_device(device)
        farm_device, device = device, ep or "cpu"
    elif ep is not None:
        device = ep
    allowed = {
        "precision": ("auto", "f32", "bf16", "fp16"),
        "perf_hint": ("latency", "throughput"),
        "device": ("cpu", "cuda", "tensorrt", "qnn", "coreml", "migraphx", "rocm"),
    }
    for opt, value in (("precision", precision), ("perf_hint", perf_hint), ("device", device)):
        if value not in allowed[opt]:
            raise ConfigError(
                f"--{opt.replace('_', '-')}: {value!r} is not allowed; "
                f"allowed: {', '.join(allowed[opt])}"
            )
    if images and video:
        raise ConfigError("give --images or --video, not both")
    options = BackendOptions(
        threads=threads,
        device=cast(Device, device),  # checked against the allowed values above
        precision=cast(Precision, precision),
        performance_hint=cast(PerfHint, perf_hint),
    )
    cfg = CharacteriseConfig(
        model=model,
        backend=backend.value if backend else None,
        options=options,
        card=card,
        scenarios=cast(
            tuple[Scenario, ...],
            tuple(dict.fromkeys(["SingleStream", *(s.value for s in scenario)])),
        ),
        duration_s=duration_s,
        min_queries=min_queries,
        images=images,
        video=video,
        multistream_streams=streams,
        server_latency_bound_ms=server_bound_ms,
        concurrency_streams=concurrency,
        concurrency_fps=fps,
        data=data,
        data_limit=data_limit,
    )
    if cluster is not None and farm_device is not None:
        _on_farm(cfg, cluster, farm_device, store, json_out)
        return
    cached = _cached(cfg, store) if reuse else None
    if cached is not None:
        console.print(
            f"reusing record {cached.record_id} ({cached.provenance.timestamp_utc}): "
            "same model bytes, backend, options, host and harness settings"
        )
        _finish(cached, store, json_out, store_it=False)
        return
    with (
        quiet_third_party() as log,
        step_progress(console, f"characterising {model.name}", f"{model.name}: ") as progress,
    ):
        record = run_characterise(cfg, progress)
    _finish(record, store, json_out, store_it=True)
    console.print(f"[dim]third-party output: {log}[/]", highlight=False)


def _on_farm(
    cfg: CharacteriseConfig, cluster: str, device: str, store: Path | None, json_out: Path | None
) -> None:
    """Run on the device's node; store the record as measured on that device."""
    import time

    from edgeplan.farm import as_measured_on, characterise_on, config_fields

    fields = config_fields(cfg)
    t0 = time.perf_counter()
    with step_progress(console, f"characterising {cfg.model.name} on {device}") as progress:
        progress(f"on the cluster at {cluster}, a node with device:{device}")
        got = characterise_on(cluster, device, cfg.model, fields)
    rec = as_measured_on(
        CharacterisationRecord.model_validate(got["record"]),
        device,
        got["node_id"],
        cluster,
        cfg.model,
    )
    console.print(
        f"ran on node {got['node_id'][:12]} ({device}) in {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )
    _finish(rec, store, json_out, store_it=True)


def _cached(cfg: CharacteriseConfig, store: Path | None) -> CharacterisationRecord | None:
    model = open_model(cfg.model)
    backend = get_backend(cfg.backend) if cfg.backend else backend_for(model)
    with RecordStore(store) as st:
        rec = st.find_cached(cache_key(model.sha256, backend.name, cfg.options, cfg))
    return rec if isinstance(rec, CharacterisationRecord) else None


def _finish(
    record: CharacterisationRecord, store: Path | None, json_out: Path | None, store_it: bool
) -> None:
    with RecordStore(store) as st:
        if store_it:
            st.put(record)
        path = st.path
    for table in summary_tables(record):
        console.print(table)
    for w in record.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"record [bold]{record.record_id}[/] in {path}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(record_json(record), indent=2))
        console.print(f"wrote {json_out}")
