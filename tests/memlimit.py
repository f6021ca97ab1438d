"""Run a command under a hard memory limit that tests resident memory honestly.

Where the machine lets us, the child runs in its own memory cgroup (v2 `memory.max` with swap
off, or v1 `memory.limit_in_bytes`): the kernel reclaims page cache and OOM-kills the child if its
resident memory would pass the limit. Elsewhere a watchdog samples the process tree's RSS every
50 ms and kills it at the limit. Either way the kernel's own high-water mark for the command
(wait4's ru_maxrss) is returned, so a test can assert the peak itself.

The command is not forked from the test process itself: Linux carries a process's pre-exec
high-water mark across exec, so a command forked from a pytest holding 500 MB would report at
least 500 MB whatever it used. A small launcher is exec'd first; it forks the command from its
own small image and reports the command's ru_maxrss on a pipe.

RLIMIT_AS is not used: it caps virtual address space, which onnxruntime and OpenVINO reserve in
gigabytes they never touch (thread stacks, arenas), so it would fail runs whose resident memory is
well inside the budget, or pass only with a limit too loose to mean anything.
"""

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

CG = Path("/sys/fs/cgroup")
_LAUNCH = """
import os, signal, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
os.close(fd)
code = os.waitstatus_to_exitcode(status)
if code < 0:  # die of the command's signal (SIGKILL cannot be given a handler)
    if -code != signal.SIGKILL:
        signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


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

    report_r, report_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _LAUNCH, str(report_w), *cmd],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=enter,
        pass_fds=(report_w,),
    )
    os.close(report_w)
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
    sampled = 0  # the tree's largest sampled RSS: the peak when the launcher could not report
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here
            break
        sampled = max(sampled, _tree_rss(ps))
        if cg is None and sampled > limit:
            killed = True
            _kill_tree(ps)
        if time.monotonic() > deadline:
            _kill_tree(ps)
        time.sleep(0.05)
    for t in readers:
        t.join(timeout=10)
    if cg is not None:
        killed = _oom_kills(cg) > 0
        with contextlib.suppress(OSError):
            cg.rmdir()
    with os.fdopen(report_r) as report:  # empty when the launcher itself was killed
        command_maxrss = report.read().strip()
    return LimitedRun(
        proc.returncode,
        out.get("o", ""),
        out.get("e", ""),
        int(command_maxrss) / 1024 if command_maxrss else sampled / 2**20,
        how,
        killed,
    )


def _kill_tree(proc: psutil.Process) -> None:
    """Kill the launcher and the command under it."""
    for p in [*proc.children(recursive=True), proc]:
        with contextlib.suppress(psutil.Error):
            p.kill()
