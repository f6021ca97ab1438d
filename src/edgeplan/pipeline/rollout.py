"""Staged rollout of a plan: a pilot site first, the rest after it, each stage gated on the
pilot's production records (the agents' own `export-records`) meeting the plan's SLOs over a
stated window. A failed gate stops the rollout and says which camera missed what; nothing after
it is applied. Works with plain site folders and with the Kubernetes manifests (`--apply` is the
command that deploys one site: `kubectl apply -f {k8s}`, a copy, an Ansible play...)."""

import shlex
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edgeplan.errors import EdgeplanError
from edgeplan.planning.output import Plan
from edgeplan.records.accuracy import ProductionRecord
from edgeplan.records.store import RecordStore

# frames the pilot may lose to overload (queue full, decode / inference / processing errors);
# motion-gated frames are not losses
MAX_DROP_PCT = 5.0
ESCALATION_SLACK = 1.5  # measured escalation rate may be up to 1.5x the plan's (+2 points)


class RolloutError(EdgeplanError):
    """A stage's gate failed, or a site could not be applied: the rollout stopped there."""

    exit_code = 8


@dataclass
class Check:
    camera: str
    ok: bool
    facts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _parse_ts(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def gate(plan: Plan, site: str, records: list[ProductionRecord], window_s: float) -> list[Check]:
    """Each planned camera of the site against its production record (the newest)."""
    newest: dict[str, ProductionRecord] = {}
    for r in records:
        if r.site == site and (
            r.camera not in newest
            or _parse_ts(r.provenance.timestamp_utc)
            > _parse_ts(newest[r.camera].provenance.timestamp_utc)
        ):
            newest[r.camera] = r
    out = []
    for d in plan.decisions:
        if d.site != site or d.chosen is None or d.chosen.hardware is None:
            continue
        c = Check(d.camera, True)
        if d.camera not in newest:
            c.ok = False
            c.failures.append("no production record from this camera")
            out.append(c)
            continue
        r = newest[d.camera]
        c.facts.append(f"{r.uptime_s:.0f} s, {r.frames_processed} frames")
        if r.uptime_s < window_s:
            c.failures.append(f"ran {r.uptime_s:.0f} s, the gate needs {window_s:g} s")
        budget = d.latency_budget_ms
        if r.latency_ms_p99 is None:
            c.failures.append("no end-to-end latency measured")
        elif budget and r.latency_ms_p99 > budget:
            c.failures.append(f"p99 {r.latency_ms_p99:.1f} ms above the budget {budget:g} ms")
        else:
            c.facts.append(f"p99 {r.latency_ms_p99:.1f} ms (budget {budget:g})")
        drop = r.overload_drop_share * 100
        if drop > MAX_DROP_PCT:
            lost = {k: v for k, v in r.frames_dropped.items() if k != "no_motion" and v}
            c.failures.append(
                f"{drop:.1f}% of frames lost to overload {lost} (max {MAX_DROP_PCT:g}%)"
            )
        if d.chosen.pattern == "hybrid" and r.escalation_rate is not None:
            limit = d.chosen.escalation_rate * ESCALATION_SLACK + 0.02
            if r.escalation_rate > limit:
                c.failures.append(
                    f"escalates {r.escalation_rate:.1%} of frames, the plan priced "
                    f"{d.chosen.escalation_rate:.1%} (limit {limit:.1%})"
                )
        if r.fallback_transitions:
            c.facts.append(f"{r.fallback_transitions} fallback transition(s)")
        c.ok = not c.failures
        out.append(c)
    return out


def _apply(cmd: str | None, site: str, out: Path, log: list[str]) -> None:
    folder = out / "sites" / site
    if cmd is None:
        log.append(f"{site}: ready to deploy from {folder} (no --apply: deploy it yourself)")
        return
    from edgeplan.pipeline.k8s import dns_name

    argv = [
        a.format(site=site, folder=folder, k8s=out / "k8s" / f"{dns_name(site)}.yaml")
        for a in shlex.split(cmd)
    ]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        raise RolloutError(
            f"{site}: `{' '.join(argv)}` failed ({r.returncode}): {r.stderr.strip()[-500:]}"
        )
    log.append(f"{site}: applied ({' '.join(argv)})")


def rollout(
    plan: Plan,
    out: Path,
    store_path: Path,
    pilot: str,
    window_s: float,
    apply_cmd: str | None,
    wait_s: float,
    since_unix: float | None,
    log: list[str],
) -> list[Check]:
    """Apply the pilot, wait for its records, gate, then apply the rest. Raises RolloutError
    (after logging every check) when the gate fails."""
    sites = [s for s in dict.fromkeys(d.site for d in plan.decisions)]
    if pilot not in sites:
        raise RolloutError(f"pilot {pilot!r} is not a site of this plan; sites: {', '.join(sites)}")
    started = since_unix if since_unix is not None else time.time()
    _apply(apply_cmd, pilot, out, log)
    end = time.time() + wait_s
    while True:
        with RecordStore(store_path) as st:
            recs = [
                r
                for r in st.of_kind("production")
                if isinstance(r, ProductionRecord)
                and r.site == pilot
                and _parse_ts(r.provenance.timestamp_utc) >= started
            ]
        checks = gate(plan, pilot, recs, window_s)
        if all(c.ok for c in checks) or time.time() >= end:
            break
        time.sleep(min(10.0, max(end - time.time(), 0.1)))
    for c in checks:
        log.append(
            f"gate {pilot}/{c.camera}: {'pass' if c.ok else 'FAIL'}: "
            + "; ".join(c.failures or c.facts)
        )
    if not checks or not all(c.ok for c in checks):
        rest = [s for s in sites if s != pilot]
        raise RolloutError(
            f"the pilot {pilot} did not meet the plan's SLOs: rollout stopped; not applied: "
            f"{', '.join(rest) or 'none'}"
            + ("" if checks else " (no planned edge camera at the pilot)")
        )
    for s in sites:
        if s != pilot:
            _apply(apply_cmd, s, out, log)
    return checks
