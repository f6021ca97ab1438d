"""The fleet summary: spend by pattern, whole devices per site, cumulative spend of the plan and
of the all-edge / all-cloud alternatives, break-even, and a tornado of the plan's TCO.

The chosen candidates' figures are taken out of each group's evaluation as small arrays as soon
as the choice is made (`Picked`), so the (cameras x candidates) arrays can be freed group by
group."""

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from edgeplan.planning import cost
from edgeplan.planning.evaluate import Evaluated
from edgeplan.planning.inputs import PlanInputs
from edgeplan.planning.output import Decision, FleetSummary, SeriesPoint, Tornado
from edgeplan.planning.patterns import Pattern, reasons
from edgeplan.planning.template import Template

PARTS = ("maintenance", "energy", "cloud", "data", "orchestration")
Items = tuple[np.ndarray, np.ndarray, np.ndarray]  # per row: capex, life years, opex per month


@dataclass
class Picked:
    """The chosen candidate of every placed row, as arrays (concatenated over groups)."""

    site: list[str] = field(default_factory=list)
    hardware: list[str] = field(default_factory=list)  # "" for none
    shared: list[np.ndarray] = field(default_factory=list)
    devices: list[np.ndarray] = field(default_factory=list)
    capex: list[np.ndarray] = field(default_factory=list)
    life: list[np.ndarray] = field(default_factory=list)
    opex: list[np.ndarray] = field(default_factory=list)
    tco: list[np.ndarray] = field(default_factory=list)
    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))

    def add(
        self, inputs: PlanInputs, t: Template, ev: Evaluated, pick: np.ndarray, cams: list[int]
    ) -> None:
        r = np.nonzero(pick >= 0)[0]
        j = pick[r]
        self.site += [inputs.fleet.cameras[cams[i]].site for i in r.tolist()]
        self.hardware += [inputs.perf[e].hardware if e >= 0 else "" for e in t.edge[j].tolist()]
        self.shared.append(t.pattern[j] == Pattern.SHARED_DEVICE)
        self.devices.append(ev.devices[r, j])
        self.capex.append(ev.capex_usd[r, j])
        self.life.append(t.edge_life_years[j])
        self.opex.append(ev.opex_usd_per_month[r, j])
        self.tco.append(ev.tco_usd[r, j])
        for k in PARTS:
            self.parts[k].append(ev.usd_per_month_by_part[k][r, j])

    def arrays(self) -> dict[str, np.ndarray]:
        cat = {
            k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.zeros(0)
            for k in ("shared", "devices", "capex", "life", "opex", "tco")
        }
        cat["shared"] = cat["shared"].astype(bool)
        for k in PARTS:
            cat[k] = np.concatenate(self.parts[k]) if self.parts[k] else np.zeros(0)
        return cat


def blockers(ev: Evaluated, cols: np.ndarray, feasible: np.ndarray, pct: int) -> set[str]:
    """What rules an alternative out for the rows where none of its candidates is feasible: the
    violations of each such row's closest candidate (fewest violated constraints)."""
    rows = np.nonzero(~(cols & feasible).any(axis=1))[0]
    if not len(rows):
        return set()
    if not cols.any():
        return {"no candidate of that kind"}
    sub = ev.violations[rows][:, cols[0]]
    counts = np.bitwise_count(sub.astype(np.uint64))
    closest = sub[np.arange(len(rows)), counts.argmin(axis=1)]
    out: set[str] = set()
    for mask in np.unique(closest).tolist():
        out |= set(reasons(int(mask), pct))
    return out


def cheapest(ev: Evaluated, t: Template, mask: np.ndarray) -> Items | None:
    """Each row's cheapest allowed candidate (capex, life, opex); None when some row has no
    allowed candidate (that alternative cannot serve the whole fleet)."""
    tco = np.where(mask, ev.tco_usd, np.inf)
    if not np.isfinite(tco).any(axis=1).all():
        return None
    j = tco.argmin(axis=1)
    rows = np.arange(len(j))
    return ev.capex_usd[rows, j], t.edge_life_years[j], ev.opex_usd_per_month[rows, j]


def _series(items: list[Items], horizon: float) -> np.ndarray:
    """Cumulative monthly spend of per-row (capex, life, opex), grouped by life; exact sums
    (fsum), so the figures do not depend on the order rows were evaluated in."""
    total = np.zeros(round(horizon * 12))
    if not items:
        return total
    capex, life, opex = (np.concatenate([x[k] for x in items]) for k in range(3))
    for v in np.unique(life).tolist():
        at = life == v
        total += cost.monthly_series(
            math.fsum(capex[at].tolist()), v, math.fsum(opex[at].tolist()), horizon
        )
    return total


def summary(
    inputs: PlanInputs,
    decisions: list[Decision],
    picked: Picked,
    alt: dict[str, list[Items | None]],
    blocked: dict[str, set[str]],
) -> FleetSummary:
    fleet = inputs.fleet
    h = fleet.horizon_years
    by_pattern: dict[str, int] = defaultdict(int)
    usd_by_pattern: dict[str, float] = defaultdict(float)
    for d in decisions:
        if d.chosen:
            by_pattern[d.chosen.pattern] += 1
            usd_by_pattern[d.chosen.pattern] += d.chosen.usd_per_month
    a = picked.arrays()
    # devices per site: dedicated devices whole, shared devices pooled then rounded up
    devices: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    pairs = np.array([f"{s}\x1f{hw}" for s, hw in zip(picked.site, picked.hardware, strict=True)])
    shared = a["shared"]
    plan_items: list[Items] = [
        (np.where(shared, 0.0, a["capex"]), np.where(shared, 1.0, a["life"]), a["opex"])
    ]
    for key in np.unique(pairs).tolist():
        site, hw = key.split("\x1f")
        if not hw:
            continue
        at = pairs == key
        devices[site][hw] += float(a["devices"][at & ~shared].sum())
        pooled = float(a["devices"][at & shared].sum())
        if pooled > 0:
            whole = float(np.ceil(pooled - 1e-9))
            devices[site][hw] += whole
            dev = inputs.devices[hw]
            price = whole * (dev.price_usd + dev.host_price_usd)
            plan_items.append((np.array([price]), np.array([dev.life_years]), np.zeros(1)))
    series = {"plan": _series(plan_items, h)}
    for label, parts in alt.items():
        if parts and all(p is not None for p in parts):
            series[label] = _series([p for p in parts if p is not None], h)
    be, be_note = None, ""
    if "all-edge" in series and "all-cloud" in series:
        be = cost.break_even_month(series["all-edge"], series["all-cloud"])
        if be is None:
            be_note = "the all-edge fleet never becomes cheaper within the horizon"
    else:
        missing = [k for k in ("all-edge", "all-cloud") if k not in series]
        be_note = "; ".join(
            f"no {k} alternative serves every workload ({', '.join(sorted(blocked[k]))})"
            for k in missing
        )
    tco_total = float(series["plan"][-1]) if len(series["plan"]) else 0.0
    return FleetSummary(
        horizon_years=h,
        cameras=len(fleet.cameras),
        decisions=len(decisions),
        unplaced=sum(d.chosen is None for d in decisions),
        usd_per_month=tco_total / (h * 12),
        tco_usd=tco_total,
        by_pattern=dict(by_pattern),
        usd_per_month_by_pattern={k: round(v, 2) for k, v in usd_by_pattern.items()},
        devices_by_site={s: {k: int(v) for k, v in d.items()} for s, d in devices.items()},
        cumulative={
            k: [
                SeriesPoint(month=i + 1, usd_cumulative=round(float(v), 2)) for i, v in enumerate(s)
            ]
            for k, s in series.items()
        },
        break_even_month=be,
        break_even_note=be_note,
        sensitivity=_tornado(a, h),
    )


def _tornado(a: dict[str, np.ndarray], horizon: float) -> list[Tornado]:
    """Plan TCO with each cost component's input at -50% / +50% (first order: components scale
    linearly with their price; device price also scales maintenance)."""
    if not len(a["tco"]):
        return []
    months = horizon * 12
    purchases = np.where(a["capex"] > 0, np.ceil(horizon / np.maximum(a["life"], 1e-9) - 1e-9), 0)
    comp = {
        "device price": float((a["capex"] * purchases).sum() + a["maintenance"].sum() * months),
        "electricity price": float(a["energy"].sum() * months),
        "cloud compute price": float(a["cloud"].sum() * months),
        "data price ($/GB)": float(a["data"].sum() * months),
        "orchestration": float(a["orchestration"].sum() * months),
    }
    base = float(a["tco"].sum())
    rows = [
        Tornado(
            input=k, tco_usd_low=round(base - 0.5 * v, 2), tco_usd_high=round(base + 0.5 * v, 2)
        )
        for k, v in comp.items()
    ]
    return sorted(rows, key=lambda x: -(x.tco_usd_high - x.tco_usd_low))
