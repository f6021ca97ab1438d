import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.errors import ConfigError
from edgeplan.projection.calibrate import Sample, calibrate, fit
from edgeplan.projection.device import DeviceParams, latency_ms
from edgeplan.projection.profile import CostProfile, from_facts
from edgeplan.projection.project import prior_params, project

CAT = load_catalogue()
CAL = calibrate(CAT)
DEVICES = [
    "jetson-orin-nano-super",
    "jetson-orin-nx-16gb",
    "hailo-8",
    "coral-usb",
    "coral-devboard",
    "rpi5",
    "intel-n100",
    "qualcomm-qcs8550",
    "qualcomm-snapdragon-8-gen3",
]


def prof(gmacs: float, params_m: float = 3.0, px: int = 224 * 224) -> CostProfile:
    return CostProfile("synthetic", gmacs, params_m, px)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.01, 50),
    st.floats(0.01, 50),
    st.sampled_from(DEVICES),
    st.sampled_from(["int8", "fp16", "fp32"]),
)
def test_more_macs_never_projects_faster(g1: float, g2: float, device: str, precision: str) -> None:
    lo, hi = sorted((g1, g2))
    a = project(prof(lo), device, precision, CAL, CAT).latency_ms
    b = project(prof(hi), device, precision, CAL, CAT).latency_ms
    assert a <= b + 1e-9


def _more_never_faster(field: str, v1: float, v2: float, device: str, precision: str) -> None:
    """A 2-GMAC model with more of `field` (all else equal) is never projected faster."""
    lo, hi = sorted((v1, v2))
    a = project(replace(prof(2.0), **{field: lo}), device, precision, CAL, CAT).latency_ms
    b = project(replace(prof(2.0), **{field: hi}), device, precision, CAL, CAT).latency_ms
    assert a <= b + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 400),
    st.integers(1, 400),
    st.sampled_from([*DEVICES, "hailo-8l", "coral-devboard"]),
    st.sampled_from(["int8", "fp16"]),
)
def test_more_layers_never_projects_faster(l1: int, l2: int, device: str, precision: str) -> None:
    """A layer costs a fixed time, and on a context-switching NPU makes a split no less likely:
    the same MACs in more layers are never projected faster."""
    _more_never_faster("layers", l1, l2, device, precision)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0, 200),
    st.floats(0, 200),
    st.sampled_from([*DEVICES, "hailo-8l", "apple-m3-max"]),
    st.sampled_from(["int8", "fp16"]),
)
def test_more_activation_traffic_never_projects_faster(
    a1: float, a2: float, device: str, precision: str
) -> None:
    """The same MACs moving more activations (wider maps, depthwise blocks) cost no less."""
    _more_never_faster("act_elements_m", a1, a2, device, precision)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0, 20),
    st.floats(0.01, 20),
    st.sampled_from([*DEVICES, "hailo-8l", "apple-m3-max", "jetson-agx-orin-64gb"]),
)
def test_more_matrix_product_macs_never_project_faster(
    gemm: float, extra: float, device: str
) -> None:
    """MACs added in matrix products (fully connected, attention) cost something on every
    device, whatever its fitted matrix-product factor."""
    base = replace(prof(2.0 + gemm), gemm_gmacs=gemm)
    more = replace(prof(2.0 + gemm + extra), gemm_gmacs=gemm + extra)
    a = project(base, device, "fp16", CAL, CAT).latency_ms
    b = project(more, device, "fp16", CAL, CAT).latency_ms
    assert a <= b + 1e-9


def _scan(field: str, values: np.ndarray) -> list[CostProfile]:
    """A 2-GMAC, 60-layer model with one cost grown step by step (`gemm`: MACs added in
    matrix products, the total growing with them)."""
    base = CostProfile("scan", 2.0, 3.0, 224 * 224, layers=60, act_elements_m=10.0)
    if field == "gemm":
        return [replace(base, gmacs=2.0 + v, gemm_gmacs=float(v)) for v in values]
    return [replace(base, **{field: type(getattr(base, field))(v)}) for v in values]


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("gmacs", np.geomspace(0.01, 100, 120)),
        ("layers", np.unique(np.geomspace(1, 600, 120).astype(int))),
        ("act_elements_m", np.geomspace(0.01, 300, 120)),
        ("gemm", np.geomspace(0.01, 40, 120)),
        ("global_gates", np.arange(0, 60)),
    ],
)
def test_a_dense_scan_never_steps_down_on_any_calibrated_device(
    field: str, values: np.ndarray
) -> None:
    """The properties above (and the gates' in test_kernels_contexts.py) sample pairs at
    random; a step down between two close values hides between them (a correction that jumps
    as the published models nearest the projected one change, tried and not kept:
    docs/project.md). Every calibrated device and precision is scanned in small steps
    instead: no projection may fall as the cost grows."""
    profiles = _scan(field, values)
    for dev in sorted({k[0] for k in CAL.params}):
        for precision in ("int8", "fp16"):
            ms = [project(pr, dev, precision, CAL, CAT).latency_ms for pr in profiles]
            assert None not in ms, (dev, precision)
            steps = np.diff(np.array(ms, float))
            assert (steps >= -1e-9).all(), (dev, precision, field, int(np.argmin(steps)))


def test_many_layer_models_split_into_contexts_on_hailo() -> None:
    """The Hailo zoo's batch-1 vs batch-8 FPS show EfficientDet-Lite0 (182 layers, 0.97 GMACs)
    split into contexts on the Hailo-8 and MobileNet v2 (53 layers) not; the fitted split
    share must say the same from layers and MACs alone."""
    ctx = CAL.params[("hailo-8", "throughput")].context
    assert ctx is not None and ctx.layer_weight >= 0
    share = {
        m: ctx.split_share(from_facts(CAT.models[m]))  # type: ignore[arg-type]
        for m in ("efficientdet_lite0_320", "mobilenet_v2_1.0_224")
    }
    assert share["efficientdet_lite0_320"] > 0.5 > share["mobilenet_v2_1.0_224"], share


@settings(max_examples=40, deadline=None)
@given(st.floats(1, 100), st.floats(1.01, 10), st.floats(10, 500))
def test_higher_bandwidth_never_slower_for_a_memory_bound_model(
    bw: float, factor: float, params_m: float
) -> None:
    """On the spec-sheet roofline, the same device with more bandwidth is never slower."""
    hw = CAT.hardware["jetson-orin-nano-super"]
    slow, fast = replace(hw, mem_bw_gbs=bw), replace(hw, mem_bw_gbs=bw * factor)
    p = prof(0.05, params_m=params_m)  # few MACs, many weights: memory-bound
    t_slow = latency_ms(slow, p, "fp32", prior_params(slow), "latency_ms_model_only")
    t_fast = latency_ms(fast, p, "fp32", prior_params(fast), "latency_ms_model_only")
    assert t_fast <= t_slow


def test_calibration_round_trip_recovers_known_parameters() -> None:
    """Rows generated from known parameters are fitted back to within a few percent."""
    hw = CAT.hardware["jetson-orin-nx-16gb"]
    truth = DeviceParams(
        b_ms_per_gmac={"int8": 0.4, "fp16": 0.9},
        c_ms_per_mb=0.02,
        overhead_ms={"latency_ms_model_only": 1.5},
        rows=0,
        d_ms_per_mpx=0.3,
    )
    rng = np.random.default_rng(0)
    samples = []
    for i in range(14):
        p = prof(
            float(rng.uniform(0.3, 40)),
            float(rng.uniform(1, 60)),
            int(rng.choice([224, 320, 640])) ** 2,
        )
        for prec in ("int8", "fp16"):
            y = latency_ms(hw, p, prec, truth, "latency_ms_model_only")
            row = Published(
                hw.id, "", f"m{i}", "tensorrt", prec, "1", "latency_ms_model_only", y, ""
            )
            samples.append(Sample(row, p, y))
    fitted = fit(hw, samples)
    for s in samples:
        pred = latency_ms(hw, s.profile, s.row.precision, fitted, "latency_ms_model_only")
        assert pred == pytest.approx(s.y_ms, rel=0.05)


def test_a_layers_fixed_cost_scales_with_its_precision() -> None:
    """On an NPU whose fp16 runs 4x slower than int8 (a Hexagon HTP), a small many-layer
    model's fp16 time is mostly its layers': rows generated with the per-layer cost scaled by the
    precision are fitted back at both precisions, and the fitted ratio is the truth's."""
    hw = CAT.hardware["qualcomm-qcs8450"]
    truth = DeviceParams(
        b_ms_per_gmac={"fp16": 0.6, "int8": 0.15},
        c_ms_per_mb=0.002,
        overhead_ms={"latency_ms_model_only": 0.1},
        rows=0,
        e_ms_per_layer=0.02,
        precisions_fitted=("fp16", "int8"),
    )
    assert truth.precision_ratio(hw, "int8") == pytest.approx(0.25)
    rng = np.random.default_rng(3)
    samples = []
    for i in range(16):
        g = float(np.exp(rng.uniform(np.log(0.05), np.log(20))))
        p = replace(prof(g, float(rng.uniform(1, 40))), layers=int(rng.integers(20, 200)))
        for prec in ("int8", "fp16"):
            y = latency_ms(hw, p, prec, truth, "latency_ms_model_only")
            row = Published(hw.id, "", f"m{i}", "qnn", prec, "1", "latency_ms_model_only", y, "")
            samples.append(Sample(row, p, y))
    fitted = fit(hw, samples)
    assert fitted.precision_ratio(hw, "int8") == pytest.approx(0.25, rel=0.1)
    for s in samples:
        pred = latency_ms(hw, s.profile, s.row.precision, fitted, "latency_ms_model_only")
        assert pred == pytest.approx(s.y_ms, rel=0.05)


def test_validation_reports_per_device_and_overall() -> None:
    assert sum(len(v) for v in CAL.lomo_ape.values()) > 100
    # devices with plenty of TensorRT rows are projected well
    for dev in ("jetson-orin-nano-super", "jetson-orin-nx-16gb"):
        assert np.median(CAL.lomo_ape[dev]) <= 25


def test_qualcomm_chipsets_are_calibrated_on_their_published_rows() -> None:
    """The QCS IoT chipsets have no published peak: their device models come from AI Hub rows,
    and rank the chips as those rows do (QCS8550 faster than QCS8450, faster than QCS8275)."""
    ms = []
    for dev in ("qualcomm-qcs8550", "qualcomm-qcs8450", "qualcomm-qcs8275"):
        pr = project(prof(2.0, params_m=10.0), dev, "fp16", CAL, CAT)
        assert "published rows of " + dev in pr.calibration and pr.deployable
        assert CAL.lomo_ape[dev], f"{dev} has no held-out figures"
        ms.append(pr.latency_ms)
    assert ms[0] < ms[1] < ms[2]


def test_apple_neural_engines_are_calibrated_on_apple_core_ml_cards() -> None:
    """The four Apple chips carry their Core ML card rows (fp16, Neural Engine): fp16 deploys
    through the `apple-` rule, fp32 does not; each chip's projection comes from its own rows,
    which are validated by leaving a model out; on every chip a model with ten times the MACs
    is projected slower, and a MAC in a matrix product (Depth Anything's ViT, DETR's
    transformer) costs more than a convolution's (FastViT), as the cards show."""
    for dev in ("apple-a14-bionic", "apple-a17-pro", "apple-m1-max", "apple-m3-max"):
        assert CAL.params[(dev, "latency")].gemm_factor > 1.5
        small = project(prof(0.7, params_m=4.0), dev, "fp16", CAL, CAT)
        big = project(prof(7.0, params_m=40.0), dev, "fp16", CAL, CAT)
        assert small.deployable and "published rows of " + dev in small.calibration
        assert big.latency_ms > small.latency_ms > 0
        assert len({r.model_id for r in CAT.published if r.device_id == dev}) >= 2
        assert CAL.lomo_ape[dev], f"{dev} has no held-out figures"
        fp32 = project(prof(0.7, params_m=4.0), dev, "fp32", CAL, CAT)
        assert not fp32.deployable and "fp16" in fp32.reason


def test_fastestdet_on_coral_refuses_fp32_and_projects_int8(fastestdet: Path) -> None:
    from edgeplan.models import open_model
    from edgeplan.models.analysis import analyse
    from edgeplan.projection.kernels import WEIGHTED, kernel_mix
    from edgeplan.projection.profile import from_analysis

    a = analyse(open_model(fastestdet))
    p = from_analysis("FastestDet", a)
    mix = kernel_mix(a.ops)  # its weighted layers are its conv, depthwise, pointwise, gemm ops
    assert p.layers == sum(mix[k]["count"] for k in WEIGHTED if k in mix) and p.layers > 40
    fp32 = project(p, "coral-usb", "fp32", CAL, CAT)
    assert not fp32.deployable and "int8" in fp32.reason
    int8 = project(p, "coral-usb", "int8", CAL, CAT)
    assert int8.deployable and int8.latency_ms > 0 and int8.source == "projected"
    assert int8.cpu_fallback_gmacs > 0 and "Transpose" in int8.notes[0]  # channel shuffle
    for dev in ("jetson-orin-nano-super", "hailo-8"):
        pr = project(p, dev, "int8", CAL, CAT)
        assert pr.deployable and pr.latency_ms_low < pr.latency_ms < pr.latency_ms_high
        assert pr.band_pct > 0 and "published rows" in pr.calibration
        # a latency on the Hailo rests on its few latency rows, and says why not its zoo's FPS
        both = (dev, "throughput") in CAL.params and (dev, "latency") in CAL.params
        assert ("throughput rows are fitted apart" in pr.calibration) == both
        assert both or dev != "hailo-8"


def test_the_edge_tpu_subgraph_starts_after_leading_ops_it_cannot_map() -> None:
    from edgeplan.projection.project import edge_tpu_subgraph

    conv = ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD"]
    assert edge_tpu_subgraph(conv) == (0, 3)
    # a uint8 input's CAST runs on the CPU ahead of the subgraph, not in place of it
    assert edge_tpu_subgraph(["CAST", "QUANTIZE", *conv]) == (1, 5)
    # the compiler cuts once: after the first op it cannot map, mappable ops run on the CPU too
    assert edge_tpu_subgraph(["CAST", *conv, "ARG_MAX", *conv]) == (1, 4)
    assert edge_tpu_subgraph(["CAST", "ARG_MAX"]) == (0, 0)
    assert edge_tpu_subgraph([]) == (0, 0)


def test_movenet_on_coral_runs_its_backbone_on_the_edge_tpu(testdata: Path) -> None:
    """MoveNet's int8 file starts with a CAST of its uint8 input and ends in decoding ops the
    compiler cannot map (ARG_MAX, GATHER_ND): only the decoding runs on the host CPU."""
    from edgeplan.models import open_model
    from edgeplan.models.analysis import analyse
    from edgeplan.projection.profile import from_analysis

    path = testdata / "models/coral/movenet_single_pose_lightning_ptq.tflite"
    a = analyse(open_model(path))
    assert a.ops[0].op_type == "CAST"
    pr = project(from_analysis("movenet", a), "coral-usb", "int8", CAL, CAT)
    assert 0 < pr.cpu_fallback_gmacs < 0.2 * a.macs / 1e9
    fallback = next(n for n in pr.notes if "Edge TPU compiler does not map" in n)
    assert "(CAST)" not in fallback and "(ARG_MAX)" in fallback


def test_what_a_converter_drops_is_not_an_edge_tpu_cut(testdata: Path, fastestdet: Path) -> None:
    """An ONNX graph's NCHW <-> NHWC transposes and its shape arithmetic on static shapes do
    not reach the TFLite file the Edge TPU compiler takes (onnx2tf keeps 1 of YuNet's 12
    transposes, after its last convolution); a channel shuffle's transpose does."""
    from edgeplan.models import open_model
    from edgeplan.models.analysis import analyse
    from edgeplan.projection.profile import from_analysis

    yunet = analyse(open_model(testdata / "models/yunet/yunet_n_320_320.onnx"))
    swaps = [o for o in yunet.ops if o.op_type == "Transpose"]
    assert len(swaps) == 12 and all(o.converted_away for o in swaps)
    pr = project(from_analysis("yunet", yunet), "coral-usb", "int8", CAL, CAT)
    assert pr.cpu_fallback_gmacs == 0 and not any("does not map" in n for n in pr.notes)
    slim = analyse(open_model(testdata / "models/ultraface/version-slim-320.onnx"))
    assert all(o.converted_away for o in slim.ops if o.op_type == "Shape")
    assert not any(o.converted_away for o in slim.ops if o.op_type in ("Conv", "Exp"))
    shuffle = analyse(open_model(fastestdet))
    assert not any(o.converted_away for o in shuffle.ops if o.op_type == "Transpose")


def test_a_qdq_graph_maps_onto_the_edge_tpu(testdata: Path, tmp_path: Path) -> None:
    """A QDQ model's QuantizeLinear / DequantizeLinear pairs become int8 tensors in the TFLite
    file: they neither cut the Edge TPU subgraph nor hide that the model is int8."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    from edgeplan.models import open_model
    from edgeplan.models.analysis import analyse
    from edgeplan.pipeline.gather import QUANT_OPS
    from edgeplan.projection.profile import from_analysis

    src = testdata / "models/yunet/yunet_n_320_320.onnx"
    name = onnx.load(str(src)).graph.input[0].name

    class One(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.left = 1

        def get_next(self) -> dict[str, np.ndarray] | None:
            self.left -= 1
            return {name: np.full((1, 3, 320, 320), 0.5, np.float32)} if self.left >= 0 else None

    qdq = tmp_path / "yunet_qdq.onnx"
    quantize_static(str(src), str(qdq), One(), quant_format=QuantFormat.QDQ)
    profile = from_analysis("yunet-qdq", analyse(open_model(qdq)))
    assert profile.ops[0][0] in ("QuantizeLinear", "DequantizeLinear")  # a cut at op 1 before
    assert any(op in QUANT_OPS for op, _ in profile.ops)
    pr = project(profile, "coral-usb", "int8", CAL, CAT)
    assert pr.cpu_fallback_gmacs == 0 and not any("does not map" in n for n in pr.notes)


def test_end_of_support_hardware_is_never_deployable() -> None:
    pr = project(prof(1.0), "intel-ncs2", "fp16", CAL, CAT)
    assert not pr.deployable and "end of support" in pr.reason


def test_unknown_device_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="jetson-orin-nano-super"):
        project(prof(1.0), "jetson-tx9", "int8", CAL, CAT)


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", "from edgeplan.cli.main import app; app()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "EDGEPLAN_STORE": str(store), "COLUMNS": "200"},
    )


def test_published_batch_fills_every_row(tmp_path: Path, testdata: Path) -> None:
    src = testdata.parent / "reference/published_latency.csv"
    # the value column may be absent from IN
    import csv

    rows = list(csv.DictReader(src.open()))
    stripped = tmp_path / "in.csv"
    with stripped.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "value"])
        w.writeheader()
        for r in rows:
            w.writerow({k: v for k, v in r.items() if k != "value"})
    out = tmp_path / "pred.csv"
    r = _cli(
        "project", "--published", str(stripped), "--out", str(out), store=tmp_path / "s.sqlite"
    )
    assert r.returncode == 0, r.stderr
    got = list(csv.DictReader(out.open()))
    assert len(got) == len(rows)
    assert all(g["predicted"] or (g["deployable"] == "no" and g["reason"]) for g in got)
    assert all(g["deployable"] in ("yes", "no") for g in got)


def test_import_supersedes_projection(tmp_path: Path, fastestdet: Path) -> None:
    from edgeplan.models import open_model
    from tests.records.sample import sample_record

    rec = sample_record("ondevice1", "k-od").model_copy(
        update={"model_sha256": open_model(fastestdet).sha256, "model_path": str(fastestdet)}
    )
    f = tmp_path / "measured_on_jetson.json"
    f.write_text(rec.model_dump_json())
    store = tmp_path / "s.sqlite"
    r = _cli("records", "import", str(f), "--device", "jetson-orin-nano-super", store=store)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "p.json"
    r = _cli(
        "project",
        str(fastestdet),
        "--device",
        "jetson-orin-nano-super",
        "--device",
        "hailo-8",
        "--json",
        str(out),
        store=store,
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data[0]["measured_on_device"]["source"] == "measured-on-device"
    assert data[0]["measured_on_device"]["latency_ms_p99"] == rec.latency_ms_p99
    assert data[1]["measured_on_device"] is None  # other devices stay projected
    assert "supersedes" in r.stdout
    bad = _cli("records", "import", str(f), "--device", "nope", store=store)
    assert bad.returncode == 2 and "not in the catalogue" in bad.stderr


def test_validate_cli(tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    r = _cli("project", "--validate", "--json", str(out), store=tmp_path / "s.sqlite")
    assert r.returncode == 0 and "overall MdAPE" in r.stdout
    data = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert {"mdape_pct", "n", "per_device"} <= set(data) and data["mdape_pct"] > 0
    dev = data["per_device"]["nvidia-t4"]
    assert {"mdape_pct", "n", "coverage_80_pct", "median_band_pct"} <= set(dev)
    assert 0 <= data["coverage_80_pct"] <= 100 and dev["n"] >= 5
    for d in data["per_device"].values():  # the models above 50% are named, each above 50%
        assert len(d["above_50"]) == d["models_above_50_pct"]
        assert all(ape > 50 for ape in d["above_50"].values())
    worst = sorted(d for d, v in data["per_device"].items() if v["models_above_50_pct"] >= 3)
    assert "devices with 3 or more models above 50%" in r.stdout
    assert all(d[:12] in r.stdout for d in worst)  # table cells may be cut
    assert data["n_farthest_tenth"] > 0 and 0 <= data["coverage_80_farthest_tenth_pct"] <= 100
    assert "farthest from their device's others" in r.stdout
    anchored = data["anchored"]
    assert anchored["n"] > 0 and anchored["mdape_pct"] < anchored["model_only_mdape_pct"]
    assert {"mdape_pct", "model_only_mdape_pct", "models_above_50_pct"} <= set(
        anchored["per_device"]["qualcomm-qcs8550"]
    )
    assert "anchored on the model's published figures on sibling chips" in r.stdout


def test_bands_cover_their_held_out_figures() -> None:
    """Each held-out figure is judged by a band built without its model (jackknife): the 80%
    band covers 70-90% of them over the whole catalogue."""
    from edgeplan.catalogue import load_catalogue
    from edgeplan.projection.calibrate import calibrate

    cal = calibrate(load_catalogue())
    cov, width, n = cal.coverage()
    assert n > 100 and 70 <= cov <= 90, (cov, width)


def test_a_device_with_few_models_borrows_its_band_from_devices_as_poorly_known() -> None:
    """The M3 Max has three published models, the A14 thirteen: the M3 Max's band comes from
    the held-out errors of devices with few models (fits on one or two extrapolate further),
    never from the A14's; so judged, the few-model devices' figures are covered."""
    from edgeplan.projection.bands import FEW_MODELS

    assert CAL.few_models("apple-m3-max") and not CAL.few_models("apple-a14-bionic")
    pr = project(prof(1.0), "apple-m3-max", "fp16", CAL, CAT)
    assert f"({FEW_MODELS})" in pr.calibration
    assert pr.band_pct > CAL.band("apple-a14-bionic")[0]
    few = [h for h in CAL.held if CAL.few_models(h.segment)]
    assert len(few) >= 10 and all(FEW_MODELS in h.stratum for h in few)
    inside = [
        abs(h.log_ratio)
        <= np.log1p(CAL.band(h.segment, exclude_model=h.model, cls=h.stratum)[0] / 100)
        for h in few
    ]
    assert np.mean(inside) >= 0.7


def test_conformal_quantile_covers_a_new_error_at_the_level() -> None:
    """The ceil((n + 1) * 0.8)-th smallest of n exchangeable errors bounds a new one with
    probability >= 0.8, even for small n (a plain 80% quantile undercovers there)."""
    from edgeplan.projection.bands import MIN_POOL, conformal_quantile

    assert conformal_quantile([3.0, 1.0, 2.0, 4.0], 0.8) == 4.0  # n = 4: the largest
    assert conformal_quantile([float(i) for i in range(1, 11)], 0.8) == 9.0
    rng = np.random.default_rng(7)
    for n in (MIN_POOL, 9, 30):
        draws = np.abs(rng.standard_t(3, size=(4000, n + 1)))
        hits = [d[-1] <= conformal_quantile(list(d[:-1]), 0.8) for d in draws]
        plain = [d[-1] <= np.quantile(d[:-1], 0.8) for d in draws]
        assert np.mean(hits) >= 0.78, (n, np.mean(hits))
        assert np.mean(hits) >= np.mean(plain)


def test_the_scaled_devices_held_out_errors_are_the_siblings_shape_errors() -> None:
    """Leave one model out: the M3 Max's left-out model is projected from the A14's model
    (fitted without it too) scaled by its other two models; every Apple chip with few models
    lands within the 50% that a fit of its own two or three models missed (M3 Max MdAPE 72%)."""
    for dev in ("apple-m3-max", "apple-m1-max", "apple-a17-pro"):
        errors = CAL.lomo_ape[dev]
        assert errors and float(np.median(errors)) < 50.0, (dev, errors)
