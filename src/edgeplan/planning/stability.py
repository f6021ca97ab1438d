"""Would the choice survive its own figures' uncertainty? (this host's measurements move ±30%
under load; a projection is off by up to its band)

Every objective and constraint is monotone in a figure's latency/throughput factor (slower:
higher latency, more devices or instances, more power, more violations). A rival whose figures
are independent of the choice's is taken at its optimistic end against the choice at its
pessimistic end; a rival resting on the same figures (the same model on the same device, pooled
instead of dedicated, say) moves with the choice, and is compared with it at both ends. The
check walks the priority order as `choose` does, with those bounds: the choice is *stable* when
it stays inside every tolerance band and no rival that could be feasible can beat it.

Power per device is the one figure that is not monotone (a faster device can mean fewer devices,
each busier), so every bound is also taken at the figures as measured: a rival counts if it is
feasible at its best end or as measured, at the better of the two."""

from dataclasses import dataclass

import numpy as np

from edgeplan.planning.cameras import CameraArrays
from edgeplan.planning.choose import INDEX, ranges
from edgeplan.planning.evaluate import Evaluated, evaluate
from edgeplan.planning.patterns import Violation
from edgeplan.planning.template import Template
from edgeplan.spec.fleet import Fleet, Priorities, Workload

NOISY = (1 << Violation.LATENCY) | (1 << Violation.FALLBACK_LATENCY) | (1 << Violation.POWER)


class _View:
    """The objectives of an evaluation at some columns, one (C, M) array at a time (the
    priority walk reads only the objectives it names)."""

    def __init__(self, ev: Evaluated, cols: np.ndarray | slice) -> None:
        self.ev, self.cols = ev, cols

    def __getitem__(self, i: int) -> np.ndarray:
        ev, c = self.ev, self.cols
        if i == 0:
            return ev.latency_ms_p99[:, c]
        if i == 1:
            acc = ev.accuracy[:, c]
            return -np.where(np.isnan(acc), -1.0, acc)
        if i == 2:
            return ev.power_w[:, c]
        if i == 3:
            return ev.tco_usd[:, c]
        return 1.0 - ev.availability[:, c]


def _band(v: np.ndarray, tol: float) -> np.ndarray:
    return v + np.abs(v) * tol + 1e-12  # as choose's bands


@dataclass
class _Group:
    """Rivals: per objective (C, M) values, which may be feasible (C, M), their columns (M,)."""

    vals: list[np.ndarray]
    alive: np.ndarray
    cols: np.ndarray


class _Threat:
    """Per row, the first rival found that could win (-1: none)."""

    def __init__(self, n: int) -> None:
        self.col = np.full(n, -1)

    def note(self, hit: np.ndarray, g: _Group) -> None:
        rows = hit.any(axis=1) & (self.col < 0)
        if rows.any() and len(g.cols):
            self.col[rows] = g.cols[hit[rows].argmax(axis=1)]


def _wins(g: _Group, p: list[np.ndarray], pick: np.ndarray, order: list[int]) -> np.ndarray:
    """(C, M) rivals that beat the choice in choose's final tie-break among what is left: the
    first priority, ties to the next ones, then to the lower candidate index."""
    lt = np.zeros(g.alive.shape, bool)
    eq = np.ones(g.alive.shape, bool)
    for i in order:
        lt |= eq & (g.vals[i] < p[i][:, None])
        eq &= g.vals[i] == p[i][:, None]
    return g.alive & (lt | (eq & (g.cols[None, :] < pick[:, None])))


def _walk(
    p: list[np.ndarray], groups: list[_Group], pr: Priorities, pick: np.ndarray, threat: _Threat
) -> np.ndarray:
    """(C,) True where the choice at `p` (per objective, (C,)) stays in every lexicographic
    band and wins against every group of rivals that may be feasible."""
    tol = pr.tolerance_pct / 100
    ok = np.ones(len(p[0]), bool)
    alive = [g.alive.copy() for g in groups]
    for name in pr.order:
        i = INDEX[name]
        best = np.full(len(ok), np.inf)
        for g, a in zip(groups, alive, strict=True):
            best = np.minimum(best, np.where(a, g.vals[i], np.inf).min(axis=1, initial=np.inf))
        out = p[i] > _band(best, tol)  # the choice may fall out of this band
        for g, a in zip(groups, alive, strict=True):
            threat.note(out[:, None] & a & (g.vals[i] <= best[:, None]), g)
        ok &= ~out
        for g, a in zip(groups, alive, strict=True):
            a &= ~(g.vals[i] > _band(p[i], tol)[:, None])
    order = [INDEX[k] for k in pr.order]
    for g, a in zip(groups, alive, strict=True):
        hit = _wins(_Group(g.vals, a, g.cols), p, pick, order)
        threat.note(hit, g)
        ok &= ~hit.any(axis=1)
    return ok


def _weighted(
    p: list[np.ndarray], groups: list[_Group], pr: Priorities, nominal: np.ndarray,
    allowed: np.ndarray, threat: _Threat,
) -> np.ndarray:  # fmt: skip
    """Weighted scores, with the normalisation ranges of the nominal choice."""
    weights: dict[str, float] = {str(k): v for k, v in (pr.weights or {}).items()}
    w = [float(weights.get(k, 0.0)) for k in INDEX]
    low, high = (x[:, 0, :] for x in ranges(nominal, allowed))  # (C, 5)
    span = np.where(high > low, high - low, 1.0)
    s_p = sum(w[i] * (p[i] - low[:, i]) / span[:, i] for i in range(5) if w[i])
    ok = np.ones(len(low), bool)
    for g in groups:
        s_k = sum(w[i] * (g.vals[i] - low[:, i, None]) / span[:, i, None] for i in range(5) if w[i])
        hit = g.alive & (s_k <= s_p[:, None])
        threat.note(hit, g)
        ok &= ~hit.any(axis=1)
    return ok


def _lower(a: _View, b: _View) -> list[np.ndarray]:
    return [np.minimum(a[i], b[i]) for i in range(5)]


@dataclass
class Optimistic:
    """The candidates that take part, evaluated with every figure at its optimistic end."""

    noisy: np.ndarray  # columns re-evaluated
    quiet: np.ndarray  # columns whose figures are taken as they are
    lo: Evaluated | None


def optimistic(
    t: Template, ca: CameraArrays, w: Workload, fleet: Fleet, regions: list[str], ev: Evaluated
) -> Optimistic:
    """Noise moves latency, throughput and power, not accuracy, privacy or deployability: only
    candidates some camera could find feasible take part, and only the noisy ones need
    evaluating again. Independent of the choice (the planner runs it while it chooses)."""
    possible = ((ev.violations & ~NOISY) == 0).any(axis=0)
    noisy = np.nonzero(possible & t.noisy)[0]
    quiet = np.nonzero(possible & ~t.noisy)[0]
    lo = evaluate(t.take(noisy).scaled(-1), ca, w, fleet, regions) if len(noisy) else None
    return Optimistic(noisy, quiet, lo)


def stable(
    t: Template,
    ca: CameraArrays,
    w: Workload,
    fleet: Fleet,
    regions: list[str],
    pick: np.ndarray,
    ev: Evaluated,
    opt: Optimistic,
    nominal: np.ndarray,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(C,) True where the pick cannot change within the candidates' uncertainty, and (C,) the
    column of a rival that could win where it can (-1 otherwise). `ev`, `nominal` and
    `allowed` are the evaluation, objectives and set the pick was made from."""
    ok = pick >= 0
    noisy, quiet, lo = opt.noisy, opt.quiet, opt.lo
    if not ok.any() or lo is None:
        return ok, np.full(len(pick), -1)
    rows = np.arange(len(pick))
    p0 = np.maximum(pick, 0)
    key = t.noise_key()
    moves = ok & t.noisy[p0]  # the pick itself may be off
    dep = noisy[np.isin(key[noisy], key[p0[moves]])]
    same = key[None, :] == key[p0][:, None]  # (C, N): rivals that move with the pick
    not_pick = np.ones(same.shape, bool)
    not_pick[rows, p0] = False
    nom = _View(ev, slice(None))
    lo_v = _lower(_View(lo, slice(None)), _View(ev, noisy))  # the better of lo and nominal
    could = ((lo.violations == 0) | (ev.violations[:, noisy] == 0)) & not_pick[:, noisy]
    fixed = (ev.violations[:, quiet] == 0) & not_pick[:, quiet]
    worst: list[_Group] = [
        _Group(lo_v, could & ~same[:, noisy], noisy),
        _Group([_View(ev, quiet)[i] for i in range(5)], fixed, quiet),
    ]
    best: list[_Group] = []
    p_hi = [nom[i][rows, p0] for i in range(5)]
    p_lo = list(p_hi)
    if len(dep):
        hi = evaluate(t.take(dep).scaled(+1), ca, w, fleet, regions)
        hi_v = [np.maximum(_View(hi, slice(None))[i], _View(ev, dep)[i]) for i in range(5)]
        at = np.minimum(np.searchsorted(dep, p0), len(dep) - 1)
        at_lo = np.minimum(np.searchsorted(noisy, p0), len(noisy) - 1)
        p_hi = [np.where(moves, hi_v[i][rows, at], p_hi[i]) for i in range(5)]
        p_lo = [np.where(moves, lo_v[i][rows, at_lo], p_lo[i]) for i in range(5)]
        ok &= ~moves | (hi.violations[rows, at] == 0)  # the pick stays feasible at its worst
        together = ((hi.violations == 0) | (ev.violations[:, dep] == 0)) & same[:, dep]
        together &= not_pick[:, dep]
        worst.append(_Group(hi_v, together, dep))
        in_noisy = np.searchsorted(noisy, dep)
        best.append(_Group([v[:, in_noisy] for v in lo_v], together, dep))
    pr: Priorities = fleet.priorities
    if pr.reliability:  # a more available rival that could be feasible would be preferred
        top = np.full(len(pick), -np.inf)
        for cols, alive in ((noisy, could), (quiet, fixed)):
            top = np.maximum(
                top, np.where(alive, ev.availability[:, cols], -np.inf).max(axis=1, initial=-np.inf)
            )
        ok &= ev.availability[rows, p0] >= top - 1e-3
    threat = _Threat(len(pick))
    if pr.weights:
        ok &= _weighted(p_hi, worst, pr, nominal, allowed, threat)
        ok &= _weighted(p_lo, best, pr, nominal, allowed, threat)
    else:
        ok &= _walk(p_hi, worst, pr, p0, threat) & _walk(p_lo, best, pr, p0, threat)
    return ok, np.where(ok, -1, threat.col)
