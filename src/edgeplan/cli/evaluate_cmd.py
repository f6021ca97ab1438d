"""`edgeplan evaluate MODEL --data PATH`: accuracy, agreement (--reference) or cascade."""

import json
import time
from dataclasses import replace
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgeplan.backends import BackendOptions
from edgeplan.cli.output import console, quiet_third_party
from edgeplan.cli.render_accuracy import accuracy_table, cascade_table
from edgeplan.data.cascade import evaluate_cascade
from edgeplan.data.evaluate import EvalConfig
from edgeplan.data.evaluate import evaluate as run_evaluate
from edgeplan.errors import ConfigError
from edgeplan.records.accuracy import AccuracyRecord, CascadeRecord
from edgeplan.records.store import RecordStore

FORMATS = ("auto", "imagenet", "coco", "yolo", "folder")


def evaluate(
    model: Path = typer.Argument(..., help="Model file (ONNX, TFLite, OpenVINO IR)."),
    data: Path = typer.Option(
        ..., help="Dataset: ImageNet list/folder, COCO JSON, YOLO dir, images."
    ),
    fmt: str = typer.Option("auto", "--format", help="auto | imagenet | coco | yolo | folder"),
    limit: int | None = typer.Option(None, min=1, help="Evaluate the first N images only."),
    backend: str | None = typer.Option(None, help="onnxruntime | openvino | litert"),
    threads: int | None = typer.Option(None, min=1, help="Inference threads."),
    card: Path | None = typer.Option(None, help="Model card YAML (default: beside / built-in)."),
    label_offset: int = typer.Option(0, min=0, help="Added to dataset labels."),
    score_threshold: float = typer.Option(
        0.001, min=0, max=1, help="Detection score floor for mAP (COCO convention)."
    ),
    bootstrap: int = typer.Option(200, min=10, help="Bootstrap resamples for the 95% interval."),
    reference: Path | None = typer.Option(None, help="Reference model: report agreement with it."),
    cascade: Path | None = typer.Option(None, help="Cloud model: sweep the escalation band."),
    cloud_backend: str | None = typer.Option(None, help="Backend for --cascade / --reference."),
    accuracy_floor: float | None = typer.Option(None, help="Cascade: mark bands holding this."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the record as JSON here."),
    store: Path | None = typer.Option(None, help="Records store (default ~/.cache/edgeplan)."),
    conditions: str | None = typer.Option(
        None,
        help="Also evaluate under deployment conditions (comma list): low-light, motion-blur, "
        "noise, jpeg, occlusion; each at a stated severity, clean images first.",
    ),
    cluster: str | None = typer.Option(
        None, help="Ray cluster address (HEAD:PORT): evaluate on a node offering --device."
    ),
    device: str | None = typer.Option(
        None,
        help="With --cluster: the farm device (catalogue id); the dataset is read at the same "
        "path on its node.",
    ),
) -> None:
    """Accuracy of MODEL on labelled data (top-1/top-5, COCO mAP), agreement with a reference
    model on any images, or a cascade sweep with a cloud model. Each figure has its sample count,
    a bootstrap 95% interval and the dataset's checksum."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")
    if reference and cascade:
        raise ConfigError("give --reference or --cascade, not both")
    from edgeplan.data import conditions as cond

    wanted = cond.parse(conditions) if conditions else []
    if wanted and cascade:
        raise ConfigError("--conditions applies to accuracy or agreement, not to --cascade")
    if (cluster is None) != (device is None):
        raise ConfigError("--cluster and --device go together (a farm device to evaluate on)")
    if cluster is not None and (reference or cascade):
        raise ConfigError(
            "--cluster evaluates accuracy (and --conditions), not --reference/--cascade"
        )
    cfg = EvalConfig(
        model=model,
        data=data,
        fmt=fmt,
        backend=backend,
        options=BackendOptions(threads=threads),
        card=card,
        limit=limit,
        label_offset=label_offset,
        score_threshold=score_threshold,
        n_boot=bootstrap,
        reference=reference,
        reference_backend=cloud_backend,
    )
    with (
        quiet_third_party() as log,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as bar,
    ):
        task = bar.add_task(f"evaluating {model.name}", total=None)

        def progress(total: int | None) -> None:
            if total is not None:
                bar.update(task, total=total)
            else:
                bar.advance(task)

        t0 = time.perf_counter()
        under: list[AccuracyRecord] = []
        record: AccuracyRecord | CascadeRecord
        if cluster is not None and device is not None:
            bar.update(task, description=f"evaluating {model.name} on {device} at {cluster}")
            record, *under = _on_farm(cfg, cluster, device, wanted)
        else:
            record = (
                evaluate_cascade(cfg, cascade, cloud_backend, accuracy_floor, progress=progress)
                if cascade is not None
                else run_evaluate(cfg, progress)
            )
            for name in wanted:
                bar.update(task, description=f"evaluating {model.name} under {name}", completed=0)
                under.append(run_evaluate(replace(cfg, condition=name), progress))
    with RecordStore(store) as st:
        for r in (record, *under):
            st.put(r)
        path = st.path
    if isinstance(record, CascadeRecord):
        console.print(cascade_table(record))
    else:
        console.print(accuracy_table(record))
        for p in record.problems:
            console.print(f"[yellow]skipped:[/] {p}", highlight=False)
        if under:
            console.print(conditions_table(record, under))
    console.print(
        f"record [bold]{record.record_id}[/] in {path} ({time.perf_counter() - t0:.1f} s); "
        f"log: {log}",
        highlight=False,
    )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        body = (
            [r.model_dump(mode="json") for r in (record, *under)]
            if under
            else record.model_dump(mode="json")
        )
        json_out.write_text(json.dumps(body, indent=2))
        console.print(f"wrote {json_out}")


def _on_farm(cfg: EvalConfig, cluster: str, device: str, wanted: list[str]) -> list[AccuracyRecord]:
    """Clean, then each condition, on a node offering `device`; records as measured there."""
    from edgeplan.farm import as_measured_on, check_device, config_fields, evaluate_on

    check_device(device)
    out = []
    for condition in (None, *wanted):
        fields = config_fields(replace(cfg, condition=condition))
        got = evaluate_on(cluster, device, cfg.model, fields)
        rec = AccuracyRecord.model_validate(got["record"])
        out.append(as_measured_on(rec, device, got["node_id"], cluster, cfg.model))
    return out


def conditions_table(clean: AccuracyRecord, under: list[AccuracyRecord]) -> Table:
    """Each metric clean and under each condition, with its 95% interval and the change."""
    from edgeplan.data.conditions import describe

    names = [r.condition for r in under if r.condition]
    t = Table(
        title=f"{Path(clean.model_path).name} under deployment conditions",
        caption="\n".join(f"{n}: {describe(n)}" for n in names),
        caption_justify="left",
    )
    for c in ("condition", "metric", "value (95% CI)", "vs clean"):
        t.add_column(c)
    base = {m.metric: m.value for m in clean.metrics}
    for r in (clean, *under):
        for m in r.metrics:
            delta = "" if r is clean else f"{m.value - base.get(m.metric, m.value):+.3f}"
            t.add_row(
                r.condition or "clean",
                m.metric,
                f"{m.value:.3f} ({m.ci95_low:.3f}-{m.ci95_high:.3f})",
                delta,
            )
    return t
