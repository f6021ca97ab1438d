"""Run a command under a hard memory limit that tests resident memory honestly.

Where the machine lets us, the child runs in its own memory cgroup (v2 `memory.max` with swap
off, or v1 `memory.limit_in_bytes`): the kernel reclaims page cache and OOM-kills the child if its
resident memory would pass the limit. Elsewhere a watchdog samples the process tree's RSS every
50 ms and kills it at the limit. Either way the kernel's own high-water mark for the child
(wait4's ru_maxrss) is returned, so a test can assert the peak itself.

RLIMIT_AS is not used: it caps virtual address space, which onnxruntime and OpenVINO reserve in
gigabytes they never touch (thread stacks, arenas), so it would fail runs whose resident memory is
well inside the budget, or pass only with a limit too loose to mean anything.
"""

import contextlib
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

CG = Path("/sys/fs/cgroup")


@dataclass
class LimitedRun:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mib: float
    how: str  # how the limit was enforced
    killed_at_limit: bool


def _cgroup_v2(limit: int) -> Path | None:
    if not (CG / "cgroup.controllers").is_file():
        return None
    own = next(
        (
            line.split("::", 1)[1]
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        ),
        None,
    )
    if own is None:
        return None
    parent = CG / own.strip().lstrip("/")
    try:
        if "memory" not in (parent / "cgroup.subtree_control").read_text():
            return None
        cg = parent / f"edgeplan-test-{uuid.uuid4().hex[:8]}"
        cg.mkdir()
        (cg / "memory.max").write_text(str(limit))
        if (cg / "memory.swap.max").exists():
            (cg / "memory.swap.max").write_text("0")
        return cg
    except OSError:
        return None


def _cgroup_v1(limit: int) -> Path | None:
    base = CG / "memory"
    if not (base / "memory.limit_in_bytes").is_file():
        return None
    try:
        cg = base / f"edgeplan-test-{uuid.uuid4().hex[:8]}"
        cg.mkdir()
        (cg / "memory.limit_in_bytes").write_text(str(limit))
        if (cg / "memory.memsw.limit_in_bytes").exists():  # no swapping past the limit
            with contextlib.suppress(OSError):
                (cg / "memory.memsw.limit_in_bytes").write_text(str(limit))
        return cg
    except OSError:
        return None


def _oom_kills(cg: Path) -> int:
    """OOM kills the kernel made in this cgroup (v2 memory.events, v1 memory.oom_control)."""
    for name in ("memory.events", "memory.oom_control"):
        f = cg / name
        if f.is_file():
            for line in f.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    return 0


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_limited(
    cmd: list[str], limit_mib: int, env: dict[str, str], timeout_s: float, cwd: Path | None = None
) -> LimitedRun:
    limit = limit_mib * 2**20
    cg = _cgroup_v2(limit)
    how = "cgroup v2 memory.max"
    if cg is None:
        cg = _cgroup_v1(limit)
        how = "cgroup v1 memory.limit_in_bytes"
    if cg is None:
        how = "RSS watchdog (no writable memory cgroup here)"
    procs_file = None if cg is None else cg / "cgroup.procs"

    def enter() -> None:  # runs in the child before exec: join the limited cgroup
        if procs_file is not None:
            procs_file.write_text(str(os.getpid()))

    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=enter,
    )
    out: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda: out.__setitem__("o", proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: out.__setitem__("e", proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for t in readers:
        t.start()
    killed = False
    deadline = time.monotonic() + timeout_s
    ps = psutil.Process(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, with its rusage
            break
        if cg is None and _tree_rss(ps) > limit:
            killed = True
            proc.kill()
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.05)
    for t in readers:
        t.join(timeout=10)
    if cg is not None:
        killed = _oom_kills(cg) > 0
        with contextlib.suppress(OSError):
            cg.rmdir()
    return LimitedRun(
        proc.returncode,
        out.get("o", ""),
        out.get("e", ""),
        usage.ru_maxrss / 1024,
        how,
        killed,
    )
