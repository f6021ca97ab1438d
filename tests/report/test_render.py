import sys

from edgeplan.planning import make_plan
from edgeplan.report.render import grouped_decisions, markdown, tag

sys.path.insert(0, __file__.rsplit("/tests/", 1)[0] + "/tests/planning")
from fixtures import camera, fleet, inputs


def test_tags_map_every_source() -> None:
    assert tag("measured") == "measured" and tag("measured-on-device") == "measured-on-device"
    assert tag("projected") == "projected" and tag("agreement: top1") == "agreement"
    assert tag(None) == "none" and tag("published") == "published"


def test_identical_decisions_are_grouped_and_reported() -> None:
    plan = make_plan(inputs(fleet([camera(i, fps=10) for i in range(3)])))
    groups = grouped_decisions(plan)
    assert len(groups) == 1 and groups[0]["cameras"] == ["cam0", "cam1", "cam2"]
    md = markdown(plan, {"generated_utc": "now", "host": "h", "quick": False, "cache": "c"})
    assert "| cam0 |" in md and "## Why" in md


def test_pareto_labels_of_points_on_top_of_each_other_are_merged() -> None:
    """Devices at one accuracy and near one latency share a label led by the chosen point;
    a point far away keeps its own, and the labels sit in one text layer."""
    from edgeplan.planning.output import CandidatePoint, CandidateSet
    from edgeplan.report.figures import _cluster_labels, pareto

    def point(hw: str, p99: float, acc: float, chosen: bool = False) -> CandidatePoint:
        return CandidatePoint(
            pattern="on-device", hardware=hw, model="m.onnx", cloud=None, latency_ms_p99=p99,
            accuracy=acc, power_w=5.0, usd_per_month=2.0, feasible=True, frontier=True,
            chosen=chosen, dropped_by=[], latency_source="projected",
        )  # fmt: skip

    pts = [point("a", 2.40, 0.545), point("b", 2.45, 0.545, chosen=True), point("c", 2.5, 0.545)]
    pts += [point("far", 300.0, 0.520)]
    labels = _cluster_labels(pts, many_models=False)
    assert [t for *_, t, _ in labels] == ["b +2 more", "far"]
    assert labels[1][3].endswith("left")  # the rightmost label runs into the plot, not off it
    fig = pareto(CandidateSet(camera="c0", workload=0, task="t", cameras_sharing=1, points=pts))
    texts = [tr for tr in fig.data if tr.mode == "text"]
    assert len(texts) == 1 and list(texts[0].text) == ["b +2 more", "far"]
