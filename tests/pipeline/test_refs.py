"""Model and data references in fleet.yaml, as a new user writes them: `${VARS}` set in the
shell, relative paths, missing files named with the camera and workload that use them."""

from pathlib import Path

import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.errors import ConfigError
from edgeplan.pipeline.refs import expand_path, resolve_data, resolve_model
from edgeplan.pipeline.run import run_plan

FLEET = """
name: t
sites: [{id: s1, uplink_mbps: 10}]
cameras:
  - id: door
    site: s1
    fps: 5
    workloads:
      - task: detection
        models: [MODEL]
        latency_budget_ms: 100
"""


def test_an_unset_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDGEPLAN_NOPE", raising=False)
    with pytest.raises(ConfigError, match="environment variable EDGEPLAN_NOPE is not set"):
        expand_path("${EDGEPLAN_NOPE}/models/x.onnx", tmp_path, "model")


def test_a_variable_path_is_relative_to_where_the_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "examples" / "x").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MYDATA", "data")  # as in `MYDATA=data edgeplan plan examples/x/...`
    got = resolve_data("${MYDATA}", tmp_path / "examples" / "x", tmp_path / "cache")
    assert got == tmp_path / "data"
    # a plain relative path stays relative to fleet.yaml's folder
    (tmp_path / "examples" / "x" / "imgs").mkdir()
    assert resolve_data("imgs", tmp_path / "examples/x", tmp_path) == tmp_path / "examples/x/imgs"


def test_a_missing_model_names_the_camera_and_workload(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET.replace("MODEL", "models/missing.onnx"))
    with pytest.raises(ConfigError) as exc:
        run_plan(fleet, tmp_path / "out", tmp_path / "s.sqlite", quick=True)
    msg = str(exc.value)
    assert "cameras[0] (door) workloads[0] (detection)" in msg and "missing.onnx" in msg


def test_a_catalogue_id_is_facts_only(tmp_path: Path) -> None:
    ref = resolve_model("yolov8n_640", tmp_path, load_catalogue(None))
    assert ref.path is None and ref.catalogue_id == "yolov8n_640"
