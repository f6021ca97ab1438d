"""Rich tables for records."""

from rich.table import Table

from edgeplan.records.types import CharacterisationRecord


def _f(v: float | None, nd: int = 2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _drift(r: CharacterisationRecord) -> str:
    s = r.sustained
    if s is None:
        return "run too short for windows"
    p50 = r.latency_ms_p50 or 1.0
    change = s.p50_slope_ms_per_min * s.duration_s / 60 / p50 * 100
    flag = " [noisy host: windows disagree]" if s.windows_disagree else ""
    clock = f", CPU {min(s.cpu_mhz):.0f}-{max(s.cpu_mhz):.0f} MHz" if s.cpu_mhz else ""
    return (
        f"p50 {change:+.1f}% over {s.duration_s:.0f} s ({s.p50_slope_ms_per_min:+.3f} ms/min), "
        f"last/first window p99 {s.last_vs_first_p99_ratio:.2f}{clock}{flag}"
    )


def summary_tables(r: CharacterisationRecord) -> list[Table]:
    """Headline, scenarios, stages and top ops of one record."""
    host = r.provenance.host
    head = Table(
        title=f"{r.model_path} on {r.backend} ({r.precision}, threads={r.threads or 'default'})",
        show_header=False,
    )
    for k, v in [
        (
            "host",
            f"{host.cpu_model}, {host.logical_cores} vCPU, {', '.join(host.isa_flags[-4:])}"
            if host
            else "?",
        ),
        ("cold start", f"load {_f(r.load_ms)} ms, first inference {_f(r.first_inference_ms)} ms"),
        (
            "latency (SingleStream)",
            f"p50 {_f(r.latency_ms_p50)} / p90 {_f(r.latency_ms_p90)} / "
            f"p99 {_f(r.latency_ms_p99)} ms",
        ),
        ("throughput", f"{_f(r.throughput_fps, 1)} fps ({r.throughput_source})"),
        (
            "memory",
            f"peak RSS {_f(r.peak_rss_mib, 1)} MiB, model delta {_f(r.model_rss_delta_mib, 1)} MiB",
        ),
        (
            "energy",
            f"{_f(r.energy.energy_mj_per_frame)} mJ/frame"
            if r.energy.available
            else f"not measured: {r.energy.reason}",
        ),
        ("drift", _drift(r)),
        ("bottleneck", f"{r.bottleneck}: {r.bottleneck_reason}"),
        (
            "accuracy",
            ", ".join(
                f"{m.metric} {m.value:.4f} [{m.ci95_low:.3f}-{m.ci95_high:.3f}] n={m.samples}"
                for m in r.accuracy
            )
            + f" on {r.accuracy_dataset}"
            if r.accuracy
            else "not measured (give --data)",
        ),
        ("source", f"{r.provenance.source} at {r.provenance.timestamp_utc}"),
    ]:
        head.add_row(k, v)
    sc = Table(title="LoadGen scenarios (figures from LoadGen's summary)")
    for c in ("scenario", "valid", "queries", "p50 ms", "p90 ms", "p99 ms", "samples/s", "note"):
        sc.add_column(c)
    for s in r.scenarios:
        lat = s.latency
        note = ""
        if s.scenario == "Server" and s.max_qps_under_bound is not None:
            note = f"max {s.max_qps_under_bound:.1f} qps with p99 <= {s.latency_bound_ms:.1f} ms"
        if s.scenario == "MultiStream":
            note = f"{s.samples_per_query} streams"
        sc.add_row(
            s.scenario,
            "yes" if s.valid else "no",
            str(s.queries),
            _f(lat.latency_ms_p50 if lat else None),
            _f(lat.latency_ms_p90 if lat else None),
            _f(lat.latency_ms_p99 if lat else None),
            _f(s.throughput_fps, 1),
            note,
        )
    st = Table(title=f"pipeline stages on {r.stage_input}")
    for c in ("stage", "p50 ms", "p99 ms", "samples"):
        st.add_column(c)
    for name, stage in r.stages.items():
        st.add_row(name, _f(stage.latency_ms_p50), _f(stage.latency_ms_p99), str(stage.samples))
    ops = Table(title="top ops by measured time")
    for c in ("op type", "calls", "ms/inference", "share %", "MMACs", "verdict"):
        ops.add_column(c)
    for o in r.top_ops:
        ops.add_row(
            o.op_type,
            str(o.calls),
            _f(o.time_ms, 3),
            _f(o.share_pct, 1),
            _f(o.macs / 1e6, 1),
            o.verdict,
        )
    tables = [head, sc, st]
    if r.concurrency:
        cc = Table(
            title=f"{len(r.concurrency.streams)} streams at {r.concurrency.demanded_fps:g} fps"
        )
        for c in ("stream", "achieved fps", "processed", "dropped", "p99 ms"):
            cc.add_column(c)
        for stream in r.concurrency.streams:
            cc.add_row(
                str(stream.stream),
                _f(stream.achieved_fps, 1),
                str(stream.frames_processed),
                str(stream.frames_dropped),
                _f(stream.latency_ms_p99),
            )
        tables.append(cc)
    if r.top_ops:
        tables.append(ops)
    return tables
