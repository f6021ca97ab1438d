"""CPU clock and temperature readings, where the host exposes them (sysfs / procfs).

`root` lets tests point the readers at a fake sysfs tree; a reading that is absent is None,
never invented.
"""

import threading
import time
from pathlib import Path


def read_cpu_mhz(root: Path = Path("/")) -> tuple[float | None, str | None]:
    """Mean current clock over CPUs: cpufreq first, /proc/cpuinfo 'cpu MHz' second."""
    freqs = []
    for f in sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq")):
        try:
            freqs.append(int(f.read_text()) / 1000.0)
        except (OSError, ValueError):
            continue
    if freqs:
        return sum(freqs) / len(freqs), "cpufreq"
    try:
        mhz = [
            float(line.split(":")[1])
            for line in (root / "proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
    except OSError:
        mhz = []
    return (sum(mhz) / len(mhz), "/proc/cpuinfo (may be static on VMs)") if mhz else (None, None)


def read_temperature_c(root: Path = Path("/")) -> float | None:
    """Hottest thermal zone or hwmon temp input, in degrees C."""
    temps = []
    paths = list((root / "sys/class/thermal").glob("thermal_zone*/temp"))
    paths += list((root / "sys/class/hwmon").glob("hwmon*/temp*_input"))
    for f in paths:
        try:
            temps.append(int(f.read_text()) / 1000.0)
        except (OSError, ValueError):
            continue
    return max(temps) if temps else None


class SensorSampler:
    """Samples clock and temperature every `period_s` on a background thread."""

    def __init__(self, period_s: float = 1.0, root: Path = Path("/")) -> None:
        self.period_s, self.root = period_s, root
        self.samples: list[tuple[float, float | None, float | None]] = []
        self.clock_source: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = time.perf_counter()

    def _loop(self) -> None:
        while not self._stop.is_set():
            mhz, src = read_cpu_mhz(self.root)
            self.clock_source = self.clock_source or src
            t = time.perf_counter() - self._t0
            self.samples.append((t, mhz, read_temperature_c(self.root)))
            self._stop.wait(self.period_s)

    def __enter__(self) -> "SensorSampler":
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
