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
