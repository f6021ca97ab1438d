from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeplan.bench.energy import EnergyMeter
from edgeplan.bench.hostsensors import read_cpu_mhz, read_temperature_c
from edgeplan.bench.stats import latency_stats, slope_per_min, windows


@given(st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=1, max_size=500))
def test_percentiles_are_ordered(samples: list[float]) -> None:
    s = latency_stats(samples)
    assert s.latency_ms_min <= s.latency_ms_p50 <= s.latency_ms_p90 <= s.latency_ms_p95
    assert s.latency_ms_p95 <= s.latency_ms_p99 <= s.latency_ms_max
    assert s.samples == len(samples)


def test_empty_sample_is_an_error() -> None:
    with pytest.raises(ValueError):
        latency_stats([])


def test_windows_and_slope_detect_drift() -> None:
    t = np.linspace(0, 60, 600, endpoint=False)
    lat = 5 + t / 60 * 2  # +2 ms over one minute
    ws = windows(t, lat, 6.0)
    assert len(ws) == 10 and sum(w.samples for w in ws) == 600
    assert slope_per_min(ws) == pytest.approx(2.0, rel=0.05)
    assert slope_per_min(windows(t, np.full_like(t, 5.0), 6.0)) == pytest.approx(0.0, abs=1e-9)


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_sensors_read_a_fake_sysfs_tree(tmp_path: Path) -> None:
    _write(tmp_path, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "2000000\n")
    _write(tmp_path, "sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "3000000\n")
    _write(tmp_path, "sys/class/thermal/thermal_zone0/temp", "61500\n")
    _write(tmp_path, "sys/class/hwmon/hwmon0/temp1_input", "70250\n")
    assert read_cpu_mhz(tmp_path) == (2500.0, "cpufreq")
    assert read_temperature_c(tmp_path) == pytest.approx(70.25)


def test_sensors_absent_means_none(tmp_path: Path) -> None:
    assert read_cpu_mhz(tmp_path) == (None, None)
    assert read_temperature_c(tmp_path) is None


def test_energy_absent_is_reported_not_invented(tmp_path: Path) -> None:
    meter = EnergyMeter(tmp_path)
    meter.start()
    rep = meter.report(100)
    assert not rep.available and rep.energy_mj_per_frame is None and rep.power_w_mean is None
    assert "no readable energy counters" in rep.reason


def test_energy_from_a_fake_rapl_counter(tmp_path: Path) -> None:
    counter = _write(tmp_path, "sys/class/powercap/intel-rapl:0/energy_uj", "1000000\n")
    _write(tmp_path, "sys/class/powercap/intel-rapl:0/name", "package-0\n")
    meter = EnergyMeter(tmp_path)
    meter.start()
    counter.write_text("3000000\n")  # 2 J used
    rep = meter.report(frames=100)
    assert rep.available and rep.counters == ("rapl:package-0",)
    assert rep.energy_mj_per_frame == pytest.approx(20.0)


def test_energy_counter_wrap_is_left_out(tmp_path: Path) -> None:
    counter = _write(tmp_path, "sys/class/powercap/intel-rapl:0/energy_uj", "5000000\n")
    meter = EnergyMeter(tmp_path)
    meter.start()
    counter.write_text("10\n")
    assert not meter.report(frames=10).available


def test_energy_from_a_hwmon_power_sensor(tmp_path: Path) -> None:
    """Jetson-style INA3221 rail: power in µW, integrated over time."""
    _write(tmp_path, "sys/class/hwmon/hwmon3/name", "ina3221\n")
    _write(tmp_path, "sys/class/hwmon/hwmon3/power1_input", "5000000\n")  # 5 W
    meter = EnergyMeter(tmp_path)
    meter.start()
    import time

    time.sleep(0.2)
    rep = meter.report(frames=10)
    assert rep.available and rep.counters == ("hwmon:ina3221:power1_input",)
    assert rep.power_w_mean == pytest.approx(5.0, rel=0.3)
