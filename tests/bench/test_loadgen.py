from pathlib import Path

import numpy as np
import pytest

from edgeplan.backends import BackendOptions, get_backend
from edgeplan.bench.loadgen import RunSettings, find_server_qps, parse_summary, run_scenario
from edgeplan.models import open_model

SUMMARY = """Scenario : SingleStream
Result is : VALID
QPS w/o loadgen overhead        : 475.63
Min latency (ns)                : 2050516
Max latency (ns)                : 2488114
Mean latency (ns)               : 2102478
50.00 percentile latency (ns)   : 2098327
90.00 percentile latency (ns)   : 2118678
95.00 percentile latency (ns)   : 2124497
99.00 percentile latency (ns)   : 2148296
"""


def test_parse_summary() -> None:
    s = parse_summary(SUMMARY)
    assert s["valid"] and s["latency_ms_p50"] == pytest.approx(2.098327)
    assert (
        s["latency_ms_p99"] == pytest.approx(2.148296) and s["QPS w/o loadgen overhead"] == 475.63
    )
    assert not parse_summary(SUMMARY.replace("VALID", "INVALID"))["valid"]


@pytest.fixture(scope="module")
def session_and_samples(fastestdet: Path):
    sess = get_backend("onnxruntime").load(open_model(fastestdet), BackendOptions(threads=1))
    rng = np.random.default_rng(0)
    return sess, [{"input.1": rng.random((1, 3, 352, 352), dtype=np.float32)} for _ in range(4)]


def test_single_stream_real_run(session_and_samples) -> None:
    sess, samples = session_and_samples
    res, log = run_scenario(
        sess, samples, "SingleStream", RunSettings(duration_s=1.0, min_queries=16)
    )
    lat = res.latency
    assert lat is not None and 0 < lat.latency_ms_p50 <= lat.latency_ms_p90 <= lat.latency_ms_p99
    assert res.queries >= 16 and len(log.latency_ms) == res.queries
    # the SUT's own timing and LoadGen's agree on the median within 20%
    assert np.median(log.latency_ms) == pytest.approx(lat.latency_ms_p50, rel=0.2)
    assert res.throughput_fps == pytest.approx(1000 / lat.latency_ms_mean, rel=0.3)


def test_offline_has_throughput_and_no_latency(session_and_samples) -> None:
    sess, samples = session_and_samples
    res, _ = run_scenario(sess, samples, "Offline", RunSettings(duration_s=1.0))
    assert res.latency is None and res.throughput_fps > 0


def test_multistream_queries_carry_n_samples(session_and_samples) -> None:
    sess, samples = session_and_samples
    single, _ = run_scenario(sess, samples, "SingleStream", RunSettings(duration_s=0.5))
    res, _ = run_scenario(sess, samples, "MultiStream", RunSettings(duration_s=1.0, streams=4))
    assert res.samples_per_query == 4 and res.latency is not None
    # a query of 4 sequential inferences takes longer than one
    assert res.latency.latency_ms_p50 > 2 * single.latency.latency_ms_p50  # type: ignore[union-attr]
    assert res.throughput_fps > 0


def test_server_search_holds_the_bound(session_and_samples) -> None:
    sess, samples = session_and_samples
    single, _ = run_scenario(sess, samples, "SingleStream", RunSettings(duration_s=0.5))
    bound = 5 * single.latency.latency_ms_p99  # type: ignore[union-attr]
    rs = RunSettings(
        duration_s=1.0, latency_bound_ms=bound, expected_latency_ms=single.latency.latency_ms_p50
    )  # type: ignore[union-attr]
    res = find_server_qps(sess, samples, rs, qps_upper=2 * single.throughput_fps, steps=3)
    assert res.server_search and len(res.server_search) == 3
    held = [t for t in res.server_search if t["held"]]
    if held:
        assert res.max_qps_under_bound == pytest.approx(
            max(t["target_qps"] for t in held), abs=0.01
        )
        assert res.latency.latency_ms_p99 <= bound  # type: ignore[union-attr]
    else:
        assert res.max_qps_under_bound == 0.0
