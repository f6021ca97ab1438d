"""Kernel classes from static analysis, kernel tags in the catalogue, and context switching on
pipelined NPUs (batch-1 pays it, batch-N shares it)."""

import importlib.util
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from edgeplan.catalogue import load_catalogue
from edgeplan.catalogue.load import Published
from edgeplan.errors import ConfigError
from edgeplan.models.analysis import analyse
from edgeplan.models.files import open_model
from edgeplan.projection.calibrate import Sample, calibrate, fit, switches_contexts
from edgeplan.projection.device import Context, DeviceParams, latency_ms
from edgeplan.projection.kernels import kernel_mix, tags
from edgeplan.projection.profile import CostProfile, from_analysis, from_facts
from edgeplan.projection.project import project
from tests.onnx_graphs import save_graph

CAT = load_catalogue()
CAL = calibrate(CAT)


def _attention_block(path: Path) -> Path:
    """x -> depthwise conv -> pointwise conv -> flatten -> q = x W (weights) -> q q^T."""
    rng = np.random.default_rng(0)
    w_dw = numpy_helper.from_array(rng.normal(size=(8, 1, 3, 3)).astype(np.float32), "w_dw")
    w_pw = numpy_helper.from_array(rng.normal(size=(8, 8, 1, 1)).astype(np.float32), "w_pw")
    w_q = numpy_helper.from_array(rng.normal(size=(8, 8)).astype(np.float32), "w_q")
    shape = numpy_helper.from_array(np.array([1, 64, 8], np.int64), "shape")
    perm = [0, 2, 1]
    nodes = [
        helper.make_node("Conv", ["x", "w_dw"], ["dw"], group=8, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["dw", "w_pw"], ["pw"]),
        helper.make_node("Transpose", ["pw"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "shape"], ["tokens"]),
        helper.make_node("MatMul", ["tokens", "w_q"], ["q"]),
        helper.make_node("Transpose", ["q"], ["qt"], perm=perm),
        helper.make_node("MatMul", ["q", "qt"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["y"], axis=-1),
    ]
    return save_graph(path, nodes, [w_dw, w_pw, w_q, shape], [1, 8, 8, 8], [1, 64, 64])


def test_static_analysis_classes_kernels(tmp_path: Path) -> None:
    a = analyse(open_model(_attention_block(tmp_path / "attn.onnx")))
    mix = kernel_mix(a.ops)
    assert mix["depthwise"]["macs"] == 64 * 8 * 9  # one 3x3 tap per output
    assert mix["pointwise"]["macs"] == 64 * 8 * 8
    assert mix["gemm"]["macs"] == 64 * 8 * 8  # the weighted projection
    assert mix["attention"]["macs"] == 64 * 64 * 8  # activation x activation
    assert mix["elementwise"]["count"] == 1 and mix["layout"]["count"] == 3
    assert tags(a.ops) == {"depthwise", "attention"}
    assert from_analysis("attn", a).kernels == {"depthwise", "attention"}


def test_static_analysis_counts_matrix_products_and_activations(tmp_path: Path) -> None:
    """Matrix-product MACs are the weighted projection's and attention's; the activations moved
    are what the weighted layers and attention's products read and write, in elements."""
    a = analyse(open_model(_attention_block(tmp_path / "attn.onnx")))
    p = from_analysis("attn", a)
    assert p.gemm_gmacs * 1e9 == pytest.approx(64 * 8 * 8 + 64 * 64 * 8)
    assert p.attention_gmacs * 1e9 == pytest.approx(64 * 64 * 8)  # of them, q x q^T
    assert p.attention_share() == pytest.approx(p.attention_gmacs / p.gmacs)
    x, tokens, scores = 8 * 8 * 8, 64 * 8, 64 * 64
    # dw: x -> x; pw: x -> x; projection: tokens -> q; attention: q, q^T -> scores
    expected = (x + x) + (x + x) + (tokens + tokens) + (tokens + tokens + scores)
    assert p.act_elements_m * 1e6 == pytest.approx(expected)
    assert p.act_mb("int8") * 4 == pytest.approx(p.act_mb("fp32"))


def test_a_real_cnn_is_tagged_depthwise_not_attention(fastestdet: Path) -> None:
    a = analyse(open_model(fastestdet))
    assert tags(a.ops) == {"depthwise"}
    assert sum(v["macs"] for v in kernel_mix(a.ops).values()) == a.macs


def test_catalogue_counts_matrix_products_and_activations(tmp_path: Path) -> None:
    """A ViT is almost all matrix products, a ResNet almost none; models not counted get their
    task's activations per GMAC, marked as an estimate; a negative count names the model."""
    vit, resnet = CAT.models["vit_tiny_224"], CAT.models["resnet50_224"]
    assert vit.gemm_gmacs is not None and vit.gmacs and vit.gemm_gmacs / vit.gmacs > 0.9
    assert (
        resnet.gemm_gmacs is not None and resnet.gmacs and resnet.gemm_gmacs / resnet.gmacs < 0.01
    )
    counted = [m for m in CAT.models.values() if m.act_elements_m]
    assert len(counted) > 50 and all(m.act_elements_estimate is None for m in counted)
    yolov7 = CAT.models["yolov7_640"]
    per_gmac = sorted(
        (m.act_elements_m or 0) / m.gmacs for m in counted if m.task == yolov7.task and m.gmacs
    )
    assert yolov7.act_elements_m is None and yolov7.gmacs
    assert yolov7.act_elements_estimate == pytest.approx(yolov7.gmacs * np.median(per_gmac))
    profile = from_facts(yolov7)
    assert profile is not None and profile.act_elements_m == yolov7.act_elements_estimate
    mine = tmp_path / "mine.csv"
    mine.write_text("id,task,gmacs,act_elements_m\nmy-net,detection,4,-3\n")
    with pytest.raises(ConfigError, match=r"my-net.*act_elements_m"):
        load_catalogue(mine)


def test_catalogue_counts_attention_products_within_matrix_products(tmp_path: Path) -> None:
    """A ViT's attention products (2 x tokens^2 x width per block: 197 tokens, width 192, 12
    blocks for ViT-Ti) are counted, and are part of its matrix products; a CNN has none; a
    count above the matrix products that include it names the model and both columns."""
    vit = CAT.models["vit_tiny_224"]
    assert vit.attention_gmacs == pytest.approx(2 * 197**2 * 192 * 12 / 1e9, rel=0.01)
    assert vit.gemm_gmacs is not None and vit.attention_gmacs < vit.gemm_gmacs
    assert CAT.models["resnet50_224"].attention_gmacs in (0.0, None)
    tagged = [m for m in CAT.models.values() if "attention" in m.kernels]
    assert tagged and all(m.attention_gmacs is not None for m in tagged)
    # ViT-Ti's published 1.1 GMACs is below the 1.225 counted in its matrix products: it left
    # attention's products out, and the profile adds them; DeiT-Ti's 1.285 counts them already
    vit_p, deit = from_facts(vit), from_facts(CAT.models["deit_tiny_224"])
    assert vit_p is not None and vit_p.gmacs == pytest.approx(1.1 + vit.attention_gmacs)
    assert deit is not None and deit.gmacs == CAT.models["deit_tiny_224"].gmacs
    assert 0.95 < vit_p.gemm_share() < 1.0
    mine = tmp_path / "mine.csv"
    mine.write_text("id,task,gmacs,gemm_gmacs,attention_gmacs\nmy-vit,classification,4,1,2\n")
    with pytest.raises(ConfigError, match=r"my-vit.*attention_gmacs: 2.*more than gemm_gmacs"):
        load_catalogue(mine)


def test_catalogue_kernel_tags_are_checked(tmp_path: Path) -> None:
    assert CAT.models["vit_tiny_224"].kernels == {"attention"}
    assert CAT.models["resnet50_224"].kernels == frozenset()
    mine = tmp_path / "mine.csv"
    mine.write_text("id,kernels\nresnet50_224,dwconv\n")
    with pytest.raises(ConfigError, match=r"'resnet50_224'.*unknown kernel tags.*depthwise"):
        load_catalogue(mine)
    mine.write_text("id,gmacs\nvit_tiny_224,1.2\n")  # an override keeps the other facts
    assert load_catalogue(mine).models["vit_tiny_224"].kernels == {"attention"}


def test_context_fit_recovers_a_known_switch() -> None:
    """Hailo-like rows generated from a known context model (single-context small models,
    batch-1 paying the switch for big ones) are fitted back, and the batch gap is explained by
    the context, not by a per-batch overhead."""
    hw = CAT.hardware["hailo-8"]
    truth = DeviceParams(
        b_ms_per_gmac={"int8": 0.2},
        c_ms_per_mb=0.01,
        overhead_ms={"throughput_fps": 0.3},
        rows=0,
        context=Context(
            threshold_gmacs=4.0,
            switch_ms=6.0,
            tag_shift={"attention": 1.5},
            weight_weight=0.5,
            reload_ms_per_mb=0.2,
        ),
    )
    rng = np.random.default_rng(1)
    samples = []
    for i in range(32):
        g = float(np.exp(rng.uniform(np.log(0.3), np.log(60))))
        kern = frozenset({"attention"}) if i % 4 == 0 else frozenset()
        params = g * float(np.exp(rng.uniform(np.log(0.5), np.log(8))))  # weights vary apart
        p = CostProfile(f"m{i}", g, params, 640 * 640, kernels=kern)
        for batch in (1, 8):
            y = latency_ms(hw, p, "int8", truth, f"throughput_fps@b{batch}")
            row = Published(hw.id, "", f"m{i}", "hailort", "int8", str(batch),
                            "throughput_fps", 1000 / y, "")  # fmt: skip
            samples.append(Sample(row, p, y))
    assert switches_contexts(hw, samples)
    fitted = fit(hw, samples)
    assert fitted.context is not None
    assert set(fitted.overhead_ms) == {"throughput_fps"}  # one overhead for every batch
    for s in samples:
        pred = latency_ms(hw, s.profile, "int8", fitted, f"throughput_fps@b{s.row.batch}")
        assert pred == pytest.approx(s.y_ms, rel=0.1)
    # a switch's cost, fixed plus reloaded weights, at a big model's 40 MB
    for c in (fitted.context, truth.context):
        assert c is not None
    cost = [c.switch_ms + c.reload_ms_per_mb * 40 for c in (fitted.context, truth.context)]
    assert cost[0] == pytest.approx(cost[1], rel=0.25)


def test_split_classifier_is_monotone_and_unsure_between_the_devices_models() -> None:
    """The split classifier (split.py) fitted on labels that a GMAC threshold decides, with
    two models on the wrong side of it: the odds rise with GMACs, are near 0 and 1 far from
    the threshold and between them near it, and every slope is >= 0."""
    from edgeplan.projection.split import fit_split

    gmacs = np.exp(np.linspace(np.log(0.1), np.log(100), 40))
    profiles = [
        CostProfile(f"m{i}", float(g), 5.0, 224 * 224, layers=64) for i, g in enumerate(gmacs)
    ]
    labels = [bool(g > 3.0) for g in gmacs]
    labels[18], labels[22] = not labels[18], not labels[22]  # noise near the threshold
    model = fit_split(profiles, labels)
    assert all(w >= 0 for w in model.weights)
    odds = [model.share(p) for p in profiles]
    assert all(a <= b + 1e-12 for a, b in pairwise(odds))
    assert odds[0] < 0.1 and odds[-1] > 0.9
    near = model.share(CostProfile("near", 3.0, 5.0, 224 * 224, layers=64))
    assert 0.2 < near < 0.8


def test_catalogue_hailo_batch_gap_is_context_switching() -> None:
    """On the published Hailo-8L rows: a big detector is projected to split (batch-8 frames/s
    well above batch-1) and a small plain classifier not (the two equal), as the zoo publishes."""
    p = CAL.params[("hailo-8l", "throughput")]
    assert p.context is not None
    big = CostProfile("yolov8m", 39.5, 25.9, 640 * 640, layers=84)
    small = CostProfile("squeezenet", 0.35, 1.2, 224 * 224, layers=26)
    hw = CAT.hardware["hailo-8l"]
    fps = {
        (m.name, b): 1000 / latency_ms(hw, m, "int8", p, f"throughput_fps@b{b}")
        for m in (big, small)
        for b in (1, 8)
    }
    assert fps[("yolov8m", 8)] > 1.3 * fps[("yolov8m", 1)]
    assert fps[("squeezenet", 8)] < 1.1 * fps[("squeezenet", 1)]
    assert not switches_contexts(CAT.hardware["jetson-orin-nx-16gb"], [])


def _never_faster(a: CostProfile, b: CostProfile, device: str, metric: str) -> None:
    """`b`, holding more of something than `a`, is projected no faster on `device`, int8."""
    ta = project(a, device, "int8", CAL, CAT, metric=metric).latency_ms
    tb = project(b, device, "int8", CAL, CAT, metric=metric).latency_ms
    assert ta is not None and tb is not None and ta <= tb + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.01, 80),
    st.floats(0.01, 80),
    st.sampled_from(["hailo-8", "hailo-8l"]),
    st.sampled_from([frozenset(), frozenset({"depthwise"}), frozenset({"attention"})]),
    st.sampled_from(["throughput_fps@b1", "throughput_fps@b8", "latency_ms_model_only"]),
)
def test_more_macs_never_faster_with_contexts(
    g1: float, g2: float, device: str, kern: frozenset[str], metric: str
) -> None:
    lo, hi = sorted((g1, g2))
    a = CostProfile("a", lo, 3.0, 640 * 640, kernels=kern)
    b = CostProfile("b", hi, 3.0, 640 * 640, kernels=kern)
    _never_faster(a, b, device, metric)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.1, 100),
    st.floats(0.1, 100),
    st.sampled_from(["hailo-8", "hailo-8l"]),
    st.sampled_from(["throughput_fps@b1", "throughput_fps@b8"]),
)
def test_more_weights_never_faster_with_contexts(
    p1: float, p2: float, device: str, metric: str
) -> None:
    """More parameters make a split no less likely and a switch reload no less."""
    lo, hi = sorted((p1, p2))
    a = CostProfile("a", 3.0, lo, 640 * 640, layers=64)
    b = CostProfile("b", 3.0, hi, 640 * 640, layers=64)
    _never_faster(a, b, device, metric)


def test_edge_tpu_streams_only_the_weights_beyond_its_cache() -> None:
    """The Edge TPU compiler caches about 8 MB of parameters on-chip (deploy rule): weights
    within it cost no traffic per inference; beyond it, every MB is streamed again."""
    p = CAL.params[("coral-devboard", "latency")]
    assert p.weight_cache_mb == 8 and p.c_ms_per_mb > 0
    hw = CAT.hardware["coral-devboard"]

    def ms(params_m: float) -> float:
        prof = CostProfile("m", 1.0, params_m, 224 * 224)
        return latency_ms(hw, prof, "int8", p, "latency_ms_model_only")

    assert ms(2.0) == ms(7.5) < ms(20.0) < ms(60.0)
    assert CAL.params[("coral-devboard:cpu", "latency")].weight_cache_mb == 0  # the board's CPU


def test_npu_latency_is_never_below_its_batch1_frame_interval() -> None:
    """A transformer on the Hailo-8: the latency rows alone would say ~2 ms, but the chip
    issues a multi-context network at most once per batch-1 interval, context switching
    included; the projection says so."""
    vit = CostProfile("vit", 1.1, 5.7, 224 * 224, kernels=frozenset({"attention"}))
    lat = project(vit, "hailo-8", "int8", CAL, CAT)
    b1 = project(vit, "hailo-8", "int8", CAL, CAT, metric="throughput_fps@b1")
    assert lat.latency_ms is not None and b1.latency_ms is not None
    assert lat.latency_ms >= b1.latency_ms
    assert any("batch-1 frame interval" in n for n in lat.notes)
    assert any("several contexts" in n for n in lat.notes)


def test_project_cli_reports_the_kernel_mix(fastestdet: Path, tmp_path: Path) -> None:
    import json

    from tests.projection.test_projection import _cli

    out = tmp_path / "p.json"
    # two devices as a comma list, as --backends takes them
    r = _cli("project", str(fastestdet), "--device", "hailo-8,hailo-8l", "--json", str(out),
             store=tmp_path / "s.sqlite")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "kernel tags: depthwise" in r.stdout and "pointwise" in r.stdout
    rows = json.loads(out.read_text())
    assert [x["projection"]["device"] for x in rows] == ["hailo-8", "hailo-8l"]
    facts = rows[0]["model"]
    assert facts["kernel_tags"] == ["depthwise"]
    total = sum(v["macs"] for v in facts["kernel_mix"].values())
    assert total / 1e9 == pytest.approx(facts["gmacs"], rel=1e-3)
    assert facts["gemm_gmacs"] < 0.01 * facts["gmacs"]  # a CNN: no matrix products to speak of
    assert facts["act_elements_m"] > 0 and "M activation elements" in r.stdout


def test_one_model_cpu_does_not_charge_a_tiny_model_the_big_ones_time() -> None:
    """The Raspberry Pi 5's model-only rows are YOLO11n and YOLO11s: with two models an
    overhead and a per-MAC cost fit any pair exactly, so YOLO11n's lower efficiency per MAC
    would become a per-call overhead (~35 ms). On a CPU a model-only time is compute: a
    BlazeFace-sized model (0.03 GMACs) is then a few ms, while YOLO11s stays at its
    published level."""
    tiny = project(CostProfile("blazeface", 0.0308, 0.1, 128 * 128), "rpi5", "fp32", CAL, CAT)
    big = project(CostProfile("yolo11s", 10.75, 9.4, 640 * 640), "rpi5", "fp32", CAL, CAT)
    assert tiny.latency_ms is not None and big.latency_ms is not None
    assert tiny.latency_ms < 0.03 * big.latency_ms
    assert 150 < big.latency_ms < 700  # published: 179 (OpenVINO) to 1012 ms (PyTorch)


def test_a_projection_unsure_of_its_context_split_gets_its_own_band() -> None:
    """Mondrian bands: on a context-switching NPU, a model whose split the device's calibrated
    classifier calls neither surely nor surely not is judged by the held-out errors of
    projections as unsure as it, and says so; a model surely in one context keeps the
    device's band."""
    from edgeplan.projection.bands import SPLIT_UNSURE, stratum
    from edgeplan.projection.project import project

    ctx = CAL.params[("hailo-8l", "throughput")].context
    assert ctx is not None and ctx.classifier is not None
    lo, hi = 0.01, 1e5  # bisect the GMACs (64 layers, 5 MB) to a split odds of one half
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        odds = ctx.classifier.share(CostProfile("probe", mid, 5.0, 224 * 224, layers=64))
        lo, hi = (mid, hi) if odds < 0.5 else (lo, mid)
    unsure = CostProfile("unsure", lo, 5.0, 224 * 224, layers=64)
    assert SPLIT_UNSURE[0] < ctx.classifier.share(unsure) < SPLIT_UNSURE[1]
    cls = stratum(ctx, unsure)
    assert cls and any(h.stratum == cls for h in CAL.held)
    pr = project(unsure, "hailo-8l", "int8", CAL, CAT)
    assert cls in pr.calibration and pr.band_pct == pytest.approx(
        round(CAL.band("hailo-8l", cls=cls, **_difficulty(unsure, "hailo-8l"))[0], 1)
    )
    sure = CostProfile("sure", 0.05, 1.0, 224 * 224, layers=20)
    assert stratum(ctx, sure) == ""
    sure_pr = project(sure, "hailo-8l", "int8", CAL, CAT)
    assert cls not in sure_pr.calibration
    assert sure_pr.band_pct == pytest.approx(
        round(CAL.band("hailo-8l", **_difficulty(sure, "hailo-8l"))[0], 1)
    )


def _difficulty(profile: CostProfile, device: str) -> dict[str, float | None]:
    """A projection's band difficulty on `device` (novelty.py): its distance to the models
    published there (both metric families) and the device model's held-out miss on the
    nearest of them."""
    from edgeplan.projection.bands import held_misses
    from edgeplan.projection.novelty import neighbour_miss, neighbours, novelty

    published = [s for fam in ("latency", "throughput") for s in CAL.samples[(device, fam)]]
    assert CAL.novelty_scale is not None
    near = neighbours(profile, "int8", "latency_ms_model_only", published, CAL.novelty_scale)
    return {"novelty": novelty(near), "miss": neighbour_miss(near, held_misses(CAL.held, device))}


def _two_branches(path: Path) -> Path:
    """x -> conv a -> add; x -> conv b -> conv c -> add: three weighted layers, two of them on
    the longest path."""
    rng = np.random.default_rng(0)
    ws = [
        numpy_helper.from_array(rng.normal(size=(8, 8, 1, 1)).astype(np.float32), f"w_{n}")
        for n in "abc"
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_a"], ["a"]),
        helper.make_node("Conv", ["x", "w_b"], ["b"]),
        helper.make_node("Conv", ["b", "w_c"], ["c"]),
        helper.make_node("Add", ["a", "c"], ["y"]),
    ]
    return save_graph(path, nodes, ws, [1, 8, 8, 8], [1, 8, 8, 8])


def test_the_critical_path_counts_branches_once(tmp_path: Path) -> None:
    """Side-by-side branches pay a layer's fixed cost along the longest path only: the graph's
    three layers, two on its longest path; Inception v1's 58 layers, 22 deep (counted from its
    definition); a plain chain's depth is its layer count."""
    p = from_analysis("branches", analyse(open_model(_two_branches(tmp_path / "b.onnx"))))
    assert (p.layers, p.depth, p.path_layers()) == (3, 2, 2)
    chain = from_analysis("attn", analyse(open_model(_attention_block(tmp_path / "a.onnx"))))
    assert chain.depth == chain.layers == 3  # dw, pw, the weighted projection
    inception = from_facts(CAT.models["inception_v1_224"])
    assert inception is not None and (inception.layers, inception.depth) == (58, 22)
    vgg = from_facts(CAT.models["vgg16_224"])
    assert vgg is not None and vgg.depth == vgg.layers == 16
    hw = CAT.hardware["qualcomm-qcs8550"]
    params = DeviceParams(
        b_ms_per_gmac={"fp16": 0.5}, c_ms_per_mb=0.0, overhead_ms={}, rows=0, e_ms_per_layer=0.02
    )
    flat = CostProfile("flat", 1.5, 6.6, 224 * 224, layers=58)
    assert latency_ms(hw, inception, "fp16", params, "latency_ms_model_only") < latency_ms(
        hw, flat, "fp16", params, "latency_ms_model_only"
    )


def test_a_catalogue_depth_is_a_count(tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text("id,task,gmacs,layers,depth\nmy-net,detection,4,30,2.5\n")
    with pytest.raises(ConfigError, match=r"my-net.*depth: 2.5 is not a count"):
        load_catalogue(mine)


def _gated_graph(path: Path, gate: bool, final_pool: bool) -> Path:
    """x [1, 8, 4, 4] -> a squeeze-and-excitation block (global pool, two 1x1 convolutions,
    sigmoid, the map times its gate) when `gate`; then a layer norm written out over channels
    (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div) -> y; then, when `final_pool`, a
    classifier's global pool."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(2, 8, 1, 1)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(8, 2, 1, 1)).astype(np.float32), "w2")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    eps = numpy_helper.from_array(np.array(1e-5, np.float32), "eps")
    nodes = []
    x = "x"
    if gate:
        nodes += [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Conv", ["pooled", "w1"], ["s1"]),
            helper.make_node("Relu", ["s1"], ["r1"]),
            helper.make_node("Conv", ["r1", "w2"], ["s2"]),
            helper.make_node("Sigmoid", ["s2"], ["g"]),
            helper.make_node("Mul", ["x", "g"], ["se"]),
        ]
        x = "se"
    out = "ln" if final_pool else "y"
    nodes += [
        helper.make_node("ReduceMean", [x], ["mu"], axes=[1], keepdims=1),
        helper.make_node("Sub", [x, "mu"], ["xc"]),
        helper.make_node("Pow", ["xc", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[1], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["sd"]),
        helper.make_node("Div", ["xc", "sd"], [out]),
    ]
    if final_pool:
        nodes.append(helper.make_node("GlobalAveragePool", ["ln"], ["y"]))
    y_shape = [1, 8, 1, 1] if final_pool else [1, 8, 4, 4]
    return save_graph(path, nodes, [w1, w2, two, eps], [1, 8, 4, 4], y_shape, opset=13)


def test_global_gates_are_maps_scaled_by_what_was_pooled_from_them(tmp_path: Path) -> None:
    """A squeeze-and-excitation block is one gate; a classifier's final pooling and a layer
    norm written out are none; the catalogue's counts follow the architectures (MobileNetV3
    -Large's 8 SE blocks, EfficientNet-Lite's none)."""

    def gates(gate: bool, final_pool: bool) -> int:
        path = _gated_graph(tmp_path / f"g{gate}{final_pool}.onnx", gate, final_pool)
        return from_analysis("g", analyse(open_model(path))).global_gates

    assert gates(gate=True, final_pool=True) == 1
    assert gates(gate=False, final_pool=True) == 0
    assert gates(gate=True, final_pool=False) == 1
    assert CAT.models["mobilenet_v3_large_224"].global_gates == 8
    assert CAT.models["efficientnet_lite0_224"].global_gates == 0
    # the Hailo-8's rows give gates weight: RepGhost (0.14 GMACs, 7 gates) splits, as published
    ctx = CAL.params[("hailo-8", "throughput")].context
    repghost = from_facts(CAT.models["repghost_1_0x_224"])
    assert ctx is not None and repghost is not None and ctx.gate_weight > 0
    assert ctx.split_share(repghost) > 0.5 > ctx.split_share(replace(repghost, global_gates=0))
    mine = tmp_path / "mine.csv"
    mine.write_text("id,task,gmacs,global_gates\nmy-net,detection,4,-1\n")
    with pytest.raises(ConfigError, match=r"my-net.*global_gates: -1.* not a count >= 0"):
        load_catalogue(mine)


@pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="rapidocr-onnxruntime not installed (make venv installs it with --no-deps)",
)
def test_global_gates_in_real_models(fastestdet: Path) -> None:
    """PaddleOCR's real graphs: the text classifier's PP-LCNet has 9 SE blocks and a final
    pooling that scales nothing (10 GlobalAveragePool, 9 gates); the recogniser's 2 SE blocks
    count and its 10 layer-norm means do not; FastestDet has no gate."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    assert spec is not None and spec.origin is not None
    models = Path(spec.origin).parent / "models"

    def count(path: Path) -> tuple[int, int]:
        a = analyse(open_model(path))
        pools = sum(o.op_type in ("GlobalAveragePool", "ReduceMean") for o in a.ops)
        return pools, from_analysis(path.stem, a).global_gates

    assert count(models / "ch_ppocr_mobile_v2.0_cls_infer.onnx") == (10, 9)
    assert count(models / "ch_PP-OCRv4_rec_infer.onnx") == (12, 2)
    assert count(fastestdet)[1] == 0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(["hailo-8", "hailo-8l"]),
    st.sampled_from(["throughput_fps@b1", "throughput_fps@b8"]),
)
def test_more_gates_never_faster_with_contexts(n1: int, n2: int, device: str, metric: str) -> None:
    """A gate holds a whole map on chip: more of them make a split no less likely."""
    lo, hi = sorted((n1, n2))
    a = CostProfile("a", 0.5, 5.0, 224 * 224, layers=96, global_gates=lo)
    b = CostProfile("b", 0.5, 5.0, 224 * 224, layers=96, global_gates=hi)
    _never_faster(a, b, device, metric)


def test_a_pipelined_chip_streams_faster_than_one_frame_per_latency() -> None:
    """On a Hailo the frame rate of a stream is the batch-1 throughput (the zoo's FPS), not
    1000 / latency: frames overlap in its layer pipeline (ResNet-50: 2.94 ms hw latency, 1372
    FPS). A catalogue model published there gets its published batch-1 figure; elsewhere the
    frame rate stays 1000 / latency."""
    rows = [
        r
        for r in CAT.published
        if r.device_id == "hailo-8" and r.metric == "throughput_fps" and r.batch == "1"
    ]
    assert len(rows) >= 30
    for r in rows[:: max(1, len(rows) // 6)]:
        m = CAT.models[r.model_id]
        pr = project(from_facts(m), "hailo-8", "int8", CAL, CAT)
        # its published figure (a second batch-1 figure of the model moves it a little), and
        # a latency never shorter than that frame interval
        assert pr.throughput_fps == pytest.approx(r.value, rel=0.05)
        assert pr.latency_ms and pr.throughput_fps >= 1000 / pr.latency_ms * (1 - 1e-3)
    resnet = project(from_facts(CAT.models["resnet50_v1_224"]), "hailo-8", "int8", CAL, CAT)
    assert resnet.latency_ms and resnet.throughput_fps > 2 * 1000 / resnet.latency_ms
    assert any("pipelines frames" in n for n in resnet.notes)
    synthetic = CostProfile("synthetic", 4.0, 10.0, 224 * 224, layers=50)
    pr = project(synthetic, "hailo-8", "int8", CAL, CAT)
    stream = latency_ms(
        CAT.hardware["hailo-8"], synthetic, "int8", CAL.params[("hailo-8", "throughput")],
        "throughput_fps@b1",
    )  # fmt: skip
    assert pr.latency_ms and pr.throughput_fps == pytest.approx(
        1000 / min(stream, pr.latency_ms), rel=1e-3
    )
    other = project(synthetic, "coral-usb", "int8", CAL, CAT)
    assert other.latency_ms and other.throughput_fps == pytest.approx(
        1000 / other.latency_ms, rel=1e-3
    )


def test_a_batch_8_throughput_is_not_held_to_the_batch_1_interval() -> None:
    """A throughput asked at batch 8 (`project --published` passes each row's metric) shares
    the context switch over the batch: a model that splits runs faster per frame than at
    batch 1, never floored at its batch-1 interval (which bounds a latency only)."""
    big = CostProfile("synthetic", 40.0, 26.0, 640 * 640, layers=84)
    b1 = project(big, "hailo-8l", "int8", CAL, CAT, metric="throughput_fps@b1").latency_ms
    b8 = project(big, "hailo-8l", "int8", CAL, CAT, metric="throughput_fps@b8").latency_ms
    assert b1 and b8 and b8 < 0.8 * b1
