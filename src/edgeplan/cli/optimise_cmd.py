"""`edgeplan optimise MODEL --data PATH --latency-ms-p99 T --accuracy-floor A`."""

import json
from collections.abc import Callable
from pathlib import Path
from textwrap import shorten
from typing import Any

import typer
from rich.table import Table

from edgeplan.cli.output import console, quiet_third_party
from edgeplan.cli.progress import step_progress
from edgeplan.errors import ConfigError
from edgeplan.sizing.search import SizingConfig
from edgeplan.sizing.search import optimise as run_optimise
from edgeplan.sizing.space import TARGETS


def optimise(
    model: Path = typer.Argument(..., help="Model to size (ONNX; TFLite and OpenVINO IR too)."),
    data: Path = typer.Option(..., help="Labelled data: evaluation split + disjoint calibration."),
    latency_ms_p99: float = typer.Option(..., help="Target p99 latency on this host, ms."),
    accuracy_floor: float = typer.Option(..., help="Minimum accuracy (the model's task metric)."),
    backends: str = typer.Option(
        "onnxruntime,openvino",
        help="Backends to search over: onnxruntime, openvino, litert (TFLite models), and "
        "openvino:f32 / openvino:bf16 / openvino:fp16 (OpenVINO's inference precision hint).",
    ),
    max_drop: float = typer.Option(
        0.01,
        min=0.0,
        help="NNCF accuracy-aware int8: the most the task metric may drop on the labelled "
        "calibration images (absolute); the evaluation split judges the result.",
    ),
    max_trials: int = typer.Option(
        14, min=1, help="Optuna trials (repeats are answered from cache)."
    ),
    threads: int | None = typer.Option(None, min=1, help="Inference threads."),
    eval_images: int = typer.Option(96, min=8, help="Images in the evaluation split."),
    json_out: Path | None = typer.Option(None, "--json", help="Write variants and choice as JSON."),
    store: Path | None = typer.Option(
        None, help="Records store for the sizing record (default ~/.cache/edgeplan)."
    ),
    conditions: str | None = typer.Option(
        None,
        help="Also validate every variant under these deployment conditions (comma list: "
        "low-light, motion-blur, noise, jpeg, occlusion); a variant may lose no more under any "
        "of them, against its parent, than the floor lets it lose on clean images.",
    ),
    cluster: str | None = typer.Option(
        None, help="Ray cluster address (HEAD:PORT): run the trials on nodes offering --device."
    ),
    device: str | None = typer.Option(
        None, help="With --cluster: the farm device (catalogue id) whose nodes run the trials."
    ),
    workers: int = typer.Option(
        2, min=1, help="With --cluster: trials running at once, each on a node with the device."
    ),
    study_storage: str | None = typer.Option(
        None,
        help="With --cluster: the optuna RDB storage the workers share. Default: SQLite in "
        "~/.cache/edgeplan (every node on this machine's disk); postgresql://... for a farm "
        "of machines.",
    ),
) -> None:
    """Search fp16, calibrated int8 (onnxruntime static: MinMax / Percentile / Entropy, u8 / s8
    activations; NNCF to OpenVINO IR or QDQ ONNX, plain or accuracy-aware within --max-drop;
    full-integer TFLite by onnx2tf when litert is searched), input resolution, backend and
    OpenVINO precision hint; validate every variant on the
    same data as its parent; stop at the latency target with the accuracy floor held."""
    names = tuple(b for b in backends.split(",") if b)
    bad = [b for b in names if b not in TARGETS]
    if bad:
        raise ConfigError(f"--backends {bad}: allowed {', '.join(TARGETS)}")
    from edgeplan.data.conditions import parse

    cfg = SizingConfig(
        conditions=tuple(parse(conditions)) if conditions else (),
        model=model,
        data=data,
        latency_ms_p99=latency_ms_p99,
        accuracy_floor=accuracy_floor,
        backends=names,
        max_trials=max_trials,
        threads=threads,
        eval_images=eval_images,
        max_drop=max_drop,
    )
    if (cluster is None) != (device is None):
        raise ConfigError("--cluster and --device go together (a farm device to size on)")
    with (
        quiet_third_party() as log,
        step_progress(console, f"sizing {model.name}") as progress,
    ):
        if cluster is not None and device is not None:
            res = _on_farm(cfg, cluster, device, workers, study_storage, progress)
        else:
            res = run_optimise(cfg, progress)
    t = Table(
        title=f"variants of {model.name} (speed-up: p50 against its fp32 parent on the same "
        "backend, measured in this run)"
    )
    worst = "worst condition" if cfg.conditions else None
    for c in (
        "variant",
        "backend",
        "p50 ms",
        "p99 ms",
        "accuracy (95% CI)",
        *([worst] if worst else []),
        "speed-up",
        "accepted",
    ):
        t.add_column(c)
    for v in sorted(
        res["variants"], key=lambda v: (v["latency_ms_p99"] is None, v["latency_ms_p99"] or 0)
    ):
        if v["latency_ms_p99"] is None:
            dashes = ["-"] * (5 if worst else 4)
            why = shorten(v["reason"], 110, placeholder=" …")  # whole in --json and the record
            t.add_row(v["label"], v["backend"], *dashes, f"no: {why}")
            continue
        ci = v["accuracy_ci95"]
        under = v.get("under") or {}
        low = min(under, key=under.__getitem__) if under else None
        t.add_row(
            v["label"],
            v["backend"],
            f"{v['latency_ms_p50']:.2f}",
            f"{v['latency_ms_p99']:.2f}",
            f"{v['accuracy']:.3f} ({ci[0]:.3f}-{ci[1]:.3f})",
            *([f"{under[low]:.3f} ({low})" if low else "-"] if worst else []),
            f"{v['speedup_vs_parent']:.2f}x",
            "yes" if v["accepted"] else f"no: {v['reason']}",
        )
    console.print(t)
    console.print("Pareto set: " + "; ".join(res["pareto"]))
    for m in res["messages"]:
        console.print(f"[yellow]{m}[/]")
    c = res["chosen"]
    if c:
        console.print(
            f"chosen: [bold]{c['label']} on {c['backend']}[/] p99 {c['latency_ms_p99']:.2f} ms, "
            f"accuracy {c['accuracy']:.3f}; target {'met' if res['target_met'] else 'NOT met'}"
        )
    from edgeplan.models.files import open_model
    from edgeplan.records.sizing import sizing_record
    from edgeplan.records.store import RecordStore

    rec = sizing_record(res, open_model(model).sha256, str(model), str(data), device or "")
    with RecordStore(store) as st:
        st.put(rec)
        console.print(
            f"sizing record [bold]{rec.record_id}[/] in {st.path} (every variant's lineage)",
            highlight=False,
        )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, indent=2, default=str))
        console.print(f"wrote {json_out}")
    if "workers" in res:
        nodes = sorted({w["node_id"][:12] for w in res["workers"]})
        console.print(
            f"{len(res['study']['trials'])} trials of study {res['study']['name']} in "
            f"{res['study']['storage']}, by {len(res['workers'])} workers on node(s) "
            f"{', '.join(nodes)}",
            highlight=False,
        )
    console.print(f"[dim]third-party output: {log}[/]", highlight=False)


def _on_farm(
    cfg: SizingConfig,
    cluster: str,
    device: str,
    workers: int,
    storage: str | None,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The trials on the farm's nodes offering `device`, sharing one optuna study."""
    from edgeplan.farm import check_device, config_fields, optimise_on

    check_device(device)
    if storage is None:
        folder = Path.home() / ".cache" / "edgeplan"
        folder.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{folder / 'studies.sqlite'}"
    fields = config_fields(cfg, skip=("model", "cache"))  # the node keeps its own variant cache
    progress(f"{workers} workers on nodes with device:{device} at {cluster}")
    return optimise_on(cluster, device, cfg.model, fields, storage, workers)
