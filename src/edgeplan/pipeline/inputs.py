"""Turn a fleet + measurements on this host + projections into the planner's inputs."""

from dataclasses import dataclass, field
from pathlib import Path

from edgeplan.catalogue.load import Catalogue
from edgeplan.models.analysis import analyse
from edgeplan.models.files import open_model
from edgeplan.pipeline.measure import CacheStats, accuracy, host_records
from edgeplan.pipeline.refs import ModelRef, resolve_data, resolve_model
from edgeplan.planning import DeviceCost, PerfPoint, PlanInputs
from edgeplan.progress import Progress
from edgeplan.projection.calibrate import Calibration
from edgeplan.projection.profile import CostProfile, from_analysis, from_facts
from edgeplan.projection.project import DEFAULT_POWER_W, project
from edgeplan.records.accuracy import AccuracyRecord
from edgeplan.records.store import RecordStore
from edgeplan.records.types import CharacterisationRecord
from edgeplan.spec.fleet import Fleet

# the precision a model is deployed at, by device kind
KIND_PRECISION = {"tpu": "int8", "npu": "int8", "vpu": "fp16", "gpu-soc": "fp16", "cpu": "fp32"}
IDLE_SHARE = 0.3  # idle power as a share of max when a device publishes no idle figure (assumed)


@dataclass
class Evidence:
    """Everything the report shows besides the plan: records behind each model, notes."""

    host: dict[str, list[CharacterisationRecord]] = field(default_factory=dict)
    accuracy: dict[str, AccuracyRecord] = field(default_factory=dict)
    projections: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: CacheStats = field(default_factory=CacheStats)


QUANT_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "ConvInteger",
    "MatMulInteger",
    "QLinearMatMul",
    "QUANTIZE",
    "DEQUANTIZE",
}


def is_quantised(ref: ModelRef, profile: CostProfile) -> bool:
    """An int8 model already (quantise ops in the graph, or a uint8/int8 TFLite input)?"""
    if ref.path is not None and open_model(ref.path).format == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        dtypes = [d["dtype"].__name__ for d in Interpreter(str(ref.path)).get_input_details()]
        return any(d in ("uint8", "int8") for d in dtypes)
    return any(op in QUANT_OPS for op, _ in profile.ops)


def _best_host(recs: list[CharacterisationRecord]) -> CharacterisationRecord | None:
    return min(recs, key=lambda r: r.latency_ms_p99) if recs else None


def _profile(ref: ModelRef, cat: Catalogue, cal: Calibration) -> CostProfile | None:
    if ref.path is not None:
        return from_analysis(ref.ref, analyse(open_model(ref.path)))
    m = cat.models[ref.catalogue_id]  # type: ignore[index]
    est = cal.estimated_gmacs.get(m.id) if m.gmacs is None else None
    return from_facts(m, est)


def _published_accuracy(ref: ModelRef, cat: Catalogue) -> float | None:
    if ref.catalogue_id is None:
        return None
    m = cat.models[ref.catalogue_id]
    v = m.map50_95 if m.map50_95 is not None else m.top1
    return v / 100 if v is not None else None


def build_inputs(
    fleet: Fleet,
    base: Path,
    cat: Catalogue,
    cal: Calibration,
    store: RecordStore,
    cache: Path,
    quick: bool,
    progress: Progress,
) -> tuple[PlanInputs, Evidence]:
    ev = Evidence()
    perf: list[PerfPoint] = []
    devices: dict[str, DeviceCost] = {}
    for h in fleet.hardware:
        hw = cat.device(h.id)
        idle = (
            hw.power_min_w
            if hw.power_min_w is not None
            else ((hw.power_max_w or DEFAULT_POWER_W.get(hw.kind, 10.0)) * IDLE_SHARE)
        )
        price = h.price_usd if h.price_usd is not None else hw.price_usd
        if price is None:
            raise_missing_price(h.id)
        devices[h.id] = DeviceCost(
            h.id,
            float(price),
            h.life_years,
            float(idle),
            "fleet.yaml" if h.price_usd is not None else "published",
            hw.end_of_support,
        )
    refs: dict[str, ModelRef] = {}
    for ci, cam in enumerate(fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            where = f"cameras[{ci}] ({cam.id}) workloads[{wi}] ({w.task})"
            for m in [*w.models, *w.cloud_models]:
                if m not in refs:
                    refs[m] = resolve_model(m, base, cat, where)
    # accuracy per model: measured on the workload's data, else published; for int8-only devices,
    # the accuracy of a calibrated int8 variant measured on the same data
    acc: dict[str, tuple[float | None, str]] = {}
    acc8: dict[str, tuple[float | None, str, str, str]] = {}
    needs_int8 = any(KIND_PRECISION.get(cat.device(d).kind) == "int8" for d in devices)
    for ci, cam in enumerate(fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            if not w.validation_data:
                continue
            where = f"cameras[{ci}] ({cam.id}) workloads[{wi}] ({w.task})"
            data = resolve_data(w.validation_data, base, cache, where)
            reference = None
            if w.validation_reference:
                if w.validation_reference not in refs:
                    refs[w.validation_reference] = resolve_model(
                        w.validation_reference, base, cat, where + " validation_reference"
                    )
                reference = refs[w.validation_reference].path
            for m in {*w.models, *w.cloud_models}:
                ref = refs[m]
                if ref.path is None or m in acc:
                    continue
                rec = accuracy(ref.path, data, reference, store, quick, ev.stats, progress)
                ev.accuracy[m] = rec
                if needs_int8:
                    _int8_accuracy(m, ref, data, reference, store, cache, quick, ev, acc8, progress)
                kind = "agreement" if rec.figure == "agreement" else "measured"
                acc[m] = (
                    rec.value,
                    f"{kind}: {rec.metric} on {rec.dataset_name} (n={rec.samples})",
                )
                if reference is not None and ref.path.resolve() == reference.resolve():
                    acc[m] = (
                        rec.value,
                        f"agreement: the reference itself ({rec.value:.2f} by "
                        "definition, not a measure of its accuracy)",
                    )
    for m, ref in refs.items():
        if m not in acc:
            pub = _published_accuracy(ref, cat)
            acc[m] = (pub, "published" if pub is not None else "none")
    # this host: characterise every model file
    for m, ref in refs.items():
        if ref.path is not None:
            ev.host[m] = host_records(ref.path, store, quick, None, ev.stats, progress)
    # projections onto each candidate device (an accelerator runs what it cannot on its host)
    hosts = accelerator_hosts(fleet, cat)
    quantised: dict[str, bool] = {}
    for m, ref in refs.items():
        prof = _profile(ref, cat, cal)
        quantised[m] = prof is not None and is_quantised(ref, prof)
        if prof is None:
            ev.notes.append(f"{m}: no MACs known, cannot be projected")
            continue
        host = _best_host(ev.host.get(m, []))
        tail = host.latency_ms_p99 / host.latency_ms_p50 if host else 1.3
        for dev in devices:
            hw = cat.device(dev)
            prec = KIND_PRECISION.get(hw.kind, "fp32")
            pr = project(prof, dev, prec, cal, cat, host=hosts.get(dev))
            ev.projections.append(
                {
                    "model": m,
                    "device": dev,
                    "precision": prec,
                    **pr.__dict__,
                    "latency_ms_p99": round(float(pr.latency_ms or 0) * tail, 3),
                    "tail": round(tail, 3),
                }
            )
            a, a_src = acc[m]
            note = f"{prec}; p99 = projected x {tail:.2f} (the p99/p50 measured on this host)"
            artifact, variant = "", ""
            if prec == "int8" and ref.path is not None and not quantised[m]:
                # never carry a float model's accuracy to an int8 conversion nobody validated
                a, a_src, artifact, variant = acc8.get(
                    m, (None, "not validated at int8: quantise and evaluate first", "", "")
                )
                note += (
                    "; accuracy of a calibrated int8 variant, measured"
                    if a is not None
                    else "; needs an int8 conversion whose accuracy is not measured"
                )
            elif prec == "fp16" and a is not None:
                a_src += " (fp16 assumed lossless)"
            perf.append(
                PerfPoint(
                    model=m,
                    hardware=dev,
                    latency_ms_p99=float(pr.latency_ms or 0) * tail,
                    throughput_fps=float(pr.throughput_fps or 0),
                    accuracy=a,
                    power_w=pr.power_w,
                    source="projected",
                    band_pct=pr.band_pct,
                    backend=prec,
                    deployable=pr.deployable,
                    note=note + "; " + pr.reason,
                    accuracy_source=a_src,
                    artifact=artifact,
                    variant=variant,
                )
            )
    # cloud options run cloud models at this host's measured speed x an assumed speed-up
    for opt in fleet.cloud:
        for m in refs:
            host = _best_host(ev.host.get(m, []))
            a, a_src = acc[m]
            if opt.kind == "api":
                perf.append(
                    PerfPoint(
                        m,
                        opt.id,
                        opt.api_latency_ms,
                        1e6,
                        a,
                        None,
                        "assumed",
                        note="API latency assumed (fleet.yaml api_latency_ms)",
                    )
                )
            elif host is not None:
                perf.append(
                    PerfPoint(
                        m,
                        opt.id,
                        host.latency_ms_p99 / opt.speedup_vs_host,
                        host.throughput_fps * opt.speedup_vs_host,
                        a,
                        None,
                        "measured" if opt.speedup_vs_host == 1.0 else "assumed",
                        note=f"this host's figures x speed-up {opt.speedup_vs_host:g} (assumed)",
                        accuracy_source=a_src,
                    )
                )
    return PlanInputs(fleet=fleet, perf=tuple(perf), devices=devices), ev


def _int8_accuracy(
    m: str,
    ref: ModelRef,
    data: Path,
    reference: Path | None,
    store: RecordStore,
    cache: Path,
    quick: bool,
    ev: Evidence,
    acc8: dict,
    progress: Progress,
) -> None:
    """Build and evaluate the int8 variant of an ONNX model; a failure is a note, not a crash."""
    from edgeplan.errors import EdgeplanError
    from edgeplan.pipeline.measure import int8_variant

    if m in acc8 or ref.path is None:
        return
    try:
        built = int8_variant(ref.path, data, cache, progress)
    except (EdgeplanError, RuntimeError, ValueError) as exc:
        ev.notes.append(f"{m}: int8 variant failed ({exc}); int8-only devices keep no accuracy")
        return
    if built is None:
        return
    path, label = built
    rec = accuracy(
        path,
        data,
        reference,
        store,
        quick,
        ev.stats,
        progress,
        card=path.parent / "model.card.yaml",
    )
    ev.accuracy[f"{m} [{label}]"] = rec
    kind = "agreement" if rec.figure == "agreement" else "measured"
    acc8[m] = (
        rec.value,
        f"{kind}: {rec.metric} of its {label} variant on {rec.dataset_name} (n={rec.samples})",
        str(path),
        label,
    )


def accelerator_hosts(fleet: Fleet, cat: Catalogue) -> dict[str, str]:
    """Host per candidate device: `hardware[].host`, else the cheapest CPU candidate listed."""
    cpus = [h.id for h in fleet.hardware if cat.device(h.id).kind == "cpu"]
    cheapest = min(cpus, key=lambda d: cat.device(d).price_usd or float("inf"), default=None)
    return {h.id: h.host or cheapest for h in fleet.hardware if (h.host or cheapest)}


def raise_missing_price(device: str) -> None:
    from edgeplan.errors import ConfigError

    raise ConfigError(f"hardware {device!r} has no catalogue price: give hardware[].price_usd")
