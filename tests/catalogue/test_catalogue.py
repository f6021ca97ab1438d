from pathlib import Path

import pytest

from edgeplan.catalogue import load_catalogue
from edgeplan.errors import ConfigError


def test_builtin_rows_carry_sources() -> None:
    cat = load_catalogue()
    assert {"jetson-orin-nano-super", "coral-usb", "hailo-8", "rpi5", "intel-n100"} <= set(
        cat.hardware
    )
    assert all(h.source for h in cat.hardware.values() if h.kind != "cpu" or h.price_usd)
    assert cat.models["mobilenet_v2_1.0_224"].gmacs == pytest.approx(0.301)
    assert len(cat.published) > 200 and all(p.source for p in cat.published)
    assert cat.price("aws-ec2-g4dn.xlarge-hour") == pytest.approx(0.526)
    assert cat.hardware["intel-ncs2"].end_of_support  # flagged, so it is never recommended silently


def test_user_file_overrides_and_adds(tmp_path: Path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text(
        "id,name,kind,int8_tops,price_usd,power_max_w\n"
        "jetson-orin-nano-super,,,,199,\n"
        "my-npu,My NPU,npu,10,99,4\n"
    )
    cat = load_catalogue(f)
    assert cat.hardware["jetson-orin-nano-super"].price_usd == 199
    assert cat.hardware["jetson-orin-nano-super"].int8_tops == 67  # untouched fields kept
    assert cat.hardware["my-npu"].int8_tops == 10
    assert any("overrides" in o for o in cat.origin)


def test_bad_user_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("name,price\nx,1\n")
    with pytest.raises(ConfigError, match="`id` column"):
        load_catalogue(f)


def test_layer_counts_are_counts_or_task_estimates(tmp_path: Path) -> None:
    """Counted models keep their count; the others get their task's median, marked as an
    estimate; a count that is not a positive integer names the model."""
    cat = load_catalogue()
    assert cat.models["efficientdet_lite0_320"].layers == 182  # effdet, heads run per level
    yolov7 = cat.models["yolov7_640"]
    counted = sorted(m.layers for m in cat.models.values() if m.layers and m.task == yolov7.task)
    assert yolov7.layers is None and yolov7.layers_estimate == counted[(len(counted) - 1) // 2]
    f = tmp_path / "mine.csv"
    f.write_text("id,task,params_m,gmacs,layers\nmy-net,detection,3,4,12.5\n")
    with pytest.raises(ConfigError, match=r"my-net.*layers"):
        load_catalogue(f)
    f.write_text("id,task,params_m,gmacs,layers\nmy-net,detection,3,4,40\n")
    assert load_catalogue(f).models["my-net"].layers == 40


def test_a_stated_int8_file_size_bounds_the_models_parameters() -> None:
    """An int8 file holds at least one byte per parameter, and a compiled file (Edge TPU
    instructions, metadata) not twice that. A row whose stated size breaks this names another
    model than its id: Coral's 12.0 MB 'Inception' was once catalogued as v3 (23.9 M
    parameters), its 6.6 MB SSD MobileNet v2 as the float 16.8 M variant."""
    import csv
    import io
    import re

    from edgeplan.catalogue.load import _builtin

    cat = load_catalogue()
    checked = 0
    for row in csv.DictReader(io.StringIO(_builtin("published_latency.csv"))):
        size = re.search(r"size (\d+(?:\.\d+)?) MB", row["note"])
        model = cat.models.get(row["model_id"])
        if not size or row["precision"] != "int8" or model is None or not model.params_m:
            continue
        ratio = float(size.group(1)) / model.params_m
        assert 0.95 <= ratio <= 2.0, (row["model_id"], size.group(1), model.params_m)
        checked += 1
    assert checked >= 10


def test_one_ai_hub_figure_per_model_and_precision_on_a_chip() -> None:
    """AI Hub re-profiles every model on each release and a network's time moves between them
    (the QCS8450 proxy's ResNet-50: 3.05 ms in the v0.42 card, 3.73 ms at v0.46.1): one chip's
    rows for a model and precision come from one run, so that drift is not read as the
    network's cost or weighed twice (benchmarks/aihub_rows.py --write)."""
    import csv
    import io
    from collections import Counter

    from edgeplan.catalogue.load import _builtin

    rows = [
        r
        for r in csv.DictReader(io.StringIO(_builtin("published_latency.csv")))
        if "AI Hub" in r["config"] and r["metric"] == "latency_ms_model_only"
    ]
    seen = Counter((r["device_id"], r["model_id"], r["precision"]) for r in rows)
    assert len(rows) >= 250
    assert [t for t, n in seen.items() if n > 1] == []
