"""`edgeplan project`: projected figures on hardware we do not own, with bands and reasons."""

import difflib
import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from edgeplan.catalogue import load_catalogue
from edgeplan.cli.output import console
from edgeplan.errors import ConfigError
from edgeplan.projection.batch import (
    GOAL_MDAPE_PCT,
    project_published,
    validation_json,
    validation_rows,
)
from edgeplan.projection.cache import cached_calibrate
from edgeplan.projection.field import field_rows
from edgeplan.projection.profile import from_analysis, from_facts
from edgeplan.projection.project import project as run_project
from edgeplan.projection.rows import runtime_name
from edgeplan.records.precedence import best
from edgeplan.records.store import RecordStore

PRECISIONS = ("int8", "fp16", "fp32")


def project(
    model: str | None = typer.Argument(
        None,
        help="Model file (ONNX/TFLite/IR) or catalogue model id (anchored on its published "
        "figures on the device or a sibling chip, where it has some).",
    ),
    device: list[str] = typer.Option(
        [], help="Catalogue device id; repeat for several, or separate them with commas."
    ),
    precision: str = typer.Option("int8", help="int8 | fp16 | fp32"),
    runtime: str | None = typer.Option(
        None,
        help="On a CPU timed under several runtimes (tflite, onnxruntime, openvino, ncnn, mnn): "
        "the one to project for, at its fitted factor. Default: onnxruntime where the device's "
        "rows hold it, else its best-covered runtime.",
    ),
    published: Path | None = typer.Option(
        None, help="Batch: CSV with published_latency.csv columns."
    ),
    out: Path | None = typer.Option(None, help="Batch output CSV (with --published)."),
    validate: bool = typer.Option(
        False,
        "--validate",
        help="Leave-one-model-out error per device, and the anchored projections' held-out error.",
    ),
    catalogue: Path | None = typer.Option(None, help="CSV adding or overriding catalogue rows."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the figures as JSON."),
    store: Path | None = typer.Option(None, help="Records store, for imported on-device records."),
) -> None:
    """Project a model onto devices we do not own (roofline calibrated on published figures),
    or run the batch / validation modes. Every figure says `projected` and carries its band."""
    cat = load_catalogue(catalogue)
    if validate:  # the catalogue's published rows only: a figure anyone can reproduce
        _validate(cached_calibrate(cat), json_out)
        return
    with RecordStore(store) as st:
        measured, why = field_rows(st.of_kind("characterisation", "measured-on-device"), cat)
    for w in why:
        console.print(f"[yellow]not calibrated on[/yellow] {w}")
    cal = cached_calibrate(cat, measured=measured)
    if measured:
        console.print(
            f"calibrated on the published rows and {len(measured)} rows measured on devices "
            f"({', '.join(sorted({r.device_id for r, _ in measured}))})"
        )
    if published is not None:
        if out is None:
            raise ConfigError("--published needs --out OUT.csv")
        n, done = project_published(published, out, cat, cal)
        console.print(
            f"projected {done} of {n} rows (the rest marked not deployable with a reason) -> {out}"
        )
        return
    device = [d.strip() for entry in device for d in entry.split(",") if d.strip()]
    if model is None or not device:
        raise ConfigError("give MODEL_OR_ID and --device (or --published / --validate)")
    if precision not in PRECISIONS:
        raise ConfigError(
            f"--precision {precision!r} is not allowed; allowed: {', '.join(PRECISIONS)}"
        )
    for dev in device:  # every id checked before any work, each error listing the valid ones
        cat.device(dev)
    if runtime is not None:
        known = sorted({runtime_name(r.framework) for r in cat.published if r.framework})
        if runtime_name(runtime) not in known:
            raise ConfigError(
                f"--runtime {runtime!r} is not a runtime of any published row; allowed: "
                + ", ".join(known)
            )
    profile, sha, mix = _profile(model, cat, cal)
    facts = {
        "gmacs": round(profile.gmacs, 4),
        "params_m": round(profile.params_m, 4),
        "kernel_tags": sorted(profile.kernels),
        "kernel_mix": mix,
        "layers": profile.layers,
        "depth": profile.depth,
        "layers_source": _layers_source(model, cat, mix),
        "gemm_gmacs": round(profile.gemm_gmacs, 4),
        "attention_gmacs": round(profile.attention_gmacs, 4),
        "depthwise_gmacs": round(profile.depthwise_gmacs, 4),
        "depthwise_estimated": mix is None
        and model in cat.models
        and cat.models[model].depthwise_gmacs is None,
        "act_elements_m": round(profile.act_elements_m, 3) if profile.act_elements_m else None,
        "source": profile.source,
    }
    results = []
    for dev in device:
        on_dev = _on_device(store, sha, dev) if sha else None
        pr = run_project(
            profile, dev, precision, cal, cat, runtime=runtime_name(runtime) if runtime else None
        )
        results.append({"projection": asdict(pr), "measured_on_device": on_dev, "model": facts})
    _print(results, profile.name, precision)
    console.print(_kernel_line(profile.name, facts))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2))
        console.print(f"wrote {json_out}")


def _layers_source(model: str, cat, mix: dict | None) -> str:
    """Where the layer count comes from: the graph, the catalogue's count, or its estimate."""
    if mix is not None:
        return "counted in the graph (conv, depthwise, pointwise, gemm ops)"
    m = cat.models.get(model)
    if m is not None and m.layers:
        return "catalogue (counted from the architecture definition)"
    return "estimated: the median count of the catalogue's models of its task"


def _kernel_line(name: str, facts: dict) -> str:
    """One line: the model's kernels by MACs (from its graph), or its catalogue tags, and its
    weighted layers (what a per-layer cost and a context split count)."""
    tags = ", ".join(facts["kernel_tags"]) or "none"
    mix = facts["kernel_mix"]
    layers = f"; {facts['layers']} weighted layers ({facts['layers_source']})"
    if facts.get("depth") and facts["depth"] != facts["layers"]:
        layers += f", {facts['depth']} on its longest path"
    if facts.get("act_elements_m"):
        layers += f"; they move {facts['act_elements_m']:g} M activation elements"
    if not mix:
        of = []
        if facts["gemm_gmacs"]:
            of.append(f"{facts['gemm_gmacs']:g} in matrix products")
            if facts["attention_gmacs"]:
                of[-1] += f", {facts['attention_gmacs']:g} of them attention's"
        if facts["depthwise_gmacs"]:
            of.append(f"{facts['depthwise_gmacs']:g} in depthwise convolutions")
            if facts["depthwise_estimated"]:
                of[-1] += ", estimated from its task's median share"
        gemm = f" ({'; '.join(of)})" if of else ""
        return f"{name}: {facts['gmacs']:g} GMACs{gemm}; kernel tags (catalogue): {tags}" + layers
    parts = [
        f"{k} {v['macs'] / 1e6:.1f} MMACs ({v['count']} ops)"
        for k, v in sorted(mix.items(), key=lambda kv: -kv[1]["macs"])
        if v["macs"]
    ]
    return (
        f"{name}: {facts['gmacs']:g} GMACs in "
        + "; ".join(parts)
        + f"; kernel tags: {tags}"
        + layers
    )


def _profile(model: str, cat, cal):
    path = Path(model)
    if path.exists():
        from edgeplan.models import open_model
        from edgeplan.models.analysis import analyse
        from edgeplan.projection.kernels import kernel_mix

        mf = open_model(path)
        a = analyse(mf)
        return from_analysis(path.name, a), mf.sha256, kernel_mix(a.ops)
    if model in cat.models:
        m = cat.models[model]
        est = cal.estimated_gmacs.get(model) if m.gmacs is None else None
        prof = from_facts(m, est, "GMACs estimated from published latencies" if est else None)
        if prof is None:
            raise ConfigError(
                f"model {model!r} has no MACs in the catalogue and no published figure"
            )
        return prof, None, None
    near = difflib.get_close_matches(model.lower(), list(cat.models), n=3, cutoff=0.5)
    raise ConfigError(
        f"{model!r} is neither a model file nor a catalogue model id"
        + (f"; did you mean {', '.join(near)}?" if near else "")
        + f"\ncatalogue model ids: {', '.join(sorted(cat.models))}"
    )


def _on_device(store: Path | None, sha: str, device: str) -> dict | None:
    """The strongest evidence measured for this model on this device, by the one precedence
    rule (records.precedence): on the device itself, then in production."""
    with RecordStore(store) as st:
        pool = [
            r
            for r in [
                *st.of_kind("characterisation", "measured-on-device"),
                *st.of_kind("production"),
            ]
            if r.model_sha256 == sha
            and getattr(r, "device_id", None) == device
            and getattr(r, "latency_ms_p99", None) is not None
        ]
    r = best(pool, lambda x: x.provenance.source, lambda x: x.provenance.timestamp_utc)
    if r is None:
        return None
    return {
        "record_id": r.record_id,
        "latency_ms_p50": getattr(r, "latency_ms_p50", None),
        "latency_ms_p99": getattr(r, "latency_ms_p99", None),
        "throughput_fps": getattr(r, "throughput_fps", None),
        "source": r.provenance.source,
    }


def _print(results: list[dict], name: str, precision: str) -> None:
    t = Table(
        title=f"{name} at {precision}: projected (source: projected) unless measured on device"
    )
    for c in (
        "device",
        "deployable",
        "latency ms (band)",
        "fps",
        "power W",
        "source",
        "reason / notes",
    ):
        t.add_column(c)
    for res in results:
        p, m = res["projection"], res["measured_on_device"]
        lat = (
            f"{p['latency_ms']:.2f} ({p['latency_ms_low']:.2f}-{p['latency_ms_high']:.2f}, "
            f"±{p['band_pct']:.0f}%)"
        )
        src = "projected"
        if m:
            lat = f"p50 {m['latency_ms_p50']:.2f} / p99 {m['latency_ms_p99']:.2f}"
            src = f"{m['source']} ({m['record_id']}) supersedes"
        t.add_row(
            p["device"],
            "yes" if p["deployable"] else "no",
            lat,
            f"{p['throughput_fps']:.1f}" if p["throughput_fps"] else "-",
            f"{p['power_w']:g} ({p['power_source'].split(' ')[0]})",
            src,
            "; ".join([p["reason"], *p["notes"]]),
        )
    console.print(t)
    for res in results:
        p = res["projection"]
        console.print(f"[dim]{p['device']}: {p['calibration']}[/]", highlight=False)


def _validate(cal, json_out: Path | None) -> None:
    rows = validation_rows(cal)
    t = Table(title="leave-one-model-out validation (projected vs published)")
    for c in ("device", "n", "models", "> 50%", "MdAPE %", "80% band covers", "median band ±%"):
        t.add_column(c)
    t.add_column("why")
    for r in rows:
        t.add_row(
            r["device"],
            str(r["predictions"]),
            str(r["models"]),
            str(r["models_above_50_pct"]) if r["predictions"] else "-",
            "-" if r["mdape_pct"] is None else f"{r['mdape_pct']:g}",
            "-" if r["coverage_80_pct"] is None else f"{r['coverage_80_pct']:g}%",
            "-" if r["median_band_pct"] is None else f"{r['median_band_pct']:g}",
            r["why"],
        )
    v = validation_json(cal)
    console.print(t)
    console.print(
        f"overall MdAPE {v['mdape_pct']:g}% over {v['n']} predictions (goal <= "
        f"{GOAL_MDAPE_PCT:g}%); the 80% band covers {v['coverage_80_pct']:g}% of held-out "
        f"figures, median half-width ±{v['median_band_pct']:g}%",
        highlight=False,
    )
    worst_plain = sorted(r["device"] for r in rows if r["models_above_50_pct"] >= 3)
    console.print(
        "devices with 3 or more models above 50% (any of the model's figures): "
        + (", ".join(worst_plain) or "none"),
        highlight=False,
    )
    if v["n_farthest_tenth"]:
        console.print(
            f"for the models farthest from their device's others (a tenth of each device's, "
            f"{v['n_farthest_tenth']} figures) it covers {v['coverage_80_farthest_tenth_pct']:g}%",
            highlight=False,
        )
    a = v["anchored"]
    if a:
        worst = sorted(d for d, r in a["per_device"].items() if r["models_above_50_pct"] >= 3)
        console.print(
            f"anchored on the model's published figures on sibling chips (the model left out of "
            f"the device only): MdAPE {a['mdape_pct']:g}% over {a['n']} figures, where the "
            f"device model alone has {a['model_only_mdape_pct']:g}% on the same figures; the "
            f"80% band covers {a['coverage_80_pct']:g}%, median half-width "
            f"±{a['median_band_pct']:g}%; devices with 3 or more models above 50%: "
            + (", ".join(worst) or "none"),
            highlight=False,
        )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(v, indent=2))
        console.print(f"wrote {json_out}")
