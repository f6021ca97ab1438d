"""Which int8 calibration holds accuracy, at what memory: each method builds its variant in a
child process (peak RSS is the kernel's high-water mark for that child) from the same
calibration images, and every variant is evaluated on the same evaluation split against fp32.

    python benchmarks/calibration.py --json out/calibration.json
    python benchmarks/calibration.py --models fastestdet --methods nncf,streamed-percentile

Methods:
- ort-percentile: onnxruntime quantize_static as documented, all images at once (keeps every
  activation of every image: the unbounded baseline; skipped with --bounded-only);
- ort-strided-minmax: onnxruntime's own strided mode (CalibStridedMinMax=1, MinMax);
- streamed-minmax / streamed-percentile / streamed-entropy: edgeplan's streamed calibration;
- nncf: NNCF post-training quantisation to OpenVINO IR (run on openvino).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TESTDATA, print_table, write_json

METHODS = (
    "ort-percentile",
    "ort-strided-minmax",
    "streamed-minmax",
    "streamed-percentile",
    "streamed-entropy",
    "nncf",
)


def models(work: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (model, labelled data). PP-OCRv4 det on labels edgeplan renders (demo data)."""
    out = {}
    fd = TESTDATA / "models/fastestdet/FastestDet.onnx"
    if fd.is_file():
        out["fastestdet"] = (fd, TESTDATA / "datasets/coco128/val2017_yolo")
    try:
        from edgeplan.demo.data import render_labels
        from edgeplan.pipeline.refs import package_file

        ocr = package_file("pkg:rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx")
        out["ppocrv4-det"] = (ocr, render_labels(work / "labels", n=80))
    except Exception as exc:  # the demo packages are optional here
        print(f"PP-OCRv4 det skipped: {exc}")
    return out


def child(method: str, model: Path, data: Path, out: Path) -> None:
    """Build one variant (runs in its own process so its peak RSS is its own)."""
    from edgeplan.backends.predict import load_model
    from edgeplan.data.readers import open_dataset
    from edgeplan.models.files import open_model
    from edgeplan.sizing.calibration import calibration_set
    from edgeplan.sizing.passes import Int8Nncf, Int8Static, PassInputs
    from edgeplan.sizing.variants import build

    lm = load_model(model)
    cal = calibration_set(
        [s.path for s in open_dataset(data)], lm.card.input, lm.session.input_names[0]
    )
    assert cal is not None
    card = lm.card
    del lm
    t0 = time.perf_counter()
    if method.startswith("streamed-"):
        kind = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}
        step = Int8Static(method=kind[method.removeprefix("streamed-")])
        path = build(open_model(model), card, [step], out, PassInputs(cal)).path
    elif method == "nncf":
        path = build(open_model(model), card, [Int8Nncf()], out, PassInputs(cal)).path
    else:
        path = ort_reference(method, model, cal, card, out)
    result = {"path": str(path), "build_s": time.perf_counter() - t0}
    (out / "result.json").write_text(json.dumps(result))


def ort_reference(method: str, model: Path, cal, card, out: Path) -> Path:  # type: ignore[no-untyped-def]
    """onnxruntime's own calibration, as its documentation shows it (same preparation)."""
    import onnx
    import yaml
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgeplan.sizing.passes import pin_input

    m = onnx.load(str(model))
    if next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) < 13:
        m = onnx.version_converter.convert_version(m, 13)
    pin_input(m, card.input)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(out / "src.onnx"))
    quant_pre_process(str(out / "src.onnx"), str(out / "pre.onnx"), skip_symbolic_shape=True)
    samples = list(cal)  # what onnxruntime's examples do: a reader over the whole set

    class Reader:
        def __init__(self) -> None:
            self.set_range(0, len(samples))

        def __len__(self) -> int:
            return len(samples)

        def set_range(self, start_index: int, end_index: int) -> None:
            self.it = iter(samples[start_index:end_index])

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.it, None)

    strided = method == "ort-strided-minmax"
    quantize_static(
        str(out / "pre.onnx"),
        str(out / "model.onnx"),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax if strided else CalibrationMethod.Percentile,
        extra_options={"CalibStridedMinMax": 1} if strided else {},
    )
    (out / "model.card.yaml").write_text(yaml.safe_dump(card.model_dump(mode="json")))
    return out / "model.onnx"


def all_at_once_gib(model: Path, data: Path) -> float:
    """What onnxruntime's all-at-once calibration holds: every calibrated tensor of every
    calibration image (fp32), from shape inference at the deployment size."""
    import onnx

    from edgeplan.backends.predict import load_model
    from edgeplan.sizing import ort_calibrate as oc
    from edgeplan.sizing.calibration import CALIBRATION_IMAGES
    from edgeplan.sizing.passes import pin_input

    card = load_model(model).card
    m = onnx.load(str(model))
    pin_input(m, card.input)
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(m, str(Path(tmp) / "m.onnx"))
        names = oc.tensors_to_calibrate(Path(tmp) / "m.onnx")
        inferred = onnx.shape_inference.infer_shapes(m)
    return sum(oc._sizes(inferred, names).values()) * CALIBRATION_IMAGES / 2**30


def run_child(method: str, model: Path, data: Path, work: Path) -> dict:
    out = work / method
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", method, str(model), str(data), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read() if proc.stderr else ""
    res = {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_s": time.perf_counter() - t0}
    if os.waitstatus_to_exitcode(status) != 0 or not (out / "result.json").is_file():
        res["error"] = (err.strip().splitlines() or ["failed"])[-1][:160]
        return res
    return {**res, **json.loads((out / "result.json").read_text())}


def accuracy(path: Path, data: Path, backend: str, card: Path | None, n_eval: int) -> dict:
    from edgeplan.data.evaluate import EvalConfig, evaluate

    r = evaluate(
        EvalConfig(model=path, data=data, backend=backend, card=card, limit=n_eval, n_boot=200)
    )
    return {"metric": r.metric, "value": r.value, "ci95": (r.ci95_low, r.ci95_high)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--models", default="fastestdet,ppocrv4-det")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--bounded-only", action="store_true", help="skip ort-percentile")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.child:
        method, model, data, out = args.child
        child(method, Path(model), Path(data), Path(out))
        return
    from edgeplan.data.readers import open_dataset
    from edgeplan.sizing.calibration import eval_limit

    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeplan-calib-") as tmp:
        work = Path(tmp)
        avail = models(work)
        for name in args.models.split(","):
            if name not in avail:
                print(f"{name}: not available here, skipped")
                continue
            model, data = avail[name]
            n_eval = eval_limit(len(open_dataset(data)), quick=False)
            base = accuracy(model, data, "onnxruntime", None, n_eval)
            rows.append({"model": name, "method": "fp32 (onnxruntime)", **_row(base, base)})
            for method in args.methods.split(","):
                if method == "ort-percentile":
                    need = all_at_once_gib(model, data)
                    free = psutil.virtual_memory().available / 2**30
                    if args.bounded_only or need > 0.5 * free:
                        rows.append(
                            {
                                "model": name,
                                "method": method,
                                "error": f"skipped: holds ~{need:.1f} GiB of activations "
                                f"({free:.0f} GiB free)",
                            }
                        )
                        continue
                built = run_child(method, model, data, work / name)
                row = {"model": name, "method": method, "peak_rss_mib": built["peak_rss_mib"]}
                if "error" in built:
                    rows.append({**row, "error": built["error"]})
                    continue
                path = Path(built["path"])
                backend = "openvino" if path.suffix == ".xml" else "onnxruntime"
                acc = accuracy(path, data, backend, path.parent / "model.card.yaml", n_eval)
                rows.append({**row, "build_s": round(built["build_s"], 1), **_row(acc, base)})
    keys = ("model", "method", "peak_rss_mib", "build_s", "accuracy", "ci95", "delta_vs_fp32")
    table = [{k: r.get(k, "") for k in keys} | {"note": r.get("error", "")} for r in rows]
    print_table("int8 calibration: accuracy on the evaluation split, peak RSS of the build", table)
    write_json(args.json, rows)


def _row(acc: dict, base: dict) -> dict:
    return {
        "metric": acc["metric"],
        "accuracy": round(acc["value"], 4),
        "ci95": f"{acc['ci95'][0]:.3f}-{acc['ci95'][1]:.3f}",
        "delta_vs_fp32": round(acc["value"] - base["value"], 4),
    }


if __name__ == "__main__":
    main()
