"""k camera streams at a demanded fps sharing this host: achieved fps and dropped frames.

Each stream is a thread with a camera clock: frame i is due at i / fps. A stream processes the
newest due frame when it is free; frames that came due while it was busy are dropped and counted,
as a real camera pipeline with a one-frame buffer would.
"""

import threading
import time

import numpy as np

from edgeplan.backends.base import Session
from edgeplan.records.types import ConcurrencyResult, StreamResult


def run_concurrency(
    session: Session,
    samples: list[dict[str, np.ndarray]],
    streams: int,
    fps: float,
    duration_s: float,
) -> ConcurrencyResult:
    """Run `streams` camera clocks against one shared session for `duration_s`."""
    results: list[StreamResult | None] = [None] * streams
    start = time.perf_counter() + 0.05
    period = 1.0 / fps

    def stream(k: int) -> None:
        processed, dropped, lat = 0, 0, []
        next_due = 0  # index of the next frame the camera produces
        offered = int(duration_s * fps)
        while next_due < offered:
            now = time.perf_counter() - start
            due_now = min(int(now / period), offered - 1)
            if due_now < next_due:
                time.sleep(max(0.0, next_due * period - now))
                continue
            dropped += due_now - next_due  # came due while busy: gone
            t0 = time.perf_counter()
            session.run(samples[(k + due_now) % len(samples)])
            lat.append((time.perf_counter() - t0) * 1000)
            processed += 1
            next_due = due_now + 1
        results[k] = StreamResult(
            stream=k,
            demanded_fps=fps,
            achieved_fps=processed / (offered / fps),  # over the offered span, not the wall
            frames_offered=offered,
            frames_processed=processed,
            frames_dropped=dropped,
            latency_ms_p99=float(np.percentile(lat, 99)) if lat else None,
        )

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in results if r is not None]
    return ConcurrencyResult(
        streams=tuple(done),
        duration_s=duration_s,
        demanded_fps=fps,
        total_achieved_fps=sum(r.achieved_fps for r in done),
        keeps_up=all(r.achieved_fps >= 0.95 * fps for r in done),
    )
