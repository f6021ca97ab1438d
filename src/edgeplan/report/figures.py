"""The report's plots (plotly figures), each built from the plan and its evidence only."""

import plotly.graph_objects as go

from edgeplan.planning.output import CandidateSet, Plan

COLOURS = {
    "on-device": "#1b9e77",
    "shared-site-device": "#66a61e",
    "hybrid": "#7570b3",
    "cloud-fallback": "#e6ab02",
    "cloud-with-edge-prefilter": "#a6761d",
    "cloud": "#d95f02",
}


def pareto(cs: CandidateSet) -> go.Figure:
    """Latency p99 vs accuracy; size = cost, colour = pattern; dominated/infeasible faded."""
    fig = go.Figure()
    cost = [p.usd_per_month for p in cs.points] or [1.0]
    top = max(cost) or 1.0
    for pattern, colour in COLOURS.items():
        for state in ("frontier", "other"):
            pts = [
                p
                for p in cs.points
                if p.pattern == pattern
                and (p.frontier == (state == "frontier"))
                and p.accuracy is not None
            ]
            if not pts:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[p.latency_ms_p99 for p in pts],
                    y=[p.accuracy for p in pts],
                    mode="markers",
                    name=f"{pattern}" + ("" if state == "frontier" else " (dominated / dropped)"),
                    legendgroup=pattern,
                    showlegend=True,
                    marker={
                        "color": colour,
                        "opacity": 0.95 if state == "frontier" else 0.2,
                        "size": [8 + 30 * (p.usd_per_month / top) ** 0.5 for p in pts],
                        "symbol": ["star" if p.chosen else "circle" for p in pts],
                        "line": {"width": [2 if p.chosen else 0 for p in pts], "color": "black"},
                    },
                    text=[
                        f"{p.model} on {p.hardware or p.cloud}<br>${p.usd_per_month:.2f}/month, "
                        f"{p.power_w:.1f} W<br>latency: {p.latency_source}"
                        + (f"<br>dropped: {', '.join(p.dropped_by)}" if p.dropped_by else "")
                        for p in pts
                    ],
                    hovertemplate="%{text}<br>p99 %{x:.1f} ms, accuracy %{y:.3f}<extra></extra>",
                )
            )
    fig.update_layout(
        title=f"Pareto frontier: {cs.camera} ({cs.task}, {cs.cameras_sharing} "
        "camera(s) with this workload) — star = chosen, size = cost",
        xaxis={"title": "latency p99 (ms, log)", "type": "log"},
        yaxis={"title": "accuracy (task metric)"},
        height=460,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
    return fig


def cumulative(plan: Plan) -> go.Figure:
    fig = go.Figure()
    styles = {
        "plan": ("#222", "solid"),
        "all-edge": ("#1b9e77", "dash"),
        "all-cloud": ("#d95f02", "dash"),
    }
    for label, series in plan.summary.cumulative.items():
        colour, dash = styles.get(label, ("#999", "dot"))
        fig.add_trace(
            go.Scatter(
                x=[p.month for p in series],
                y=[p.usd_cumulative for p in series],
                mode="lines",
                name=label,
                line={"color": colour, "dash": dash},
            )
        )
    be = plan.summary.break_even_month
    if be:
        fig.add_vline(
            x=be,
            line={"color": "#555", "dash": "dot"},
            annotation_text=f"break-even: month {be}",
            annotation_position="top left",
        )
    fig.update_layout(
        title=f"Cumulative cost over {plan.summary.horizon_years:g} years",
        xaxis={"title": "month"},
        yaxis={"title": "USD, cumulative"},
        height=380,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
    return fig


def tornado(plan: Plan) -> go.Figure:
    rows = plan.summary.sensitivity[::-1]
    base = plan.summary.tco_usd
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=[r.input for r in rows],
            x=[r.tco_usd_low - base for r in rows],
            base=base,
            orientation="h",
            name="input -50%",
            marker_color="#1b9e77",
        )
    )
    fig.add_trace(
        go.Bar(
            y=[r.input for r in rows],
            x=[r.tco_usd_high - base for r in rows],
            base=base,
            orientation="h",
            name="input +50%",
            marker_color="#d95f02",
        )
    )
    fig.update_layout(
        title="Sensitivity of plan TCO (each input ±50%)",
        barmode="overlay",
        xaxis={"title": "plan TCO, USD"},
        height=320,
        margin={"l": 160, "r": 20, "t": 60, "b": 50},
    )
    return fig


def finalists(rows: list[dict]) -> go.Figure:
    """Latency distribution of finalists: measured on this host (p50 / p90 / p99 / max as a box),
    projected ones as their band."""
    fig = go.Figure()
    for r in rows:
        if r["source"] == "measured":
            fig.add_trace(
                go.Box(
                    name=r["name"],
                    q1=[r["p50"]],
                    median=[r["p50"]],
                    q3=[r["p90"]],
                    lowerfence=[r["min"]],
                    upperfence=[r["p99"]],
                    marker_color="#1b9e77",
                    showlegend=False,
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=[r["name"]],
                    y=[r["p50"]],
                    mode="markers",
                    showlegend=False,
                    marker={"color": "#7570b3", "size": 10},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [r["high"] - r["p50"]],
                        "arrayminus": [r["p50"] - r["low"]],
                    },
                )
            )
    fig.update_layout(
        title="Latency of the finalists: boxes measured on this host (p50, p90, p99), "
        "points projected with their band",
        yaxis={"title": "ms", "type": "log"},
        height=400,
        margin={"l": 60, "r": 20, "t": 60, "b": 120},
    )
    return fig
