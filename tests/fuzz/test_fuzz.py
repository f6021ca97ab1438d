"""Fuzzing (hypothesis): fleet.yaml, agent configs, bundle tars and Open Inference Protocol
requests. Every case is accepted or refused with edgeplan's own error; no traceback, no hang
(each case has a deadline). benchmarks/fuzz.py runs the same targets with many more cases."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from edgeplan.updates import bundle as b

from . import targets

CASES = 150
FUZZ = settings(
    max_examples=CASES,
    deadline=2000,  # ms: a hang is a failure
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(targets.mutated(targets.DEMO_FLEET))
def test_fleet_yaml(tmp_path: Path, text: str) -> None:
    targets.load_fleet(text, tmp_path)


@FUZZ
@given(targets.mutated(targets.AGENT))
def test_agent_config(tmp_path: Path, text: str) -> None:
    targets.load_agent(text, tmp_path)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> tuple[bytes, Path]:
    tmp = tmp_path_factory.mktemp("bundle")
    priv, pub = b.generate_keys(tmp / "keys")
    model = testdata / "models/fastestdet/FastestDet.onnx"
    out = b.create(model, "2", tmp / "good.tar")
    b.sign(out, priv)
    return out.read_bytes(), pub


def test_bundle_tars(signed: tuple[bytes, Path], tmp_path: Path) -> None:
    good, pub = signed

    @FUZZ
    @given(targets.bundles(good))
    def run(data: bytes) -> None:
        targets.verify_bundle(data, tmp_path, pub)

    run()


@FUZZ
@given(targets.oip_requests())
def test_oip_requests(req: tuple[bytes, str | None]) -> None:
    targets.parse_oip(req)
