"""Full pipeline per stage: decode -> preprocess -> infer -> postprocess, plus end to end.

Users distrust tools that hide pre/post-processing; every stage here runs on real frames with the
model card's own preprocessing and decoder, and each is timed separately.
"""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgeplan.backends.predict import Predictor
from edgeplan.bench.inputs import VideoFrames, decode_image, read_images
from edgeplan.bench.stats import latency_stats
from edgeplan.records.types import LatencyStats

log = logging.getLogger(__name__)
STAGES = ("decode", "preprocess", "infer", "postprocess", "end_to_end")


def _image_source(folder: Path, limit: int) -> Iterator[tuple[str, float, np.ndarray | None]]:
    """(name, decode ms, frame or None) cycling over the folder's images."""
    encoded = list(read_images(folder, limit))
    while encoded:
        for path, data in encoded:
            t0 = time.perf_counter()
            frame = decode_image(data)
            yield str(path), (time.perf_counter() - t0) * 1000, frame


def _video_source(path: Path) -> Iterator[tuple[str, float, np.ndarray | None]]:
    vf = VideoFrames(path)
    try:
        i = 0
        while True:
            t0 = time.perf_counter()
            frame = vf.next_frame()
            ms = (time.perf_counter() - t0) * 1000
            if frame is None:
                if i == 0:
                    return
                vf.rewind()
                i = 0
                continue
            i += 1
            yield f"{path}#{i}", ms, frame
    finally:
        vf.close()


def _synthetic_source(hw: tuple[int, int]) -> Iterator[tuple[str, float, np.ndarray | None]]:
    """Random frames JPEG-encoded once, so decode is still a real JPEG decode."""
    import cv2

    rng = np.random.default_rng(0)
    blobs = [
        cv2.imencode(".jpg", rng.integers(0, 256, (*hw, 3), dtype=np.uint8))[1].tobytes()
        for _ in range(4)
    ]
    while True:
        for i, data in enumerate(blobs):
            t0 = time.perf_counter()
            frame = decode_image(data)
            yield f"synthetic#{i}", (time.perf_counter() - t0) * 1000, frame


def run_stages(
    model: Predictor,
    *,
    images: Path | None = None,
    video: Path | None = None,
    frames: int = 100,
    duration_s: float = 5.0,
    warmup: int = 3,
) -> tuple[dict[str, LatencyStats], str, int]:
    """Time each stage over up to `frames` frames or `duration_s`; returns per-stage stats, a
    description of the input, and how many corrupt frames were skipped."""
    if images is not None:
        source, desc = _image_source(images, frames), f"images:{images}"
    elif video is not None:
        source, desc = _video_source(video), f"video:{video}"
    else:
        hw = (model.card.input.height_px, model.card.input.width_px)
        source, desc = (
            _synthetic_source(hw),
            f"synthetic JPEG {hw[1]}x{hw[0]} (no --images/--video)",
        )
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    skipped, done = 0, 0
    deadline = None
    for label, decode_ms, frame in source:
        if frame is None:
            skipped += 1
            log.warning("skipping corrupt frame %s", label)
            if skipped > 10 * max(done, 1):
                break
            continue
        _, stage_ms = model.timed(frame)
        done += 1
        if done <= warmup:
            continue
        deadline = deadline or time.perf_counter() + duration_s
        pre, inf, post = stage_ms["preprocess"], stage_ms["infer"], stage_ms["postprocess"]
        for stage, ms in zip(
            STAGES, (decode_ms, pre, inf, post, decode_ms + pre + inf + post), strict=True
        ):
            times[stage].append(ms)
        if done - warmup >= frames or time.perf_counter() > deadline:
            break
    if not times["infer"]:
        raise RuntimeError(f"no frame could be processed from {desc}")
    return {s: latency_stats(v) for s, v in times.items()}, desc, skipped
