"""A real Ray cluster on loopback for tests and benchmarks: a head and worker nodes, each a
process group of its own, inside a network namespace that has only `lo`, so Ray binds 127.0.0.1
and no traffic leaves the machine (Ray advertises the host's own address otherwise). Stopped by
killing its process groups, never `ray stop` (which kills every Ray process on the machine)."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
PORT = 6379  # the namespace is ours alone: the default port is free there


def usable() -> str | None:
    """Why a loopback cluster cannot run here, or None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed (make test installs edgeplan[farm])"
    if not RAY.exists():
        return f"no ray CLI beside {sys.executable}"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "a network namespace (root and iproute2) keeps Ray on loopback; not available"
    probe = f"edgeplan-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class LoopbackCluster:
    """`with LoopbackCluster(tmp, workers={"w1": {"device:test-device": 1}}) as c:` then
    `c.run([...])` runs a command inside the namespace; `c.kill("w1")` kills a node."""

    def __init__(self, tmp: Path, workers: dict[str, dict[str, float]]) -> None:
        self.tmp, self.workers = tmp, workers
        self.ns = f"edgeplan-ray-{os.getpid()}-{time.monotonic_ns() % 100000}"
        self.address = f"127.0.0.1:{PORT}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.node_ids: dict[str, str] = {}  # worker name -> its Ray node id
        # nodes write Ray's temp files and edgeplan's caches under tmp, never the user's home
        self.env = {
            **os.environ,
            "HOME": str(tmp / "home"),
            "RAY_health_check_period_ms": "1000",  # a killed node is noticed in seconds
            "RAY_health_check_failure_threshold": "3",
            "RAY_health_check_initial_delay_ms": "1000",
            "RAY_USAGE_STATS_ENABLED": "0",
            "EDGEPLAN_FARM_GRACE_S": "8",
        }
        (tmp / "home").mkdir(parents=True, exist_ok=True)
        # Ray's unix sockets live under its temp dir: keep the path short (108-byte limit)
        self.ray_tmp = tempfile.mkdtemp(prefix="epray", dir="/tmp")

    def exec(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *cmd]

    def run(self, cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.exec(cmd), capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def popen(self, cmd: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            self.exec(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            start_new_session=True,
        )

    def _node(self, name: str, args: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            self.exec([str(RAY), "start", "--block", "--node-ip-address", "127.0.0.1", *args]),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # its own process group: killed alone, all of it
        )

    def __enter__(self) -> "LoopbackCluster":
        try:
            return self._start()
        except BaseException:
            self.__exit__()
            raise

    def _start(self) -> "LoopbackCluster":
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(self.exec(["ip", "link", "set", "lo", "up"]), check=True)
        self._node(
            "head",
            ["--head", "--port", str(PORT), "--num-cpus", "0", "--object-store-memory",
             "100000000", "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
             "--temp-dir", self.ray_tmp],
        )  # fmt: skip
        self.wait_nodes(1, timeout=90)
        known = {n["id"] for n in self.nodes()}
        for i, (name, res) in enumerate(self.workers.items()):
            self._node(
                name,
                ["--address", self.address, "--num-cpus", "1", "--object-store-memory",
                 "100000000", "--resources", json.dumps(res)],
            )  # fmt: skip
            self.wait_nodes(2 + i, timeout=90)
            new = {n["id"] for n in self.nodes()} - known
            self.node_ids[name] = new.pop()
            known.add(self.node_ids[name])
        return self

    def name_of(self, node_id: str) -> str:
        return next(name for name, nid in self.node_ids.items() if nid == node_id)

    def nodes(self) -> list[dict]:
        code = (
            f"import json, ray; ray.init(address='{self.address}', log_to_driver=False, "
            "logging_level='ERROR'); print(json.dumps([{'id': n['NodeID'], 'alive': n['Alive'], "
            "'resources': n['Resources']} for n in ray.nodes()]))"
        )
        r = self.run([sys.executable, "-c", code], timeout=60)
        if r.returncode != 0:
            return []
        return json.loads(r.stdout.strip().splitlines()[-1])

    def wait_nodes(self, n: int, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    log = (self.tmp / f"{name}.log").read_text()[-2000:]
                    raise RuntimeError(f"ray node {name} exited: {log}")
            if sum(1 for x in self.nodes() if x["alive"]) >= n:
                return
            time.sleep(1)
        raise TimeoutError(f"{n} Ray nodes not alive after {timeout} s")

    def kill(self, name: str) -> None:
        """kill -9 a node's whole process group (its raylet and workers)."""
        p = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)

    def __exit__(self, *_exc: object) -> None:
        try:
            for name in list(self.procs):
                with contextlib.suppress(Exception):
                    self.kill(name)
        finally:
            self._reap()

    def _reap(self) -> None:
        """Kill whatever is still in the namespace (Ray daemons detach from the node's group),
        until nothing is; then remove the namespace and Ray's temp dir."""
        for _ in range(40):
            r = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True)
            pids = [int(p) for p in r.stdout.split()]
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.25)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.ray_tmp, ignore_errors=True)
