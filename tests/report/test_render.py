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
