"""The memory limit the demo test relies on is enforced, and the peak it reports is real."""

import os
import sys

from tests.memlimit import run_limited

TOUCH = "import sys; b = bytearray(int(sys.argv[1]) * 2**20); b[::4096] = b'x' * len(b[::4096])"


def test_a_process_over_the_limit_is_stopped() -> None:
    r = run_limited([sys.executable, "-c", TOUCH, "600"], 256, dict(os.environ), 60)
    assert r.returncode != 0 and r.killed_at_limit, (r.how, r.returncode, r.stderr[-500:])


def test_a_process_under_the_limit_runs_and_reports_its_peak() -> None:
    r = run_limited([sys.executable, "-c", TOUCH, "100"], 512, dict(os.environ), 60)
    assert r.returncode == 0, (r.how, r.stderr[-500:])
    assert 100 <= r.peak_rss_mib <= 512, r.peak_rss_mib


def test_the_peak_is_the_commands_not_the_test_process_it_was_started_from() -> None:
    """Linux carries a process's pre-exec high-water mark across exec: a command forked from a
    test process holding 400 MB would report 400 MB. The launcher keeps that out."""
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"y" * len(ballast[::4096])  # resident in this process
    r = run_limited([sys.executable, "-c", TOUCH, "100"], 512, dict(os.environ), 60)
    del ballast
    assert r.returncode == 0, (r.how, r.stderr[-500:])
    assert 100 <= r.peak_rss_mib < 300, r.peak_rss_mib
