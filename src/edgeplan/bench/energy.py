"""Energy from real counters only: RAPL (powercap), hwmon power sensors (incl. Jetson INA3221
rails), NVML. When none is readable the report says so; a watt is never invented.

`root` points the sysfs readers at a fake tree in tests.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edgeplan.records.types import EnergyReport


@dataclass
class Counter:
    """A named energy source: `read_j` returns cumulative joules, or None if unreadable."""

    name: str
    read_j: Callable[[], float | None]


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _scaled(f: Path, scale: float, zero_is_none: bool = False) -> float | None:
    """A counter file's integer value times `scale` (None when unreadable)."""
    v = _int(f)
    if v is None or (zero_is_none and v == 0):
        return None
    return v * scale


def rapl_counters(root: Path = Path("/")) -> list[Counter]:
    """Top-level RAPL packages (intel-rapl:N), energy_uj in microjoules."""
    out = []
    for zone in sorted((root / "sys/class/powercap").glob("intel-rapl:[0-9]")):
        f = zone / "energy_uj"
        if _int(f) is None:
            continue  # present but unreadable (permissions): not a counter we can use
        name = (zone / "name").read_text().strip() if (zone / "name").exists() else zone.name
        out.append(Counter(f"rapl:{name}", partial(_scaled, f, 1e-6, zero_is_none=True)))
    return out


class _PowerIntegrator:
    """Integrates an instantaneous power reading (µW) into joules between reads."""

    def __init__(self, path: Path) -> None:
        self.path, self.joules, self.last = path, 0.0, time.perf_counter()

    def __call__(self) -> float | None:
        uw = _int(self.path)
        now = time.perf_counter()
        if uw is None:
            return None
        self.joules += uw / 1e6 * (now - self.last)
        self.last = now
        return self.joules


def hwmon_counters(root: Path = Path("/")) -> list[Counter]:
    """hwmon energy*_input (µJ) where present, else power*_input (µW) integrated."""
    out = []
    for hw in sorted((root / "sys/class/hwmon").glob("hwmon*")):
        label = (hw / "name").read_text().strip() if (hw / "name").exists() else hw.name
        for f in sorted(hw.glob("energy*_input")):
            if _int(f) is not None:
                out.append(Counter(f"hwmon:{label}:{f.name}", partial(_scaled, f, 1e-6)))
        if not any(c.name.startswith(f"hwmon:{label}:") for c in out):
            for f in sorted(hw.glob("power*_input")):
                if _int(f) is not None:
                    out.append(Counter(f"hwmon:{label}:{f.name}", _PowerIntegrator(f)))
    return out


def nvml_counters() -> list[Counter]:
    """NVML total energy (mJ) of GPU 0, when pynvml and a GPU are present."""
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
    except Exception:  # no library, no GPU, or no energy counter on this GPU
        return []
    return [Counter("nvml:gpu0", lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000)]


def find_counters(root: Path = Path("/")) -> list[Counter]:
    return rapl_counters(root) + hwmon_counters(root) + nvml_counters()


class EnergyMeter:
    """Reads all counters around a run; `report(frames)` gives mJ per frame and mean W."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.counters = find_counters(root)
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._start = {c.name: v for c in self.counters if (v := c.read_j()) is not None}

    def report(self, frames: int) -> EnergyReport:
        if not self.counters:
            return EnergyReport(
                available=False,
                reason="no readable energy counters on this host"
                " (no RAPL, hwmon power, Jetson rails or NVML)",
            )
        elapsed = time.perf_counter() - self._t0
        used = 0.0
        names = []
        for c in self.counters:
            end = c.read_j()
            if end is None or c.name not in self._start or end < self._start[c.name]:
                continue  # unreadable or wrapped: leave it out rather than guess
            used += end - self._start[c.name]
            names.append(c.name)
        if not names or elapsed <= 0 or frames <= 0:
            return EnergyReport(available=False, reason="counters present but gave no reading")
        return EnergyReport(
            available=True,
            counters=tuple(names),
            energy_mj_per_frame=used * 1000 / frames,
            power_w_mean=used / elapsed,
            reason="whole-host counters: include everything else running",
        )
