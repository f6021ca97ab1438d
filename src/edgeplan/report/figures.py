"""The report's plots (plotly figures), each built from the plan and its evidence only."""

from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from edgeplan.planning.output import CandidatePoint, CandidateSet, Plan

COLOURS = {
    "on-device": "#1b9e77",
    "shared-site-device": "#66a61e",
    "hybrid": "#7570b3",
    "cloud-fallback": "#e6ab02",
    "cloud-with-edge-prefilter": "#a6761d",
    "cloud": "#d95f02",
}


REFERENCE = "agreement: the reference itself"


def _point_label(p: CandidatePoint, many_models: bool) -> str:
    where = p.hardware or p.cloud or ""
    if p.hardware and p.cloud:
        where = f"{p.hardware}+{p.cloud}"
    if many_models and p.model:
        where += f" · {Path(p.model).stem[:24]}"
    if p.accuracy_source.startswith(REFERENCE):
        where += " (reference)"
    return where


LABEL_NEAR = 0.06  # share of each axis's span within which labelled points share one label


def _cluster_labels(
    points: list[CandidatePoint], many_models: bool
) -> list[tuple[float, float, str, str]]:
    """(x, y, text, position) per group of labelled points (frontier or chosen) that would sit
    on top of each other: several devices at one accuracy and near one latency get one label,
    the chosen point's (else the fastest's) with "+N more"; hovering a marker names each. Groups
    alternate above and below the line of labels, and the rightmost run leftwards, so labels
    neither pile up nor leave the plot."""
    shown = [
        p for p in points
        if (p.frontier or p.chosen) and p.accuracy is not None and p.latency_ms_p99 > 0
    ]  # fmt: skip
    if not shown:
        return []
    u = np.log10([p.latency_ms_p99 for p in shown])
    v = np.array([p.accuracy or 0.0 for p in shown])
    u = (u - u.min()) / max(float(np.ptp(u)), 1.0)  # at least a decade wide
    v = (v - v.min()) / max(float(np.ptp(v)), 0.01)  # at least a point of accuracy tall
    order = sorted(range(len(shown)), key=lambda i: (not shown[i].chosen, u[i]))
    groups: list[list[int]] = []
    for i in order:
        near = [g for g in groups if max(abs(u[g[0]] - u[i]), abs(v[g[0]] - v[i])) < LABEL_NEAR]
        if near:
            near[0].append(i)
        else:
            groups.append([i])
    out = []
    for k, g in enumerate(sorted(groups, key=lambda g: u[g[0]])):
        lead = shown[g[0]]
        text = _point_label(lead, many_models)
        others = {_point_label(shown[j], many_models) for j in g[1:]} - {text}
        if others:
            text += f" +{len(others)} more"
        side = "left" if u[g[0]] > 0.75 else "right"
        position = f"{'top' if k % 2 == 0 else 'bottom'} {side}"
        out.append((lead.latency_ms_p99, lead.accuracy or 0.0, text, position))
    return out


def pareto(cs: CandidateSet) -> go.Figure:
    """Latency p99 vs accuracy; size = cost, colour = pattern; dominated/infeasible faded.
    Frontier points are labelled with their device (and model when there are several); the
    reference model of an agreement figure is marked, since it scores 1.0 by definition."""
    fig = go.Figure()
    cost = [p.usd_per_month for p in cs.points] or [1.0]
    top = max(cost) or 1.0
    many = len({p.model for p in cs.points}) > 1
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
                    customdata=[
                        f"{Path(p.model or '').name} on {p.hardware or p.cloud}<br>"
                        f"${p.usd_per_month:.2f}/month, {p.power_w:.1f} W<br>"
                        f"latency: {p.latency_source}<br>accuracy: {p.accuracy_source}"
                        + (f"<br>dropped: {', '.join(p.dropped_by)}" if p.dropped_by else "")
                        for p in pts
                    ],
                    hovertemplate="%{customdata}<br>p99 %{x:.1f} ms, accuracy %{y:.3f}"
                    "<extra></extra>",
                )
            )
    labels = _cluster_labels(cs.points, many)
    if labels:  # one text layer over every trace, so neighbouring traces' labels cannot collide
        x, y, text, position = (list(c) for c in zip(*labels, strict=True))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                text=text,
                textposition=position,
                mode="text",
                textfont={"size": 10},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    agreement = bool(cs.points) and all(
        p.accuracy_source.startswith("agreement") for p in cs.points if p.accuracy is not None
    )
    if any(p.accuracy_source.startswith(REFERENCE) for p in cs.points):
        fig.add_annotation(
            xref="paper",
            yref="paper",
            x=0,
            y=1.06,
            showarrow=False,
            align="left",
            text="points marked (reference) are the reference model itself: agreement 1.0 "
            "by definition, not a measure of its accuracy",
            font={"size": 11, "color": "#b45309"},
        )
    fig.update_layout(
        title=f"Pareto frontier: {cs.camera} ({cs.task}, {cs.cameras_sharing} "
        "camera(s) with this workload) — star = chosen, size = cost",
        xaxis={"title": "latency p99 (ms, log)", "type": "log"},
        yaxis={
            "title": "agreement with the reference model" if agreement else "accuracy (task metric)"
        },
        height=480,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
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


def log_ticks(values: list[float]) -> tuple[list[float], list[str]]:
    """1-2-5 ticks covering `values` on a log axis, labelled plainly (no minor-tick clutter)."""
    pos = [v for v in values if v and v > 0]
    if not pos:
        return [], []
    lo, hi = min(pos), max(pos)
    ticks: list[float] = []
    decade = 10.0 ** np.floor(np.log10(lo))
    while decade <= hi * 10:
        ticks += [m * decade for m in (1, 2, 5) if lo / 2 <= m * decade <= hi * 2]
        decade *= 10
    return ticks, [f"{t:g}" for t in ticks]


def finalists(rows: list[dict]) -> go.Figure:
    """Latency of the finalists, p50 and p99 labelled: measured on this host as a box (p50 to
    p90, whiskers min to p99), projected onto a device as p50 with its band and the p99 the
    decision uses."""
    fig = go.Figure()
    shown: set[str] = set()
    values: list[float] = []
    for r in rows:
        if r["source"] == "measured":
            first = "measured" not in shown
            shown.add("measured")
            fig.add_trace(
                go.Box(
                    x=[r["name"]],
                    q1=[r["p50"]],
                    median=[r["p50"]],
                    q3=[r["p90"]],
                    lowerfence=[r["min"]],
                    upperfence=[r["p99"]],
                    marker_color="#1b9e77",
                    name="measured on this host: box p50-p90, whiskers min-p99",
                    legendgroup="measured",
                    showlegend=first,
                    hovertemplate=f"p50 {r['p50']:.2f} ms, p90 {r['p90']:.2f} ms, "
                    f"p99 {r['p99']:.2f} ms<extra></extra>",
                )
            )
            values += [r["min"], r["p99"]]
        else:
            first = "projected" not in shown
            shown.add("projected")
            fig.add_trace(
                go.Scatter(
                    x=[r["name"]],
                    y=[r["p50"]],
                    mode="markers",
                    name="projected p50 with its band",
                    legendgroup="projected",
                    showlegend=first,
                    marker={"color": "#7570b3", "size": 10},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [r["high"] - r["p50"]],
                        "arrayminus": [r["p50"] - r["low"]],
                    },
                    hovertemplate=f"projected p50 {r['p50']:.2f} ms "
                    f"({r['low']:.2f}-{r['high']:.2f})<extra></extra>",
                )
            )
            values += [r["low"], r["high"]]
            if r.get("p99"):
                first99 = "p99" not in shown
                shown.add("p99")
                fig.add_trace(
                    go.Scatter(
                        x=[r["name"]],
                        y=[r["p99"]],
                        mode="markers",
                        name="projected p99 (what the decision uses)",
                        legendgroup="p99",
                        showlegend=first99,
                        marker={"color": "#7570b3", "size": 10, "symbol": "triangle-up-open"},
                        hovertemplate=f"projected p99 {r['p99']:.2f} ms<extra></extra>",
                    )
                )
                values.append(r["p99"])
    ticks, text = log_ticks(values)
    fig.update_layout(
        title="Latency of the finalists (ms, log scale)",
        yaxis={"title": "latency, ms", "type": "log", "tickvals": ticks, "ticktext": text},
        xaxis={"type": "category"},
        legend={"orientation": "h", "y": -0.35},
        height=440,
        margin={"l": 60, "r": 20, "t": 60, "b": 140},
    )
    return fig
