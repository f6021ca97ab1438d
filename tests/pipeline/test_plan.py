"""`edgeplan plan` end to end on the shared data: FastestDet and YuNet measured on this host,
Jetson, Coral and Hailo projected; the report renders; a second run reuses the cache."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from edgeplan.pipeline.run import run_plan
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.loading import load_yaml_model

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "examples/shared-data/fleet.yaml"


@pytest.fixture(scope="module")
def planned(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGEPLAN_TESTDATA", str(testdata))
    tmp = tmp_path_factory.mktemp("plan")
    store = tmp / "records.sqlite"
    first = run_plan(FLEET, tmp / "out", store, quick=True)
    second = run_plan(FLEET, tmp / "out2", store, quick=True)
    mp.undo()
    return {"first": first, "second": second, "tmp": tmp}


def test_outputs_exist_and_plan_validates_against_its_schema(planned: dict) -> None:
    paths = planned["first"]["paths"]
    schema = json.loads((ROOT / "schemas/plan.schema.json").read_text())
    data = json.loads(paths["plan"].read_text())
    jsonschema.validate(data, schema)
    assert paths["md"].read_text().startswith("# edgeplan")
    agents = sorted((paths["plan"].parent / "sites/warehouse/agents").glob("*.yaml"))
    assert agents, "no agent config for the warehouse"
    cams = set()
    for a in agents:
        cfg = load_yaml_model(a, AgentConfig)  # what `edgeplan agent run` accepts
        cams |= {c.id for c in cfg.cameras}
    placed = {
        d.camera for d in planned["first"]["plan"].decisions if d.chosen and d.chosen.hardware
    }
    assert cams == placed


def test_models_measured_here_and_devices_projected(planned: dict) -> None:
    plan = planned["first"]["plan"]
    html = planned["first"]["paths"]["html"].read_text()
    assert "FastestDet.onnx" in html and "yunet_n_320_320.onnx" in html
    for dev in ("jetson-orin-nano-super", "coral-usb", "hailo-8"):
        assert dev in html
    assert "measured" in html and "projected" in html and "agreement" in html
    by_cam = {d.camera: d for d in plan.decisions}
    aisle = by_cam["aisle-cam"]
    assert aisle.chosen is not None and aisle.chosen.accuracy >= 0.15
    # the door camera is under no-video-egress: never pure cloud
    door = by_cam["door-cam"].chosen
    assert door is not None and door.pattern not in ("cloud", "cloud-with-edge-prefilter")
    # a float model goes to an int8-only device only with its int8 variant's accuracy measured
    for d in plan.decisions:
        if d.chosen and d.chosen.hardware in ("coral-usb", "hailo-8"):
            assert "int8" in d.chosen.sources["accuracy"], d.chosen.sources
    html = planned["first"]["paths"]["html"].read_text()
    assert "int8-static(Percentile,uint8)" in html  # the variant and its accuracy are shown


def test_second_run_reuses_the_cache(planned: dict) -> None:
    first, second = planned["first"]["run"]["cache_stats"], planned["second"]["run"]["cache_stats"]
    assert first["measured"] >= 3 and first["reused"] == 0
    assert second["measured"] == 0 and second["reused"] == first["measured"]
    assert second["saved_s"] == pytest.approx(first["measured_s"], rel=0.05)
    assert planned["second"]["wall_s"] < planned["first"]["wall_s"]


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium not installed (apt-get install chromium)"
)
def test_report_renders_offline_with_plots_in_headless_chromium(planned: dict) -> None:
    html = planned["first"]["paths"]["html"]
    assert '<script src="http' not in html.read_text()  # self-contained: no network
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={planned['tmp'] / 'chromium'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    n_plots = (
        len(planned["first"]["plan"].candidate_sets) + 3
    )  # frontiers, finalists, cost, tornado
    assert dom.count('class="main-svg"') >= n_plots, "plotly did not draw every plot"
    assert "scatterlayer" in dom and "barlayer" in dom
