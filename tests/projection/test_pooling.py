"""Hierarchical pooling (a device borrows its family's overheads, never the left-out model),
latency at batch N, and saturated throughput."""

from dataclasses import replace

import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.projection.calibrate import _Pooled, calibrate, segment_hardware
from edgeplan.projection.device import frames_per_call, latency_ms, saturated
from edgeplan.projection.pooling import centre_for
from edgeplan.projection.profile import from_facts

CAT = load_catalogue()
CAL = calibrate(CAT, validate=False)
AGX = ("jetson-agx-orin-64gb", "latency")
NX = ("jetson-orin-nx-16gb", "latency")


def test_a_device_borrows_a_metric_it_has_no_rows_for_from_its_family() -> None:
    """The AGX Orin has no Ultralytics (model-only) rows; its siblings do. The metric's
    overhead comes from them, and the parameters say where it came from."""
    own = {s.row.metric for s in CAL.samples[AGX]}
    assert "latency_ms_model_only" not in own
    p = CAL.params[AGX]
    assert "latency_ms_model_only@b1" in p.borrowed
    assert "latency_ms_model_only@b1" in p.overhead_ms
    assert any("borrowed from its family" in n and "jetson-orin-nx-16gb" in n for n in p.notes)


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
    per_call = p.c_ms_per_mb * prof.weight_bytes("int8") / 1e6 + p.e_ms_per_layer * prof.layers
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
    heavier = replace(prof, layers=(prof.layers or 0) * 4, params_m=prof.params_m * 4)
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
