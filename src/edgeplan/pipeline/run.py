"""run_plan: the main job end to end."""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import edgeplan
from edgeplan.catalogue import load_catalogue
from edgeplan.pipeline.changes import diff, plan_figures
from edgeplan.pipeline.deploy import write_sites
from edgeplan.pipeline.evidence import Evidence
from edgeplan.pipeline.inputs import build_inputs
from edgeplan.planning import make_plan
from edgeplan.planning.output import Plan
from edgeplan.progress import Progress, no_progress
from edgeplan.projection.cache import cached_calibrate
from edgeplan.projection.field import field_rows
from edgeplan.records.provenance import host_fingerprint
from edgeplan.records.store import RecordStore, default_store_path
from edgeplan.report.render import ReportEvidence, write_outputs
from edgeplan.spec.fleet import Fleet
from edgeplan.spec.loading import load_yaml_model


def _previous(path: Path | None, out: Path, notes: list[str]) -> Plan | None:
    """The plan to compare with: given, else the one already in OUT (read before it is
    overwritten). An unreadable one is a note, never a failure."""
    path = path or (out / "plan.json" if (out / "plan.json").is_file() else None)
    if path is None:
        return None
    try:
        return Plan.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"previous plan {path} not compared: {str(exc).splitlines()[0]}")
        return None


def report_evidence(ev: Evidence) -> ReportEvidence:
    return ReportEvidence(
        host=ev.host,
        accuracy=ev.accuracy_records,
        made=ev.made,
        projections=list(ev.projections.values()),
        cascades=[(c.edge_model, c.cloud_model, c.record, c.band) for c in ev.cascades],
        notes=ev.notes,
    )


def run_plan(
    fleet_path: Path,
    out: Path,
    store_path: Path | None = None,
    quick: bool = False,
    catalogue: Path | None = None,
    progress: Progress = no_progress,
    full_hint: str = "rerun without `--quick`",
    previous: Path | None = None,
    sign_key: Path | None = None,
    emit: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Validate, gather evidence (measuring what is missing, cached), plan, compare with the
    previous plan, and write plan.json, the reports and the site deployments."""
    t0 = time.perf_counter()
    fleet = load_yaml_model(fleet_path, Fleet)
    progress(f"fleet {fleet.name}: {len(fleet.sites)} sites, {len(fleet.cameras)} cameras")
    cat = load_catalogue(catalogue)
    store_path = store_path or default_store_path()
    notes: list[str] = []
    with RecordStore(store_path) as store:
        on_device = list(store.of_kind("characterisation", "measured-on-device"))
    measured, why = field_rows(on_device, cat)
    notes += why
    progress(
        "calibrating device models on published figures"
        + (f" and {len(measured)} rows measured on the devices" if measured else "")
    )
    cal = cached_calibrate(cat, measured=measured)
    old = _previous(previous, out, notes)
    with RecordStore(store_path) as store:
        inputs, ev = build_inputs(
            fleet, fleet_path.parent, cat, cal, store, store_path.parent, quick, progress
        )
    progress(
        f"planning {sum(len(c.workloads) for c in fleet.cameras)} workloads over "
        f"{len(inputs.perf)} performance points"
    )
    plan = make_plan(inputs)
    plan = plan.model_copy(update={"evidence": plan_figures(inputs)})
    if old is not None:
        plan = plan.model_copy(update={"changes": diff(old, plan)})
    st = ev.stats
    host = host_fingerprint()
    cache = (
        f"Measurements: {st.measured} new ({st.measured_s:.0f} s), {st.reused} reused from "
        f"the records store (saved ~{st.saved_s:.0f} s)."
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run = {
        "generated_utc": generated,
        "host": f"{host.cpu_model}, {host.logical_cores} vCPU ({', '.join(host.isa_flags[-3:])})",
        "quick": quick,
        "quick_note": "2 s LoadGen runs, 40 validation images",
        "full_hint": full_hint,
        "cache": cache,
        "cache_stats": {**st.__dict__, "lines": st.lines},
        "catalogue": "; ".join(cat.origin),
        "version": edgeplan.__version__,
        "store": str(store_path),
        "previous": str(previous or (out / "plan.json")) if old is not None else None,
        "notes": notes + ev.notes,
    }
    plan = plan.model_copy(update={"run": run})
    progress("writing the plan, the reports and the site deployments")
    paths = write_outputs(plan, report_evidence(ev), out, run)
    by = f"written by edgeplan {edgeplan.__version__} plan {fleet_path.name} at {generated}"
    sites = write_sites(plan, fleet, fleet_path.parent, cat, ev, out, by, sign_key)
    paths["sites"] = out / "sites"
    if "k8s" in emit:
        from edgeplan.pipeline.k8s import write_k8s

        write_k8s(plan, sites, out)
        paths["k8s"] = out / "k8s"
    return {
        "paths": paths,
        "plan": plan,
        "run": run,
        "sites": sites,
        "wall_s": time.perf_counter() - t0,
    }
