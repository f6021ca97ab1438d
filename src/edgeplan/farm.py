"""A device farm on Ray: each device joins a Ray cluster as a node with a custom resource naming
its catalogue id (`ray start --address HEAD --resources '{"device:rpi5": 1}'`), and edgeplan runs
characterisation, evaluation and sizing trials on a node that has it. The model travels by
content (its bytes, checked against their sha256 on the node); datasets are read from the same
path on the node (mount them there). Records come back as `measured-on-device`, with the node's
id, host fingerprint and package versions. A node that dies mid-task: Ray retries the task on
another node with the same device; when no live node offers the device for `grace_s`, the task
is cancelled and the error names the device and the node that died. Never lost silently."""

import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeplan.errors import EdgeplanError

RETRIES = 2  # another node with the same device takes over a task whose node died
GRACE_S = 30.0  # how long a task may wait with no live node offering its device
GRACE_ENV = "EDGEPLAN_FARM_GRACE_S"  # overrides it (a device that reboots may need longer)


class FarmError(EdgeplanError):
    """The cluster cannot be reached, offers no node with the device, or lost the task."""

    exit_code = 9


def resource(device: str) -> str:
    return f"device:{device}"


TEST_PREFIX = "test-"  # test farms name their own devices; every other id is a catalogue id


def check_device(device: str) -> None:
    """A farm device is a catalogue id (an unknown one is refused, the known ones listed)."""
    if not device.startswith(TEST_PREFIX):
        from edgeplan.catalogue import load_catalogue

        load_catalogue().device(device)


def config_fields(cfg: Any, skip: tuple[str, ...] = ("model",)) -> dict[str, Any]:
    """A run config's fields for the node (the model travels apart, by content)."""
    import dataclasses

    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in skip}


def reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a head nobody listens at (Ray itself would wait without end)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise FarmError(f"--cluster {address!r}: give the head as HOST:PORT (e.g. 10.0.0.2:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise FarmError(
            f"cannot reach the Ray head at {address}: {exc.strerror or exc} (is `ray start "
            "--head` running there, and is its port open to this machine?)"
        ) from exc


def connect(address: str) -> Any:
    """Join the cluster as a driver (no work runs here)."""
    try:
        import ray
    except ImportError as exc:
        raise FarmError("--cluster needs Ray: pip install 'edgeplan[farm]'") from exc
    if not ray.is_initialized():
        reachable(address)
        try:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise FarmError(f"cannot join the Ray cluster at {address}: {exc}") from exc
    return ray


def nodes(address: str) -> list[dict[str, Any]]:
    """Every node: id, address, alive, its devices and CPUs."""
    ray = connect(address)
    out = []
    for n in ray.nodes():
        res = n.get("Resources", {})
        devices = sorted(k.removeprefix("device:") for k in res if k.startswith("device:"))
        out.append(
            {
                "node_id": n["NodeID"],
                "address": n.get("NodeManagerAddress", ""),
                "alive": bool(n.get("Alive")),
                "devices": devices,
                "cpus": res.get("CPU", 0),
            }
        )
    return out


def offering(address: str, device: str) -> list[str]:
    """Ids of the live nodes that offer `device`."""
    return [n["node_id"] for n in nodes(address) if n["alive"] and device in n["devices"]]


def running_tasks(address: str) -> dict[str, list[str]]:
    """Names of the tasks running per node id (Ray's state API, served by the dashboard)."""
    connect(address)
    try:
        from ray.util.state import list_tasks

        tasks = list_tasks(
            address=address,
            filters=[("state", "=", "RUNNING")],
            raise_on_missing_output=False,
        )
    except Exception:  # no dashboard on the head: status still lists the nodes
        return {}
    out: dict[str, list[str]] = {}
    for t in tasks:
        out.setdefault(getattr(t, "node_id", None) or "", []).append(getattr(t, "name", "?"))
    return out


class ModelBytes:
    """A model file by content: written once per node under its sha256, verified there."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.data = path.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()

    def materialise(self) -> Path:
        if hashlib.sha256(self.data).hexdigest() != self.sha256:
            raise RuntimeError("model bytes changed in transit (sha256 mismatch)")
        folder = Path(tempfile.gettempdir()) / "edgeplan-farm" / self.sha256[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.name
        if not path.exists():
            tmp = path.with_suffix(path.suffix + f".{id(self)}.part")
            tmp.write_bytes(self.data)
            tmp.replace(path)
        return path


def node_id() -> str:
    """The id of the Ray node this code runs on."""
    import ray

    return str(ray.get_runtime_context().get_node_id())


def need_on_node(path: Path | None, what: str) -> None:
    """Data is read where the task runs: say so clearly when the node lacks it."""
    if path is not None and not Path(path).exists():
        raise FileNotFoundError(
            f"{what} {path} is not on node {node_id()[:12]}: mount it at the same path on "
            "every device of the farm"
        )


def submit(address: str, device: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Start `fn(*args)` on a node offering `device`; returns its object ref."""
    ray = connect(address)
    if not offering(address, device):
        known = sorted({d for n in nodes(address) if n["alive"] for d in n["devices"]})
        raise FarmError(
            f"no live node of the cluster offers {resource(device)}; devices offered: "
            f"{', '.join(known) or 'none'} (join one: ray start --address ... --resources "
            f"'{{\"{resource(device)}\": 1}}')"
        )
    task = ray.remote(num_cpus=1, resources={resource(device): 1}, max_retries=RETRIES)(fn)
    return task.options(name=f"edgeplan:{getattr(fn, '__name__', 'task')}").remote(*args)


def grace_s() -> float:
    """Seconds a task may wait with no live node offering its device ($EDGEPLAN_FARM_GRACE_S)."""
    raw = os.environ.get(GRACE_ENV, "")
    try:
        return float(raw) if raw else GRACE_S
    except ValueError as exc:
        raise FarmError(f"${GRACE_ENV}={raw!r}: a number of seconds") from exc


def wait_all(address: str, device: str, refs: list[Any]) -> list[Any]:
    """Results of `refs`, in order. Ray retries a task whose node died on another node with the
    device; when none has been alive for `grace_s()`, the tasks are cancelled and this says so."""
    ray = connect(address)
    grace = grace_s()
    before = set(offering(address, device))
    orphaned_since: float | None = None
    pending = list(refs)
    while pending:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=1.0)
        if not pending:
            break
        alive = set(offering(address, device))
        if alive:
            orphaned_since = None
            continue
        orphaned_since = orphaned_since or time.monotonic()
        if time.monotonic() - orphaned_since >= grace:
            for ref in pending:
                ray.cancel(ref, force=True)
            lost = ", ".join(sorted(n[:12] for n in before)) or "none"
            raise FarmError(
                f"the {resource(device)} node running the task died (nodes that had it: {lost}) "
                f"and no live node has offered it for {grace:g} s; {len(pending)} task(s) "
                "cancelled, nothing stored. Rejoin the device and run it again."
            )
    out = []
    for ref in refs:
        try:
            out.append(ray.get(ref))
        except ray.exceptions.RayTaskError as exc:  # the work itself failed on the node
            raise FarmError(f"failed on the {device} node: {exc.cause}") from exc
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.RaySystemError) as exc:  # fmt: skip
            raise FarmError(
                f"the node running it died and no other node with {resource(device)} finished "
                f"it ({RETRIES} retries): {type(exc).__name__}"
            ) from exc
    return out


def run_on(address: str, device: str, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` on a node offering `device`, waited for as `wait_all` does."""
    return wait_all(address, device, [submit(address, device, fn, *args)])[0]


def _characterise_task(model: ModelBytes, cfg_fields: dict) -> dict:
    from edgeplan.bench.characterise import CharacteriseConfig, characterise

    need_on_node(cfg_fields.get("data"), "the data folder")
    rec = characterise(CharacteriseConfig(model=model.materialise(), **cfg_fields))
    return {"record": rec.model_dump(mode="json"), "node_id": node_id()}


def characterise_on(address: str, device: str, model: Path, cfg_fields: dict) -> dict:
    """Characterise `model` on a node offering `device`; returns {"record", "node_id"}."""
    return dict(run_on(address, device, _characterise_task, ModelBytes(model), cfg_fields))


def _evaluate_task(model: ModelBytes, cfg_fields: dict) -> dict:
    from edgeplan.data.evaluate import EvalConfig, evaluate

    need_on_node(cfg_fields.get("data"), "the dataset")
    rec = evaluate(EvalConfig(model=model.materialise(), **cfg_fields))
    return {"record": rec.model_dump(mode="json"), "node_id": node_id()}


def evaluate_on(address: str, device: str, model: Path, cfg_fields: dict) -> dict:
    """Evaluate `model` on a node offering `device`; returns {"record", "node_id"}."""
    return dict(run_on(address, device, _evaluate_task, ModelBytes(model), cfg_fields))


def _optimise_task(
    model: ModelBytes, cfg_fields: dict, storage: str, study_name: str, worker: int
) -> dict:
    """One worker of a shared sizing study: its own fp32 parents (speed-ups are against the
    same device), then trials drawn from the shared study until it has enough."""
    from dataclasses import asdict

    import optuna

    from edgeplan.progress import no_progress
    from edgeplan.sizing.search import Sizer, SizingConfig, run_trials
    from edgeplan.sizing.study_storage import open_storage

    need_on_node(cfg_fields.get("data"), "the dataset")
    cfg = SizingConfig(model=model.materialise(), **cfg_fields)
    sizer = Sizer(cfg, no_progress)
    for backend in cfg.backends:
        sizer.parents[backend] = sizer.run([], backend)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=optuna.samplers.TPESampler(seed=cfg.seed + worker, n_startup_trials=6),
    )
    t0 = time.time()
    run_trials(sizer, study, cfg.max_trials)
    nid = node_id()
    trials = [{**asdict(t), "measured_on": nid} for t in sizer.trials.values()]
    return {
        "trials": trials,
        "n_eval": sizer.n_eval,
        "n_calibration": len(sizer.calibration),
        "node_id": nid,
        "worker": worker,
        "started_unix_s": t0,
        "finished_unix_s": time.time(),
    }


def optimise_on(
    address: str,
    device: str,
    model: Path,
    cfg_fields: dict,
    storage: str,
    workers: int,
) -> dict[str, Any]:
    """The sizing search on `workers` tasks at once, each on a node offering `device`, sharing
    one optuna study in `storage` (an RDB URL every node can reach). Returns the summary of
    every trial, each with the node that measured it, and the study's trial timeline."""
    import optuna

    from edgeplan.sizing.search import SizingConfig, Trial, new_study, summarise
    from edgeplan.sizing.study_storage import open_storage

    cfg = SizingConfig(model=model, **cfg_fields)
    name = f"edgeplan-{model.stem}-{int(time.time() * 1000)}"
    try:
        new_study(cfg, storage=storage, name=name)
    except Exception as exc:  # a bad URL, a missing driver, an unreachable server
        raise FarmError(f"cannot create the shared study in {storage}: {exc}") from exc
    blob = ModelBytes(model)
    refs = [
        submit(address, device, _optimise_task, blob, cfg_fields, storage, name, i)
        for i in range(workers)
    ]
    results = wait_all(address, device, refs)
    by_key: dict[tuple[str, str], Trial] = {}
    for res in results:
        for t in res["trials"]:
            by_key.setdefault((t["label"], t["backend"]), Trial(**t))
    summary = summarise(
        list(by_key.values()), cfg, results[0]["n_eval"], results[0]["n_calibration"]
    )
    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    summary["study"] = {
        "name": name,
        "storage": storage,
        "trials": [
            {
                "number": t.number,
                "state": t.state.name,
                "params": t.params,
                "start_unix_s": t.datetime_start.timestamp() if t.datetime_start else None,
                "complete_unix_s": t.datetime_complete.timestamp() if t.datetime_complete else None,
            }
            for t in study.get_trials(deepcopy=False)
        ],
    }
    summary["workers"] = [
        {k: r[k] for k in ("worker", "node_id", "started_unix_s", "finished_unix_s")}
        for r in results
    ]
    return summary


def as_measured_on(record: Any, device: str, node: str, cluster: str, model: Path) -> Any:
    """A record that came back from a node: measured on `device`, naming the node; the model
    path is the user's (the node's copy was named by content)."""
    prov = record.provenance.model_copy(
        update={
            "source": "measured-on-device",
            "model_path": str(model),
            "harness": {**record.provenance.harness, "ray_node_id": node, "cluster": cluster},
        }
    )
    return record.model_copy(
        update={"device_id": device, "provenance": prov, "model_path": str(model)}
    )
