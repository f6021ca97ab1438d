"""Child process for cold-start measurement; prints one JSON line. Not for direct use."""

import json
import resource
import sys
import time


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _gpu_memory_mib() -> float | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
    except Exception:  # no NVML, no GPU: absent, never invented
        return None


def main(payload: str) -> dict:
    args = json.loads(payload)
    import numpy as np

    from edgeplan.backends.base import BackendOptions
    from edgeplan.models.files import open_model

    t0 = time.perf_counter()
    from edgeplan.backends.registry import get_backend

    backend = get_backend(args["backend"])
    backend.available()
    import_ms = (time.perf_counter() - t0) * 1000
    model = open_model(args["model"])
    options = BackendOptions(**args["options"])
    rss_before = _rss_mib()
    t0 = time.perf_counter()
    session = backend.load(model, options)
    load_ms = (time.perf_counter() - t0) * 1000
    rss_after = _rss_mib()
    rng = np.random.default_rng(0)
    inputs = {}
    for name in session.input_names:
        shape = [
            d if d > 0 else (1 if i == 0 else 320) for i, d in enumerate(session.input_shapes[name])
        ]
        dtype = np.dtype(session.input_dtypes[name])
        if dtype.kind == "f":
            inputs[name] = rng.random(shape, dtype=np.float32).astype(dtype)
        else:
            inputs[name] = rng.integers(0, 255, shape).astype(dtype)
    t0 = time.perf_counter()
    session.run(inputs)
    first_ms = (time.perf_counter() - t0) * 1000
    for _ in range(args["warm_runs"]):
        session.run(inputs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "import_ms": import_ms,
        "load_ms": load_ms,
        "first_inference_ms": first_ms,
        "rss_before_load_mib": rss_before,
        "rss_after_load_mib": rss_after,
        "model_rss_delta_mib": rss_after - rss_before,
        "peak_rss_mib": peak,
        "gpu_memory_mib": _gpu_memory_mib(),
    }


if __name__ == "__main__":
    try:
        result = main(sys.argv[1])
    except Exception as exc:  # report any failure as data for the parent
        result = {"error": str(exc), "error_type": type(exc).__name__}
    print(json.dumps(result))
