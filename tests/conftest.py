"""Shared fixtures: the real test data (skipped with a reason when absent) and a scratch store."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("EDGEPLAN_TESTDATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    """`$EDGEPLAN_TESTDATA` (default ../shared/data); tests needing it skip when it is absent."""
    if not (TESTDATA / "models").is_dir():
        pytest.skip(f"test data not found at {TESTDATA}: set EDGEPLAN_TESTDATA to shared/data")
    return TESTDATA


@pytest.fixture(scope="session")
def fastestdet(testdata: Path) -> Path:
    return testdata / "models/fastestdet/FastestDet.onnx"


@pytest.fixture(scope="session")
def yunet(testdata: Path) -> Path:
    return testdata / "models/yunet/yunet_n_320_320.onnx"


@pytest.fixture(scope="session")
def mobilenet_tflite(testdata: Path) -> Path:
    return testdata / "models/coral/mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture(scope="session", autouse=True)
def _calibration_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Calibrations are shared by the session's tests (projection/cache.py keys them by their
    inputs), never written into the user's cache; session-wide, so that module fixtures
    running a plan see it too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEPLAN_CALIBRATION_CACHE", str(tmp_path_factory.mktemp("calibration")))
        yield


@pytest.fixture(autouse=True)
def _scratch_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write into the user's cache (or beside shared data) from a test."""
    monkeypatch.setenv("EDGEPLAN_STORE", str(tmp_path / "records.sqlite"))
