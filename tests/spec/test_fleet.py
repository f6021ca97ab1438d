from pathlib import Path

import pytest

from edgeplan.cli.schema_cmd import schema_json
from edgeplan.errors import ConfigError
from edgeplan.spec import Fleet, load_yaml_model

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
name: shop
sites:
  - id: s1
    uplink_mbps: 20
    rtt_ms: {eu-west-1: {p50_ms: 25, p99_ms: 70}}
cameras:
  - id: door
    site: s1
    fps: 10
    workloads:
      - task: face-detection
        models: [yunet-n]
        latency_budget_ms: 200
        privacy: no-video-egress
cloud:
  - {id: g4dn, kind: gpu-instance, region: eu-west-1, usd_per_hour: 0.526}
"""


def test_valid_fleet(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD)
    f = load_yaml_model(p, Fleet)
    assert f.cameras[0].workloads[0].privacy == "no-video-egress"
    assert f.horizon_years == 3.0 and f.priorities.order[0] == "cost"


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        (
            "privacy: no-video-egress",
            "privacy: private",
            ["cameras[0].workloads[0].privacy", "'none'", "'no-video-egress'", "'no-egress'"],
        ),
        ("fps: 10", "fps: -3", ["cameras[0].fps", "greater than 0"]),
        ("site: s1", "site: s9", ["s9", "is not a site", "['s1']"]),
        (
            "usd_per_hour: 0.526",
            "usd_per_houre: 0.526",
            ["cloud[0].usd_per_houre", "unknown field"],
        ),
        (
            "latency_budget_ms: 200",
            "latency_budget: 200",
            ["cameras[0].workloads[0].latency_budget", "unknown field"],
        ),
    ],
)
def test_bad_fleet_names_the_yaml_path(
    tmp_path: Path, old: str, new: str, needles: list[str]
) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD.replace(old, new))
    with pytest.raises(ConfigError) as exc:
        load_yaml_model(p, Fleet)
    for n in needles:
        assert n in str(exc.value), str(exc.value)


def test_a_top_level_typo_is_one_short_line_naming_the_key(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD.replace("cameras:", "camreas:"))
    with pytest.raises(ConfigError) as exc:
        load_yaml_model(p, Fleet)
    msg = str(exc.value)
    assert "camreas: unknown field; did you mean 'cameras'?" in msg, msg
    assert "cameras: required field is missing" in msg
    assert "edgeplan schema fleet" in msg
    assert len(msg.splitlines()) <= 3 and len(msg) < 600, msg  # never the whole fleet dumped


def test_a_nested_typo_suggests_the_field_at_that_level(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD.replace("latency_budget_ms: 200", "latency_budgt_ms: 200"))
    with pytest.raises(ConfigError, match="did you mean 'latency_budget_ms'"):
        load_yaml_model(p, Fleet)


def test_invalid_yaml_names_the_file_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD.replace("fps: 10", "fps: [10"))
    with pytest.raises(ConfigError) as exc:
        load_yaml_model(p, Fleet)
    assert str(p) in str(exc.value) and "<unicode string>" not in str(exc.value)
    assert "line" in str(exc.value)


def test_a_long_wrong_value_is_shortened(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text(GOOD.replace("name: shop", "name: [" + ", ".join(["x"] * 200) + "]"))
    with pytest.raises(ConfigError) as exc:
        load_yaml_model(p, Fleet)
    assert len(str(exc.value)) < 300 and "..." in str(exc.value)


@pytest.mark.parametrize("which", ["fleet", "agent", "card", "plan"])
def test_committed_schema_is_current(which: str) -> None:
    committed = (ROOT / "schemas" / f"{which}.schema.json").read_text()
    assert committed == schema_json(which), (
        f"regenerate: edgeplan schema {which} > schemas/{which}.schema.json"
    )
