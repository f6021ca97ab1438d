"""Hierarchical pooling (a device borrows its family's overheads and matrix-product factor,
never the left-out model), latency at batch N, and saturated throughput."""

import math
from dataclasses import replace

import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.projection.calibrate import _Pooled, calibrate, fit
from edgeplan.projection.device import (
    DeviceParams,
    base_metric,
    frames_per_call,
    latency_ms,
    saturated,
)
from edgeplan.projection.pooling import centre_for
from edgeplan.projection.profile import from_facts
from edgeplan.projection.rows import (
    harness,
    metric_key,
    segment_hardware,
    segment_key,
    weight_cache,
)

CAT = load_catalogue()
CAL = calibrate(CAT, validate=False)
AGX = ("jetson-agx-orin-64gb", "latency")
NX = ("jetson-orin-nx-16gb", "latency")


def test_a_device_borrows_a_metric_it_has_no_rows_for_from_its_family() -> None:
    """The Xavier NX's rows are all model-only (Ultralytics, trtutils); its siblings publish
    MLPerf p90 rows too. That metric's overhead comes from them, and the parameters say
    where it came from."""
    xnx = ("jetson-xavier-nx", "latency")
    own = {s.row.metric for s in CAL.samples[xnx]}
    assert "latency_ms_p90_singlestream" not in own
    assert "latency_ms_p90_singlestream" in {s.row.metric for s in CAL.samples[AGX]}
    p = CAL.params[xnx]
    assert "latency_ms_p90_singlestream@b1" in p.borrowed
    assert "latency_ms_p90_singlestream@b1" in p.overhead_ms
    assert any("borrowed from its family" in n and "jetson-agx-orin-64gb" in n for n in p.notes)


def test_the_left_out_model_never_reaches_a_device_through_its_siblings() -> None:
    pooled = _Pooled(CAT, CAL.samples)
    with_it = pooled.centre(AGX)
    without = pooled.centre(AGX, without="resnet50_224")
    assert with_it is not None and without is not None
    # the siblings were refitted without the model (memoised under its name) ...
    assert (NX, "resnet50_224") in pooled.solo
    nx_rows = pooled.samples[NX]
    solo = pooled.solo[(NX, "resnet50_224")]
    assert solo is not None and solo.rows == sum(s.row.model_id != "resnet50_224" for s in nx_rows)
    # ... and the centre they give differs from the one that saw it
    shared = set(with_it.overhead_ln) & set(without.overhead_ln)
    assert any(abs(with_it.overhead_ln[c] - without.overhead_ln[c]) > 1e-9 for c in shared)


def test_only_chips_of_the_same_kind_pool() -> None:
    """`intel-n100` (a CPU) and `intel-ncs2` (a VPU) share a name prefix, not an architecture."""
    n100, ncs2 = CAT.hardware["intel-n100"], CAT.hardware["intel-ncs2"]
    params = CAL.params[NX]
    key = ("intel-n100", "latency")
    assert centre_for(key, n100, {("intel-ncs2", "latency"): (ncs2, params)}) is None
    same_kind = replace(ncs2, kind=n100.kind)
    centre = centre_for(key, n100, {("intel-ncs2", "latency"): (same_kind, params)})
    assert centre is not None and centre.devices == ("intel-ncs2",)


def test_a_device_without_matrix_product_rows_borrows_the_familys_factor() -> None:
    """The cost of a matrix-product MAC relative to a convolution's is pooled by how many
    matrix-product rows each sibling fitted it on: a sibling without such rows adds nothing,
    and a device with none of its own takes the family's, so a ViT on it is projected slower
    than its convolutions alone would say."""
    key = ("apple-m1-max", "latency")
    hw = segment_hardware(key[0], CAT)
    a17 = ("apple-a17-pro", "latency")
    fitted, other = CAL.params[a17], replace(CAL.params[a17], gemm_factor=1.0, gemm_evidence=0.0)
    assert fitted.gemm_evidence > 0.5 and fitted.gemm_factor > 1.5
    sibs = {a17: (hw, fitted), ("apple-m3-max", "latency"): (hw, other)}
    centre = centre_for(key, hw, sibs)
    assert centre is not None and centre.gemm_ln == pytest.approx(math.log(fitted.gemm_factor))
    lone = centre_for(key, hw, {a17: (hw, other)})
    assert lone is not None and lone.gemm_ln is None
    convs = [s for s in CAL.samples[key] if s.profile.gemm_share() < 0.05]
    assert convs, "the M1 Max has a convolutional row"
    own = fit(hw, convs)
    pooled = fit(hw, convs, centre=centre)
    assert own.gemm_factor < 1.2  # its own rows hardly hold a matrix product
    assert pooled.gemm_factor == pytest.approx(fitted.gemm_factor, rel=0.1)
    vit = from_facts(CAT.models["vit_tiny_224"])
    assert vit is not None
    cnn = replace(vit, gemm_gmacs=0.0)  # the same MACs and traffic in convolutions

    def extra_ms(p: DeviceParams) -> float:
        metric = "latency_ms_model_only@b1"
        return latency_ms(hw, vit, "fp16", p, metric) - latency_ms(hw, cnn, "fp16", p, metric)

    # the family's factor (about 2.4 on the Apple chips) makes the ViT a quarter slower or more
    assert extra_ms(pooled) > 0.25 * latency_ms(hw, cnn, "fp16", pooled, "latency_ms_model_only@b1")
    assert extra_ms(pooled) > 5 * abs(extra_ms(own))


@pytest.mark.parametrize("model", ["resnet50_224", "yolo11n_640", "retinanet_resnext50_800"])
def test_a_latency_at_batch_n_computes_n_frames_but_reads_the_weights_once(model: str) -> None:
    """MLPerf MultiStream's query of 8 takes longer than one frame, and less than 8 separate
    calls (the weights are read and each layer launched once per call)."""
    hw = segment_hardware(NX[0], CAT)
    p = CAL.params[NX]
    prof = from_facts(CAT.models[model])
    assert prof is not None
    one = latency_ms(hw, prof, "int8", p, "latency_ms_mean@b1")
    eight = latency_ms(hw, prof, "int8", p, "latency_ms_mean@b8")
    layer_ms = p.e_ms_per_layer * p.precision_ratio(hw, "int8")
    per_call = p.c_ms_per_mb * prof.weight_bytes("int8") / 1e6 + layer_ms * prof.path_layers()
    a1, a8 = p.overhead_ms["latency_ms_mean@b1"], p.overhead_ms["latency_ms_mean@b8"]
    assert eight > one
    assert eight - a8 < 8 * (one - a1) - 7 * per_call + 1e-9
    assert frames_per_call("latency_ms_mean@b8") == 8 and frames_per_call("throughput_fps") == 1


def test_a_saturated_throughput_pays_no_per_call_cost() -> None:
    """At no stated batch (MLPerf Offline) the weight reads and layer launches are shared by a
    large batch: more layers and more weights do not lower the projected FPS; at batch 1
    (a latency) they cost."""
    key = ("jetson-agx-orin-64gb", "throughput")
    hw = segment_hardware(key[0], CAT)
    p = CAL.params[key]
    prof = from_facts(CAT.models["resnet50_224"])
    assert prof is not None and saturated("throughput_fps", switches_contexts=False)
    heavier = replace(
        prof,
        layers=(prof.layers or 0) * 4,
        depth=prof.path_layers() * 4,
        params_m=prof.params_m * 4,
    )
    fps = latency_ms(hw, prof, "int8", p, "throughput_fps")
    assert latency_ms(hw, heavier, "int8", p, "throughput_fps") == pytest.approx(fps)
    lat = CAL.params[AGX]
    assert latency_ms(hw, heavier, "int8", lat, "latency_ms_mean@b1") > latency_ms(
        hw, prof, "int8", lat, "latency_ms_mean@b1"
    )
    assert not saturated("throughput_fps", switches_contexts=True)


def test_mlperf_retinanet_has_the_macs_of_its_architecture() -> None:
    """Counted by benchmarks/layer_counts.py from MLPerf's reference build (none published):
    it is projected, and ranks far above ResNet-50."""
    m = CAT.models["retinanet_resnext50_800"]
    assert m.gmacs is not None and m.params_m is not None and m.layers == 111
    assert m.gmacs > 40 * (CAT.models["resnet50_224"].gmacs or 0)


def test_a_mean_no_standard_defines_gets_its_harness_overhead() -> None:
    """Two sources' means on one device (a Python script with image decoding, a bare invoke
    loop) are not one metric: each source's rows get their own overhead. MLPerf LoadGen's
    mean is the standard's and keeps one key across submissions."""
    dev = ("coral-devboard", "latency")
    keys = {metric_key(s.row) for s in CAL.samples[dev] if s.row.metric == "latency_ms_mean"}
    assert {base_metric(k) for k in keys} == {"latency_ms_mean"}
    assert len(keys) >= 2 and all("[github.com/" in k for k in keys)
    assert set(keys) <= set(CAL.params[dev].overhead_ms)
    mlperf = {
        metric_key(s.row)
        for s in CAL.samples[AGX]
        if s.row.metric == "latency_ms_mean" and "mlcommons" in s.row.source
    }
    assert mlperf == {"latency_ms_mean@b1", "latency_ms_mean@b8"}
    allan = next(s.row for s in CAL.samples[dev] if "aallan" in s.row.source)
    assert harness(allan) == "github.com/aallan/benchmarking-ml-on-the-edge"
    # one source timing through two runners (trtutils' own, the Ultralytics wrapper) says which
    # in the row's config: two harnesses, two overheads, not one metric with two values
    trt = {
        harness(s.row)
        for s in CAL.samples[AGX]
        if s.row.model_id == "yolov10n_640" and s.row.metric == "latency_ms_mean"
    }
    assert trt == {
        "github.com/justincdavis/trtutils",
        "github.com/justincdavis/trtutils:ultralytics",
    }


def test_coral_ssds_are_counted_as_the_quantized_configs_coral_compiles() -> None:
    """Coral's SSD MobileNet v2 files are 6.6-6.7 MB of int8 weights: the quantized config
    (1x1 predictor), not the float 3x3-predictor model of 16.8 M parameters. Counted, it fits
    in the Edge TPU's 8 MB cache, and the Coral rows of the other counted SSDs are used."""
    assert (CAT.models["ssd_mobilenet_v2_300"].params_m or 99) < 6.7
    cache = CAT.rule(CAT.hardware["coral-usb"])
    assert cache is not None and (CAT.models["ssd_mobilenet_v2_300"].params_m or 99) < (
        cache.weight_cache_mb
    )
    used = {s.row.model_id for s in CAL.samples[("coral-usb", "latency")]}
    for mid in ("ssd_mobilenet_v1_224", "ssd_mobilenet_v2_224", "ssd_mobilenet_v1_0.75_300"):
        assert mid in used
        assert (CAT.models[mid].gmacs or 0) < (CAT.models["ssd_mobilenet_v1_300"].gmacs or 0)


def test_a_usb_accelerator_on_usb2_is_its_own_configuration() -> None:
    """A USB accelerator on a USB 2 port moves everything over 480 Mbit/s: its rows are the
    chip configured otherwise (like a power mode), not rows of the USB 3 device; the chip's
    parameter cache is the same."""
    usb2 = [r for r in CAT.published if "link=USB2" in r.config]
    assert usb2 and {segment_key(r, CAT) for r in usb2} == {f"{r.device_id}:usb2" for r in usb2}
    assert weight_cache("coral-usb:usb2", CAT) == weight_cache("coral-usb", CAT) > 0
    assert weight_cache("coral-usb:cpu", CAT) == 0
    assert not any("link=USB2" in s.row.config for s in CAL.samples[("coral-usb", "latency")])


def test_a_device_with_few_models_is_its_best_known_siblings_model_scaled() -> None:
    """The M3 Max publishes three models, in the same harness (Apple's model cards) as the A14,
    which publishes thirteen: it is the A14's device model with every time cost scaled by one
    factor, so each of its projections is the A14's times the same ratio, and the ratio
    follows its own rows. The Jetson Nano's two rows come from a Python harness no sibling
    fitted: a harness's fixed cost does not scale with the chip, so it keeps its own fit."""
    m3 = CAL.params[("apple-m3-max", "latency")]
    assert "apple-a14-bionic" in m3.scaled_from and m3.models == 3
    hw = segment_hardware("apple-m3-max", CAT)
    a14 = fit(
        segment_hardware("apple-a14-bionic", CAT), CAL.samples[("apple-a14-bionic", "latency")]
    )
    metric = "latency_ms_model_only@b1"
    ratios = []
    for mid in ("mobileone_s0_224", "fastvit_sa12_256", "depth_anything_small_518x392"):
        prof = from_facts(CAT.models[mid])
        assert prof is not None
        ratios.append(
            latency_ms(hw, prof, "fp16", m3, metric) / latency_ms(hw, prof, "fp16", a14, metric)
        )
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-9)
    own = [s.y_ms / latency_ms(hw, s.profile, "fp16", a14, metric_key(s.row))
           for s in CAL.samples[("apple-m3-max", "latency")]]  # fmt: skip
    assert min(own) <= ratios[0] <= max(own)  # the M3 runs the A14's kernels faster
    assert CAL.params[("jetson-nano", "latency")].scaled_from == ""
    assert CAL.params[("apple-a14-bionic", "latency")].scaled_from == ""  # enough of its own
