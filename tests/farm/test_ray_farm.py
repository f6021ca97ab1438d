"""The device farm on a real Ray cluster (head + two worker nodes advertising
device:test-device, on loopback in a network namespace): status, characterise and evaluate on
a device's node with the record stored as measured there, the sizing search sharing one optuna
study across two nodes at once, and nodes killed mid-task (retried elsewhere, then reported)."""

import json
import sys
import time
from pathlib import Path

import pytest

from edgeplan.records.store import RecordStore
from tests.farm.cluster import LoopbackCluster, usable

why = usable()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")
CLI = [sys.executable, "-c", "from edgeplan.cli.main import app; app()"]
DEVICE = "test-device"
N100 = "intel-n100"
FLEET = """
name: lab
sites: [{id: lab, uplink_mbps: 20}]
cameras: [{id: cam, site: lab, fps: 5, workloads: [{task: detection, models: [MODEL],
           latency_budget_ms: 1000}]}]
hardware: [{id: intel-n100}]
"""


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("farm")
    # w2 is also the lab's N100 box: a catalogue device, whose records the planner uses
    workers = {"w1": {f"device:{DEVICE}": 1}, "w2": {f"device:{DEVICE}": 1, f"device:{N100}": 1}}
    with LoopbackCluster(tmp, workers) as c:
        yield c


def _status(farm: LoopbackCluster, tmp: Path) -> dict:
    out = tmp / "status.json"
    r = farm.run([*CLI, "farm", "status", "--cluster", farm.address, "--json", str(out)])
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


def _device_nodes(status: dict) -> set[str]:
    return {n["node_id"] for n in status["nodes"] if n["alive"] and DEVICE in n["devices"]}


def test_status_lists_nodes_and_their_devices(farm: LoopbackCluster, tmp_path: Path) -> None:
    st = _status(farm, tmp_path)
    assert len(st["nodes"]) == 3 and len(_device_nodes(st)) == 2
    assert all(n["address"] == "127.0.0.1" for n in st["nodes"])  # loopback only


def test_characterise_runs_on_the_device_node_and_is_stored_as_measured_there(
    farm: LoopbackCluster, fastestdet: Path, tmp_path: Path
) -> None:
    nodes = _device_nodes(_status(farm, tmp_path))
    store, out = tmp_path / "s.sqlite", tmp_path / "rec.json"
    r = farm.run(
        [*CLI, "characterise", str(fastestdet), "--cluster", farm.address, "--device", DEVICE,
         "--duration-s", "1", "--scenario", "SingleStream", "--store", str(store),
         "--json", str(out)]
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    rec = json.loads(out.read_text())
    prov = rec["provenance"]
    assert prov["source"] == "measured-on-device" and rec["device_id"] == DEVICE
    assert prov["harness"]["ray_node_id"] in nodes
    assert prov["host"] and prov["packages"].get("onnxruntime")  # the node's own
    assert rec["model_path"] == str(fastestdet)  # the user's path, not the node's copy
    with RecordStore(store) as st:
        got = st.get(rec["record_id"])
    assert got is not None and got.provenance.source == "measured-on-device"


def test_plan_uses_what_the_farm_measured_on_the_device(
    farm: LoopbackCluster, fastestdet: Path, tmp_path: Path
) -> None:
    from edgeplan.pipeline.run import run_plan

    store, out = tmp_path / "s.sqlite", tmp_path / "rec.json"
    r = farm.run(
        [*CLI, "characterise", str(fastestdet), "--cluster", farm.address, "--device", N100,
         "--duration-s", "1", "--scenario", "SingleStream", "--store", str(store),
         "--json", str(out)]
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        json.loads(out.read_text())["provenance"]["harness"]["ray_node_id"] == farm.node_ids["w2"]
    )
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET.replace("MODEL", str(fastestdet)))
    plan = run_plan(fleet, tmp_path / "out", store, quick=True)["plan"]
    [key] = [k for k in plan.evidence if k.endswith(f"@{N100}")]
    assert plan.evidence[key].latency_source == "measured-on-device"


def test_evaluate_on_the_device_node(
    farm: LoopbackCluster, fastestdet: Path, testdata: Path, tmp_path: Path
) -> None:
    out = tmp_path / "acc.json"
    data = testdata / "datasets/coco128/val2017_yolo"
    r = farm.run(
        [*CLI, "evaluate", str(fastestdet), "--data", str(data), "--limit", "8",
         "--bootstrap", "10", "--cluster", farm.address, "--device", DEVICE,
         "--store", str(tmp_path / "s.sqlite"), "--json", str(out)]
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    rec = json.loads(out.read_text())
    assert rec["device_id"] == DEVICE and rec["samples"] == 8
    assert rec["provenance"]["source"] == "measured-on-device"


def test_optimise_shares_one_study_across_two_nodes_at_once(
    farm: LoopbackCluster, fastestdet: Path, testdata: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sizing.json"
    storage = f"sqlite:///{tmp_path / 'study.sqlite'}"
    data = testdata / "datasets/coco128/val2017_yolo"
    r = farm.run(
        [*CLI, "optimise", str(fastestdet), "--data", str(data),
         "--latency-ms-p99", "0.001", "--accuracy-floor", "0", "--backends", "onnxruntime",
         "--max-trials", "2", "--eval-images", "8", "--threads", "1", "--cluster", farm.address,
         "--device", DEVICE, "--workers", "2", "--study-storage", storage, "--json", str(out)]
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(out.read_text())
    done = [t for t in res["study"]["trials"] if t["complete_unix_s"]]
    assert len(done) == 2  # the shared budget, not 2 per worker
    a, b = sorted(done, key=lambda t: t["start_unix_s"])
    assert b["start_unix_s"] < a["complete_unix_s"]  # the two trials ran at the same time
    assert len({w["node_id"] for w in res["workers"]}) == 2  # on two device nodes
    measured = {v["measured_on"] for v in res["variants"] if v["label"] != "original"}
    assert len(measured) == 2


def _wait_running(farm: LoopbackCluster, tmp: Path, timeout_s: float = 60) -> str:
    """The worker whose node runs an edgeplan task (farm status's running column)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        for n in _status(farm, tmp)["nodes"]:
            if any(t.startswith("edgeplan:") for t in n["running"]):
                return farm.name_of(n["node_id"])
        time.sleep(0.5)
    raise TimeoutError("no edgeplan task started")


def test_a_node_killed_mid_task_is_retried_on_another_then_reported(
    farm: LoopbackCluster, fastestdet: Path, tmp_path: Path
) -> None:
    """Last: it kills both workers."""
    cmd = [*CLI, "characterise", str(fastestdet), "--cluster", farm.address, "--device", DEVICE,
           "--duration-s", "20", "--scenario", "SingleStream", "--store",
           str(tmp_path / "s.sqlite"), "--json", str(tmp_path / "rec.json")]  # fmt: skip
    proc = farm.popen(cmd)
    victim = _wait_running(farm, tmp_path)
    farm.kill(victim)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out  # Ray ran it again on the other node
    rec = json.loads((tmp_path / "rec.json").read_text())
    survivor = next(n for n in farm.node_ids if n in farm.procs and n != "head")
    assert rec["provenance"]["harness"]["ray_node_id"] == farm.node_ids[survivor]

    proc = farm.popen(cmd)
    farm.kill(_wait_running(farm, tmp_path))  # the last device node
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 9, out
    assert "died" in out and "device:test-device" in out and "nothing stored" in out
