"""The candidates' column facts (what each candidate is, where its figures come from) and the
chosen or runner-up Option per row, built from the evaluated arrays."""

from dataclasses import dataclass

import numpy as np

from edgeplan.planning.evaluate import Evaluated
from edgeplan.planning.inputs import PlanInputs
from edgeplan.planning.output import Option, built
from edgeplan.planning.patterns import LABELS, Pattern
from edgeplan.planning.template import Template


@dataclass
class Columns:
    """Per-candidate (column) facts that do not depend on the camera."""

    label: list[str]
    hardware: list[str | None]
    model: list[str | None]
    deployed: list[tuple[str | None, str | None]]
    cloud: list[str | None]
    cloud_model: list[str | None]
    site_hardware: list[str | None]
    sources: list[dict[str, str]]
    esc: list[float]
    esc_band: list[tuple[float, float] | None]
    band: list[float]


def columns(t: Template, inputs: PlanInputs) -> Columns:
    """Per-candidate facts, once for the template (they do not depend on the camera)."""
    perf, fleet = inputs.perf, inputs.fleet
    st = Columns([], [], [], [], [], [], [], [], [], [], [])
    for j in range(t.n):
        ep = perf[t.edge[j]] if t.edge[j] >= 0 else None
        cp = perf[t.remote[j]] if t.remote[j] >= 0 else None
        pat = Pattern(int(t.pattern[j]))
        src: dict[str, str] = {}
        fed = pat == Pattern.FEDERATED
        if ep:
            src["edge latency"] = ep.source
        if cp and fed:
            src["site inference"] = cp.source
            src["network"] = "site LAN (costs.lan_ms, assumed)"
        elif cp:
            src["cloud inference"] = cp.source
            src["network"] = "fleet.yaml (site RTT, uplink)"
        casc = inputs.cascades[t.cascade[j]] if t.cascade[j] >= 0 else None
        if pat in (Pattern.HYBRID, Pattern.FEDERATED):
            band = f" at band [{casc.band[0]:g}, {casc.band[1]:g})" if casc and casc.band else ""
            src["accuracy"] = f"measured: cascade{band}" if casc else "assumed (declared rate)"
            src["escalation rate"] = casc.source if casc else "assumed (fleet.yaml)"
        else:
            lead = ep or cp
            src["accuracy"] = (lead.accuracy_source or lead.source) if lead else "none"
        src["cost"] = "catalogue prices + fleet.yaml"
        st.label.append(LABELS[pat])
        st.hardware.append(ep.hardware if ep else None)
        st.model.append(ep.model if ep else None)
        st.deployed.append((ep.artifact or None, ep.variant or None) if ep else (None, None))
        st.cloud.append(fleet.cloud[t.cloud_opt[j]].id if t.cloud_opt[j] >= 0 else None)
        st.cloud_model.append(cp.model if cp else None)
        st.site_hardware.append(cp.hardware if cp and fed else None)
        st.sources.append(src)
        escalates = pat in (Pattern.HYBRID, Pattern.FEDERATED)
        st.esc.append(round(float(t.escalation_rate[j]), 4) if escalates else 0.0)
        st.esc_band.append(casc.band if casc and escalates else None)
        st.band.append(float(t.band_pct[j]))
    return st


def options(st: Columns, ev: Evaluated, idx: np.ndarray, months: float) -> list[Option | None]:
    """The Option at candidate `idx[r]` of each row r (None where no candidate is feasible)."""
    rows = np.arange(len(idx))
    j = np.maximum(idx, 0)
    lat = np.round(ev.latency_ms_p99[rows, j], 3).tolist()
    acc = ev.accuracy[rows, j]
    acc_l = [None if np.isnan(a) else round(a, 4) for a in acc.tolist()]
    pw = np.round(ev.power_w[rows, j], 3).tolist()
    tco = ev.tco_usd[rows, j]
    usd = np.round(tco / months, 2).tolist()
    tco_l = np.round(tco, 2).tolist()
    av = np.round(ev.availability[rows, j], 5).tolist()
    static: dict[int, dict] = {}
    for k in set(idx.tolist()) - {-1}:
        static[k] = {
            "pattern": st.label[k],
            "hardware": st.hardware[k],
            "model": st.model[k],
            "deployed_model": st.deployed[k][0],
            "variant": st.deployed[k][1],
            "cloud": st.cloud[k],
            "cloud_model": st.cloud_model[k],
            "site_hardware": st.site_hardware[k],
            "escalation_rate": st.esc[k],
            "escalation_band": st.esc_band[k],
            "sources": st.sources[k],
            "latency_band_pct": st.band[k],
        }
    # built without re-validation: every value comes from validated inputs and the arrays
    out: list[Option | None] = [
        None
        if k < 0
        else built(
            Option,
            {
                **static[k],
                "latency_ms_p99": lat[r],
                "accuracy": acc_l[r],
                "power_w": pw[r],
                "usd_per_month": usd[r],
                "tco_usd": tco_l[r],
                "availability": av[r],
            },
        )
        for r, k in enumerate(idx.tolist())
    ]
    return out
