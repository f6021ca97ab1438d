"""Turn a fleet + the records store + measurements on this host into the planner's inputs: the
gatherers fill a typed `Evidence`, then `points` turns it into performance points."""

from pathlib import Path

from edgeplan.catalogue.load import Catalogue
from edgeplan.pipeline import gather
from edgeplan.pipeline.evidence import Evidence
from edgeplan.pipeline.points import (
    cascades,
    cloud_points,
    devices,
    edge_points,
    gate_pass_rates,
)
from edgeplan.planning import PlanInputs
from edgeplan.progress import Progress
from edgeplan.projection.bands import Calibration
from edgeplan.records.store import RecordStore
from edgeplan.spec.fleet import Fleet


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
    """Every kind of evidence, then the planner's inputs built from it."""
    ev = Evidence()
    costs = devices(fleet, cat)  # a device without a price fails here, before any measurement
    gather.gather_models(fleet, base, cat, ev)
    gather.gather_accuracy(fleet, base, cat, store, cache, quick, ev, progress)
    gather.gather_cascades(fleet, base, store, cache, quick, ev, progress)
    gather.gather_host(store, quick, ev, progress)
    gather.gather_projections(fleet, cat, cal, store, ev)
    gather.gather_device_records(store, ev)
    perf = (*edge_points(fleet, ev), *cloud_points(fleet, ev))
    return (
        PlanInputs(
            fleet=fleet,
            perf=perf,
            devices=costs,
            cascades=cascades(ev),
            gate_pass_rate=gate_pass_rates(ev),
        ),
        ev,
    )
