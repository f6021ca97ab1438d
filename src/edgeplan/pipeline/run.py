"""run_plan: the main job end to end."""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import edgeplan
from edgeplan.catalogue import load_catalogue
from edgeplan.pipeline.inputs import build_inputs
from edgeplan.planning import make_plan
from edgeplan.progress import Progress, no_progress
from edgeplan.projection.calibrate import calibrate
from edgeplan.records.provenance import host_fingerprint
from edgeplan.records.store import RecordStore, default_store_path
from edgeplan.report.render import write_outputs
from edgeplan.spec.fleet import Fleet
from edgeplan.spec.loading import load_yaml_model


def run_plan(
    fleet_path: Path,
    out: Path,
    store_path: Path | None = None,
    quick: bool = False,
    catalogue: Path | None = None,
    progress: Progress = no_progress,
    full_hint: str = "rerun without `--quick`",
) -> dict[str, Any]:
    """Validate, measure (cached), project, plan, write. Returns paths and run facts."""
    t0 = time.perf_counter()
    fleet = load_yaml_model(fleet_path, Fleet)
    progress(f"fleet {fleet.name}: {len(fleet.sites)} sites, {len(fleet.cameras)} cameras")
    cat = load_catalogue(catalogue)
    progress("calibrating device models on published figures")
    cal = calibrate(cat)
    store_path = store_path or default_store_path()
    with RecordStore(store_path) as store:
        inputs, evidence = build_inputs(
            fleet, fleet_path.parent, cat, cal, store, store_path.parent, quick, progress
        )
    progress(
        f"planning {sum(len(c.workloads) for c in fleet.cameras)} workloads over "
        f"{len(inputs.perf)} performance points"
    )
    plan = make_plan(inputs)
    st = evidence.stats
    host = host_fingerprint()
    cache = (
        f"Measurements: {st.measured} new ({st.measured_s:.0f} s), {st.reused} reused from "
        f"the records store (saved ~{st.saved_s:.0f} s)."
    )
    run = {
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": f"{host.cpu_model}, {host.logical_cores} vCPU ({', '.join(host.isa_flags[-3:])})",
        "quick": quick,
        "quick_note": "2 s LoadGen runs, 40 validation images",
        "full_hint": full_hint,
        "cache": cache,
        "cache_stats": {**st.__dict__, "lines": st.lines},
        "catalogue": "; ".join(cat.origin),
        "version": edgeplan.__version__,
        "store": str(store_path),
        "notes": evidence.notes,
    }
    plan = plan.model_copy(update={"run": run})
    paths = write_outputs(plan, evidence, out, run)
    return {"paths": paths, "plan": plan, "run": run, "wall_s": time.perf_counter() - t0}
