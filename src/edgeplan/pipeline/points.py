"""Evidence -> the planner's inputs: one performance point per model x device or cloud option,
each figure taken by the one precedence rule (records.precedence) and tagged with its source."""

from dataclasses import dataclass

from edgeplan.catalogue.load import Catalogue, Hardware
from edgeplan.errors import ConfigError
from edgeplan.pipeline.evidence import Accuracy, Evidence
from edgeplan.pipeline.hosts import host_of
from edgeplan.planning import DeviceCost, PerfPoint
from edgeplan.planning.inputs import Cascade, Source
from edgeplan.projection.project import DEFAULT_POWER_W
from edgeplan.records.accuracy import ProjectionRecord
from edgeplan.records.precedence import best
from edgeplan.spec.fleet import Fleet

IDLE_SHARE = 0.3  # idle power as a share of max when a device publishes no idle figure (assumed)
OVERLOAD_SHARE = 0.01  # production drops above this share mean the device was saturated


@dataclass(frozen=True)
class _Figure:
    source: Source
    latency_ms_p99: float
    throughput_fps: float
    band_pct: float
    note: str
    when: str = ""


def _idle_w(hw: Hardware) -> float:
    if hw.power_min_w is not None:
        return hw.power_min_w
    return (hw.power_max_w or DEFAULT_POWER_W.get(hw.kind, 10.0)) * IDLE_SHARE


def devices(fleet: Fleet, cat: Catalogue) -> dict[str, DeviceCost]:
    """Cost inputs of every candidate device: catalogue figures, overridden by the fleet. An
    accelerator that needs a host is priced, powered and decodes with it."""
    out = {}
    for h in fleet.hardware:
        hw = cat.device(h.id)
        price = h.price_usd if h.price_usd is not None else hw.price_usd
        if price is None:
            raise ConfigError(
                f"hardware {h.id!r} has no catalogue price: give hardware[].price_usd"
            )
        host_id = host_of(h, cat)
        host = cat.device(host_id) if host_id else None
        if host is not None and host.price_usd is None:
            raise ConfigError(f"host {host.id!r} of {h.id!r} has no catalogue price")
        decoder = host or hw
        out[h.id] = DeviceCost(
            h.id,
            float(price),
            h.life_years,
            _idle_w(hw),
            "fleet.yaml" if h.price_usd is not None else "published",
            hw.end_of_support,
            host=host_id,
            host_price_usd=float(host.price_usd or 0.0) if host else 0.0,
            host_idle_w=_idle_w(host) if host else 0.0,
            host_max_w=float(host.power_max_w or DEFAULT_POWER_W.get(host.kind, 10.0))
            if host
            else 0.0,
            decode_1080p_fps=h.decode_1080p_fps or decoder.decode_1080p_fps,
            decode_source=(
                "fleet.yaml" if h.decode_1080p_fps else f"{decoder.id}: {decoder.hosting_note}"
            ),
        )
    return out


def _deployed(m: str, rec: ProjectionRecord, ev: Evidence) -> tuple[Accuracy, str, str, str]:
    """(accuracy, artifact, variant label, sha256) of what actually goes onto the device: an
    int8-only device gets the model's validated int8 variant, never the float model's accuracy."""
    acc = ev.accuracy.get(m, Accuracy(None, "none"))
    sha = ev.sha256.get(m, "")
    if rec.precision == "int8" and ev.refs[m].path is not None and not ev.quantised.get(m):
        v = ev.int8.get(m)
        if v is None:
            return Accuracy(None, "not validated at int8: quantise and evaluate first"), "", "", sha
        return v.accuracy, str(v.path), v.label, v.sha256
    if rec.precision == "fp16" and acc.value is not None:
        acc = Accuracy(acc.value, acc.source + " (fp16 assumed lossless)")
    return acc, "", "", sha


def _figures(rec: ProjectionRecord, sha: str, device: str, ev: Evidence) -> list[_Figure]:
    figs = []
    if rec.latency_ms_p99 is not None:
        figs.append(
            _Figure(
                "projected",
                rec.latency_ms_p99,
                float(rec.throughput_fps or 0.0),
                rec.band_pct,
                f"p99 = projected p50 x {rec.tail_ratio:.2f} (the p99/p50 measured on this host)",
            )
        )
    for r in ev.on_device:
        if r.model_sha256 == sha and r.device_id == device:
            figs.append(
                _Figure(
                    "measured-on-device",
                    r.latency_ms_p99,
                    r.throughput_fps,
                    0.0,
                    f"measured on {device} (record {r.record_id}, {r.backend})",
                    r.provenance.timestamp_utc,
                )
            )
    for p in ev.production:
        if p.model_sha256 == sha and p.device_id == device and p.latency_ms_p99 is not None:
            saturated = p.overload_drop_share > OVERLOAD_SHARE
            figs.append(
                _Figure(
                    "measured-in-production",
                    p.latency_ms_p99,
                    p.throughput_fps if saturated else float(rec.throughput_fps or 0.0),
                    0.0,
                    f"end-to-end p99 in production at {p.site}/{p.camera} (record {p.record_id}"
                    f", {p.frames_processed} frames"
                    + (
                        f"; {p.overload_drop_share:.0%} dropped: capacity as observed"
                        if saturated
                        else ""
                    )
                    + ")",
                    p.provenance.timestamp_utc,
                )
            )
    return figs


def edge_points(fleet: Fleet, ev: Evidence) -> list[PerfPoint]:
    """One point per model x candidate device, by evidence precedence."""
    power = {h.id: h.power_w for h in fleet.hardware}
    out = []
    for (m, device), rec in ev.projections.items():
        acc, artifact, variant, sha = _deployed(m, rec, ev)
        fig = best(_figures(rec, sha, device, ev), lambda f: f.source, lambda f: f.when)
        if fig is None:
            continue
        note = f"{rec.precision}; {fig.note}; {rec.reason}"
        if fig.source != "projected":
            note += f"; supersedes the projection ({rec.latency_ms_p99} ms)"
        out.append(
            PerfPoint(
                model=m,
                hardware=device,
                latency_ms_p99=fig.latency_ms_p99,
                throughput_fps=fig.throughput_fps,
                accuracy=acc.value,
                power_w=power.get(device) or rec.power_w,
                source=fig.source,
                band_pct=fig.band_pct,
                backend=rec.precision,
                deployable=rec.deployable,
                note=note,
                accuracy_source=acc.source,
                artifact=artifact,
                variant=variant,
                recall=acc.recall,
                precision=acc.precision,
                exclusion="" if rec.deployable else rec.reason,
            )
        )
    return out


def _cloud_models(fleet: Fleet) -> set[str]:
    return {m for c in fleet.cameras for w in c.workloads for m in (w.cloud_models or w.models)}


def cloud_points(fleet: Fleet, ev: Evidence) -> list[PerfPoint]:
    """Cloud options as performance points:
    - an API: its stated latency (assumed);
    - an instance whose accelerator is named (`gpu:`): projected like a device, calibrated on
      that accelerator's published figures (throughput from its batched-throughput rows);
    - a serverless endpoint (CPU) or an instance with `speedup_vs_host`: this host's measured
      figures times the override (assumed);
    - otherwise no candidate, and a note says so."""
    out = []
    wanted = _cloud_models(fleet)
    for opt in fleet.cloud:
        for m in ev.refs:
            if m not in wanted:
                continue
            acc = ev.accuracy.get(m, Accuracy(None, "none"))
            rec = ev.projections.get((m, opt.id))
            host = ev.best_host(m)
            if opt.kind == "api":
                out.append(
                    PerfPoint(
                        m,
                        opt.id,
                        opt.api_latency_ms,
                        1e6,
                        acc.value,
                        None,
                        "assumed",
                        note="API latency assumed (fleet.yaml api_latency_ms)",
                        accuracy_source=acc.source,
                        recall=acc.recall,
                        precision=acc.precision,
                    )
                )
            elif rec is not None and rec.latency_ms_p99 is not None:
                out.append(
                    PerfPoint(
                        m,
                        opt.id,
                        rec.latency_ms_p99,
                        float(rec.throughput_fps or 0.0),
                        acc.value,
                        None,
                        "projected",
                        band_pct=rec.band_pct,
                        backend=rec.precision,
                        deployable=rec.deployable,
                        note=f"{rec.precision} on {rec.device_id}; {rec.calibration}",
                        accuracy_source=acc.source,
                        recall=acc.recall,
                        precision=acc.precision,
                    )
                )
            elif host is not None and (opt.speedup_vs_host or opt.kind == "serverless"):
                k = opt.speedup_vs_host or 1.0
                why = (
                    f"this host's measured figures x speed-up {k:g} (fleet.yaml override)"
                    if opt.speedup_vs_host
                    else "this host's measured figures taken as the serverless CPU's"
                )
                out.append(
                    PerfPoint(
                        m,
                        opt.id,
                        host.latency_ms_p99 / k,
                        host.throughput_fps * k,
                        acc.value,
                        None,
                        "assumed",
                        note=f"{why} (assumed)",
                        accuracy_source=acc.source,
                        recall=acc.recall,
                        precision=acc.precision,
                    )
                )
            else:
                ev.notes.append(
                    f"cloud option {opt.id}: no candidate for {m}: name its accelerator "
                    "(`gpu:`, e.g. nvidia-t4) or give `speedup_vs_host`"
                )
    return out


def cascades(ev: Evidence) -> tuple[Cascade, ...]:
    """Measured cascades at their chosen band; an escalation rate measured in production (the
    agent's own count on the real scene) replaces the cascade's."""
    out = []
    for c in ev.cascades:
        sha = ev.sha256.get(c.edge_model, "")
        prod = best(
            [p for p in ev.production if p.model_sha256 == sha and p.escalation_rate is not None],
            lambda _p: "measured-in-production",
            lambda p: p.provenance.timestamp_utc,
        )
        esc, src = (
            (float(prod.escalation_rate), "measured-in-production")  # type: ignore[arg-type]
            if prod is not None
            else (c.escalation_rate, "measured: cascade")
        )
        out.append(Cascade(c.edge_model, c.cloud_model, esc, c.accuracy, src, c.band))
    return tuple(out)


def gate_pass_rates(ev: Evidence) -> dict[str, float]:
    """Per camera, the share of frames its motion gate let through in production (the newest
    record with enough frames): it replaces the declared duty cycle."""
    out: dict[str, tuple[str, float]] = {}
    for p in ev.production:
        if p.frames_in < 100 or ("no_motion" not in p.frames_dropped and p.frames_processed == 0):
            continue
        rate = 1.0 - p.frames_dropped.get("no_motion", 0) / p.frames_in
        when = p.provenance.timestamp_utc
        if p.camera not in out or when > out[p.camera][0]:
            out[p.camera] = (when, min(max(rate, 1e-3), 1.0))
    return {cam: rate for cam, (_, rate) in out.items()}
