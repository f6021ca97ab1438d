"""Gatherers: one per kind of evidence `edgeplan plan` needs. Each reads the fleet and the records
store, measures what is missing (cached by content hash), and fills its part of `Evidence`."""

import hashlib
import json
from functools import partial
from pathlib import Path

import edgeplan
from edgeplan.catalogue.load import Catalogue
from edgeplan.models.analysis import analyse
from edgeplan.models.files import detect_format, open_model
from edgeplan.pipeline.deploy import CPU_BACKEND
from edgeplan.pipeline.evidence import Accuracy, CascadeChoice, Evidence
from edgeplan.pipeline.gather_int8 import Held, accuracy_of, accuracy_under, gather_int8, shown
from edgeplan.pipeline.measure import accuracy, cached_or_measure, host_records
from edgeplan.pipeline.refs import ModelRef, resolve_data, resolve_model
from edgeplan.progress import Progress
from edgeplan.projection.bands import Calibration
from edgeplan.projection.profile import CostProfile, from_analysis, from_facts
from edgeplan.projection.project import project
from edgeplan.projection.rows import runtime_name
from edgeplan.records.accuracy import (
    CascadeRecord,
    ProductionRecord,
    ProjectionRecord,
)
from edgeplan.records.provenance import Provenance
from edgeplan.records.store import RecordStore
from edgeplan.records.types import CharacterisationRecord
from edgeplan.spec.fleet import Fleet, Workload

# the precision a model is deployed at, by device kind
KIND_PRECISION = {
    "tpu": "int8",
    "npu": "int8",
    "vpu": "fp16",
    "gpu-soc": "fp16",
    "gpu": "fp16",
    "cpu": "fp32",
}
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


def _where(ci: int, cam_id: str, wi: int, task: str) -> str:
    return f"cameras[{ci}] ({cam_id}) workloads[{wi}] ({task})"


def gather_models(fleet: Fleet, base: Path, cat: Catalogue, ev: Evidence) -> None:
    """Resolve every model reference (files, packaged models, catalogue ids) before any work;
    an error names the camera and workload that use the reference."""
    for ci, cam in enumerate(fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            where = _where(ci, cam.id, wi, w.task)
            refs = [*w.models, *w.cloud_models]
            for m in refs:
                if m not in ev.refs:
                    ev.refs[m] = resolve_model(m, base, cat, where)
            if w.validation_reference and w.validation_reference not in ev.refs:
                ev.refs[w.validation_reference] = resolve_model(
                    w.validation_reference, base, cat, where + " validation_reference"
                )
    for m, ref in ev.refs.items():
        if ref.path is not None:
            ev.sha256[m] = open_model(ref.path).sha256


def _published(ref: ModelRef, cat: Catalogue) -> Accuracy:
    if ref.catalogue_id is None:
        return Accuracy(None, "none")
    m = cat.models[ref.catalogue_id]
    v = m.map50_95 if m.map50_95 is not None else m.top1
    return Accuracy(v / 100, "published") if v is not None else Accuracy(None, "none")


def gather_accuracy(
    fleet: Fleet,
    base: Path,
    cat: Catalogue,
    store: RecordStore,
    cache: Path,
    quick: bool,
    ev: Evidence,
    progress: Progress,
) -> None:
    """Accuracy per model on its workload's data (or agreement with the stated reference), else
    published; for int8-only candidate devices, the accuracy of a calibrated int8 variant."""
    needs_int8 = any(KIND_PRECISION.get(cat.device(h.id).kind) == "int8" for h in fleet.hardware)
    for ci, cam in enumerate(fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            if not w.validation_data:
                continue
            data = resolve_data(w.validation_data, base, cache, _where(ci, cam.id, wi, w.task))
            ref_model = ev.refs[w.validation_reference] if w.validation_reference else None
            reference = ref_model.path if ref_model else None
            for m in dict.fromkeys([*w.models, *w.cloud_models]):
                path = ev.refs[m].path
                if path is None or m in ev.accuracy:
                    continue
                rec = accuracy(path, data, reference, store, quick, ev.stats, progress)
                ev.accuracy_records[m] = rec
                ev.accuracy[m] = accuracy_of(rec)
                under = accuracy_under(
                    path, data, reference, w.conditions, store, quick, ev, progress
                )
                if under:
                    ev.notes.append(
                        f"{path.name} under {shown(under)} (clean {rec.value:.3f}; "
                        f"{rec.metric}, n={rec.samples})"
                    )
                if reference is not None and path.resolve() == reference.resolve():
                    ev.accuracy[m] = Accuracy(
                        rec.value,
                        f"agreement: the reference itself ({rec.value:.2f} by definition, not a "
                        "measure of its accuracy)",
                    )  # recall/precision against itself are meaningless: left unknown
                if needs_int8:
                    held = Held(w.accuracy_floor, rec.value, under, tuple(w.conditions))
                    gather_int8(m, path, data, reference, store, cache, quick, ev, progress, held)
    for m, ref in ev.refs.items():
        ev.accuracy.setdefault(m, _published(ref, cat))


def gather_host(store: RecordStore, quick: bool, ev: Evidence, progress: Progress) -> None:
    """Characterise every model file on this host, on every installed backend that takes it."""
    for m, ref in ev.refs.items():
        if ref.path is not None:
            ev.host[m] = host_records(ref.path, store, quick, None, ev.stats, progress)


def _profile(ref: ModelRef, cat: Catalogue, cal: Calibration) -> CostProfile | None:
    if ref.path is not None:
        return from_analysis(ref.ref, analyse(open_model(ref.path)))
    m = cat.models[ref.catalogue_id]  # type: ignore[index]
    est = cal.estimated_gmacs.get(m.id) if m.gmacs is None else None
    return from_facts(m, est)


def is_quantised(ref: ModelRef, profile: CostProfile) -> bool:
    """An int8 model already (quantise ops in the graph, or a uint8/int8 TFLite input)?"""
    if ref.path is not None and open_model(ref.path).format == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        dtypes = [d["dtype"].__name__ for d in Interpreter(str(ref.path)).get_input_details()]
        return any(d in ("uint8", "int8") for d in dtypes)
    return any(op in QUANT_OPS for op, _ in profile.ops)


def accelerator_hosts(fleet: Fleet, cat: Catalogue) -> dict[str, str]:
    """Host per candidate device: `hardware[].host`, else the cheapest CPU candidate listed."""
    cpus = [h.id for h in fleet.hardware if cat.device(h.id).kind == "cpu"]
    cheapest = min(cpus, key=lambda d: cat.device(d).price_usd or float("inf"), default=None)
    out = {}
    for h in fleet.hardware:
        host = h.host or cheapest
        if host:
            out[h.id] = host
    return out


def _cpu_runtime(ref: ModelRef, device: str, cat: Catalogue) -> str | None:
    """On a CPU, the runtime the deployed agent runs this model file with (its format's CPU
    backend, deploy.CPU_BACKEND): a CPU's device model has a factor per runtime its rows hold.
    None elsewhere, and for a catalogue model without a file (the device model's own)."""
    if ref.path is None or cat.device(device).kind != "cpu":
        return None
    return runtime_name(CPU_BACKEND.get(detect_format(ref.path), "onnxruntime"))


def _projection(
    m: str,
    ref: ModelRef,
    prof: CostProfile,
    target: str,
    device: str,
    prec: str,
    tail: float,
    cat: Catalogue,
    cal: Calibration,
    ev: Evidence,
    throughput_metric: bool = False,
) -> ProjectionRecord:
    """One projection as a record. `target` names what it is for (a device id, or a cloud
    option id whose accelerator is `device`)."""
    host = ev.hosts.get(target)
    rt = _cpu_runtime(ref, device, cat)
    pr = project(prof, device, prec, cal, cat, host=host, runtime=rt)
    tput = pr.throughput_fps
    if throughput_metric:  # batched serving: the device's throughput rows, not 1000 / latency
        tput = project(
            prof, device, prec, cal, cat, metric="throughput_fps", runtime=rt
        ).throughput_fps
    key = hashlib.sha256(
        json.dumps(
            [ev.sha256.get(m, m), target, device, prec, host, round(tail, 4),
             "; ".join(cat.origin), edgeplan.__version__, rt]
        ).encode()
    ).hexdigest()  # fmt: skip
    return ProjectionRecord(
        record_id=key[:16],
        cache_key=key,
        model_sha256=ev.sha256.get(m, ""),
        model_path=str(ref.path) if ref.path else m,
        backend=f"projected:{prec}",
        device_id=device,
        precision=prec,
        host_device=host if pr.cpu_fallback_gmacs else None,
        deployable=pr.deployable,
        reason=pr.reason,
        latency_ms_p50=pr.latency_ms,
        latency_ms_low=pr.latency_ms_low,
        latency_ms_high=pr.latency_ms_high,
        band_pct=pr.band_pct,
        tail_ratio=round(tail, 4),
        latency_ms_p99=round(float(pr.latency_ms) * tail, 4) if pr.latency_ms else None,
        throughput_fps=tput,
        power_w=pr.power_w,
        power_source=pr.power_source,
        calibration=pr.calibration,
        cpu_fallback_gmacs=pr.cpu_fallback_gmacs,
        notes=tuple(pr.notes) + ((f"for cloud option {target}",) if target != device else ()),
        provenance=Provenance(source="projected", harness={"catalogue": cat.origin}),
    )


def gather_projections(
    fleet: Fleet, cat: Catalogue, cal: Calibration, store: RecordStore, ev: Evidence
) -> None:
    """Project every model onto every candidate device and every cloud option's accelerator,
    as records (stored like the others)."""
    ev.hosts = accelerator_hosts(fleet, cat)
    for m, ref in ev.refs.items():
        prof = _profile(ref, cat, cal)
        if prof is None:
            ev.notes.append(f"{m}: no MACs known, cannot be projected")
            continue
        ev.profiles[m] = prof
        ev.quantised[m] = is_quantised(ref, prof)
        host = ev.best_host(m)
        tail = host.latency_ms_p99 / host.latency_ms_p50 if host else 1.3
        for h in fleet.hardware:
            prec = KIND_PRECISION.get(cat.device(h.id).kind, "fp32")
            rec = _projection(m, ref, prof, h.id, h.id, prec, tail, cat, cal, ev)
            store.put(rec)
            ev.projections[(m, h.id)] = rec
        for opt in fleet.cloud:
            if opt.gpu is None or opt.kind != "gpu-instance":
                continue
            prec = KIND_PRECISION.get(cat.device(opt.gpu).kind, "fp16")
            rec = _projection(m, ref, prof, opt.id, opt.gpu, prec, tail, cat, cal, ev, True)
            store.put(rec)
            ev.projections[(m, opt.id)] = rec


def gather_device_records(store: RecordStore, ev: Evidence) -> None:
    """Records measured on a device (`records import --device`) and in production (`agent
    export-records`) for the models this plan can deploy (their int8 variants included)."""
    wanted = set(ev.sha256.values()) | {v.sha256 for v in ev.int8.values()}
    for r in store.of_kind("characterisation", "measured-on-device"):
        if isinstance(r, CharacterisationRecord) and r.model_sha256 in wanted and r.device_id:
            ev.on_device.append(r)
    for r in store.of_kind("production"):
        if isinstance(r, ProductionRecord) and r.model_sha256 in wanted and r.device_id:
            ev.production.append(r)


def _choose_band(
    rec: CascadeRecord, floor: float
) -> tuple[tuple[float, float], float, float, bool]:
    """The cheapest band (fewest escalations) that meets the floor, else the most accurate."""
    ok = [b for b in rec.bands if b.cascade.value >= floor]
    b = (
        min(ok, key=lambda x: (x.escalation_rate, -x.cascade.value))
        if ok
        else max(rec.bands, key=lambda x: x.cascade.value)
    )
    return (b.band_low, b.band_high), b.escalation_rate, b.cascade.value, bool(ok)


def gather_cascades(
    fleet: Fleet,
    base: Path,
    store: RecordStore,
    cache: Path,
    quick: bool,
    ev: Evidence,
    progress: Progress,
) -> None:
    """For each workload with labelled data and a cloud model, the measured cascade of every
    (edge model, cloud model) pair (cached; `evaluate --cascade` records are reused)."""
    from edgeplan.data.cascade import cascade_cache_key, evaluate_cascade
    from edgeplan.data.evaluate import EvalConfig
    from edgeplan.data.readers import open_dataset
    from edgeplan.sizing.calibration import eval_limit

    seen: set[tuple[str, str]] = set()
    for ci, cam in enumerate(fleet.cameras):
        for wi, w in enumerate(cam.workloads):
            if not _cascade_candidate(w):
                continue
            data = resolve_data(w.validation_data, base, cache, _where(ci, cam.id, wi, w.task))  # type: ignore[arg-type]
            ds = open_dataset(data)
            limit = eval_limit(len(ds), quick)
            for e in w.models:
                for c in dict.fromkeys([*w.cloud_models, *(w.site_models or [])]):
                    ep, cp = ev.refs[e].path, ev.refs[c].path
                    if ep is None or cp is None or e == c or (e, c) in seen:
                        continue
                    seen.add((e, c))
                    cfg = EvalConfig(model=ep, data=data, limit=limit, n_boot=100)
                    key = cascade_cache_key(ev.sha256[e], ev.sha256[c], ds.sha256(), limit)
                    rec = cached_or_measure(
                        store,
                        key,
                        CascadeRecord,
                        ev.stats,
                        f"cascade {ep.name} -> {cp.name} on {data.name}",
                        partial(evaluate_cascade, cfg, cp),
                        progress,
                    )
                    band, esc, acc, ok = _choose_band(rec, w.accuracy_floor)
                    ev.cascades.append(CascadeChoice(e, c, rec, band, esc, acc, ok))


def _cascade_candidate(w: Workload) -> bool:
    """Labelled data (not agreement) and a cloud or site model other than the edge ones."""
    others = (set(w.cloud_models) | set(w.site_models or [])) - set(w.models)
    return bool(w.validation_data and not w.validation_reference and others)
