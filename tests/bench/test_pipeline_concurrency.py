import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeplan.backends import BackendOptions, get_backend
from edgeplan.backends.predict import Predictor
from edgeplan.bench.concurrency import run_concurrency
from edgeplan.bench.pipeline import STAGES, run_stages
from edgeplan.models import open_model
from edgeplan.spec import InputSpec, ModelCard

CARD = ModelCard(
    task="detection",
    decoder="fastestdet",
    input=InputSpec(height_px=352, width_px=352, colour_order="BGR", scale=1 / 255),
)


@pytest.fixture(scope="module")
def sess(fastestdet: Path):
    return get_backend("onnxruntime").load(open_model(fastestdet), BackendOptions(threads=1))


def test_stages_on_a_real_video(sess, testdata: Path) -> None:
    stages, desc, skipped = run_stages(
        Predictor(sess, CARD), video=testdata / "videos/car-detection.mp4", frames=30, duration_s=3
    )
    assert set(stages) == set(STAGES) and skipped == 0 and desc.startswith("video:")
    for s in stages.values():
        assert 0 <= s.latency_ms_p50 <= s.latency_ms_p99 and s.samples == 30
    assert stages["decode"].latency_ms_p50 > 0  # a real H.264 decode
    parts = sum(stages[s].latency_ms_p50 for s in ("decode", "preprocess", "infer", "postprocess"))
    assert stages["end_to_end"].latency_ms_p50 == pytest.approx(parts, rel=0.35)


def test_corrupt_image_is_skipped_and_counted(sess, testdata: Path, tmp_path: Path) -> None:
    for p in (testdata / "models/fastestdet/images").glob("*.jpg"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "zz_corrupt.jpg").write_bytes(b"\xff\xd8not a jpeg at all")
    stages, _, skipped = run_stages(Predictor(sess, CARD), images=tmp_path, frames=10, duration_s=3)
    assert skipped >= 1 and stages["infer"].samples == 10


def test_concurrency_keeps_up_at_low_fps_and_drops_when_overloaded(sess) -> None:
    samples = [{"input.1": np.random.default_rng(0).random((1, 3, 352, 352), dtype=np.float32)}]
    easy = run_concurrency(sess, samples, streams=2, fps=5, duration_s=1.5)
    assert easy.keeps_up and all(s.frames_dropped == 0 for s in easy.streams)
    hard = run_concurrency(sess, samples, streams=2, fps=1000, duration_s=1.0)
    assert not hard.keeps_up and sum(s.frames_dropped for s in hard.streams) > 0
    for s in hard.streams:
        assert s.frames_processed + s.frames_dropped <= s.frames_offered
