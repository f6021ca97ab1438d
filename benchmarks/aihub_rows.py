"""Catalogue rows from Qualcomm AI Hub Models' published per-device profiles (provenance, not run
by the tool or the tests).

Reads `qai_hub_models/models/<model>/perf.yaml` and `info.yaml` at a commit of a local clone of
https://github.com/quic/ai-hub-models and prints, as published_latency.csv rows, the on-device
inference time (AI Hub's profile job: the model alone on the device, batch 1) of every vision
network the catalogue counts (HUB_IDS: the ones torchvision, timm or ultralytics build by name,
checked against the checkpoint and resolution that info.yaml names) on the chipsets the
catalogue holds (DEVICES). Precision `float` runs as fp16 on the Hexagon NPU and `w8a8` as int8;
`w8a16` (int16 activations) has no catalogue precision and is left out. One runtime per figure:
the TFLite delegate where profiled, else the QNN context binary, else onnxruntime's QNN EP (the
three agree within a few percent, and the same figure three times would weigh a model thrice).
Profiles that did not run wholly on the NPU (layers fell back to the CPU or GPU) are left out:
they time a mix the device model does not describe.

One snapshot per chipset: AI Hub re-profiles every model on each release, with a new QAIRT, and
the same network's time moves between releases (on the QCS8450 proxy ResNet-50 took 3.05 ms in
the v0.42 model card and 3.73 ms at v0.46.1; on the QCS8275 SqueezeNet 1.1 took 2.08 and 5.92
ms). Rows from several releases on one chip make that drift look like the network's own cost.
So with `--write`, a (device, model, precision) this commit profiles takes this commit's
figure, and an earlier AI Hub row for it (a model card's table, a third party's AI Hub run) is
replaced, its figure kept in the new row's note; without it, rows for triples the catalogue
does not hold yet are printed.

    python benchmarks/aihub_rows.py ~/src/ai-hub-models --commit v0.46.1 --write
"""

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).parent.parent / "src/edgeplan/catalogue/data/published_latency.csv"
DEVICES = {
    "Samsung Galaxy S24": "qualcomm-snapdragon-8-gen3",
    "QCS8550 (Proxy)": "qualcomm-qcs8550",
    "QCS8450 (Proxy)": "qualcomm-qcs8450",
    "QCS8275 (Proxy)": "qualcomm-qcs8275",
    "Dragonwing RB3 Gen 2 Vision Kit": "qualcomm-qcs6490",
    "Dragonwing IQ-9075 EVK": "qualcomm-qcs9075",
}
PRECISIONS = {"float": "fp16", "w8a8": "int8"}
RUNTIMES = {"tflite": "tflite-qnn", "qnn_dlc": "qnn", "qnn_context_binary": "qnn",
            "onnx": "onnxruntime-qnn"}  # fmt: skip
# AI Hub model folder -> (catalogue model id, the checkpoint and input info.yaml must name)
HUB_IDS = {
    "beit": ("beit_base_224", "Imagenet", "224x224"),
    "convnext_base": ("convnext_base_224", "Imagenet", "224x224"),
    "convnext_tiny": ("convnext_tiny_224", "Imagenet", "224x224"),
    "densenet121": ("densenet121_224", "Imagenet", "224x224"),
    "dla102x": ("dla102x_224", "Imagenet", "224x224"),
    "efficientformer": ("efficientformer_l1_224", "efficientformer_l1_300d", "224x224"),
    "efficientnet_b0": ("efficientnet_b0_224", "Imagenet", "224x224"),
    "efficientnet_b4": ("efficientnet_b4_380", "Imagenet", "380x380"),
    "efficientnet_v2_s": ("efficientnet_v2_s_384", "Imagenet", "384x384"),
    "efficientvit_b2_cls": ("efficientvit_b2_224", "Imagenet", "224x224"),
    "efficientvit_l2_cls": ("efficientvit_l2_224", "Imagenet", "224x224"),
    "googlenet": ("inception_v1_224", "Imagenet", "224x224"),
    "inception_v3": ("inception_v3_224", "Imagenet", "224x224"),
    "levit": ("levit_128s_224", "LeViT-128S", "224x224"),
    "mnasnet05": ("mnasnet0_5_224", "Imagenet", "224x224"),
    "mobile_vit": ("mobilevit_s_224", "Imagenet", "224x224"),
    "mobilenet_v2": ("mobilenet_v2_1.0_224", "Imagenet", "224x224"),
    "mobilenet_v3_large": ("mobilenet_v3_large_224", "Imagenet", "224x224"),
    "mobilenet_v3_small": ("mobilenet_v3_small_224", "Imagenet", "224x224"),
    "regnet": ("regnetx_3.2gf_224", "Imagenet", "224x224"),
    # info.yaml gives the checkpoint file and its input as "1x3x224" (224x224 in model.py)
    "regnet_y_800mf": ("regnety_800mf_224", "regnet_y_800mf-1b27b58c.pth", "1x3x224"),
    "resnet101": ("resnet101_224", "Imagenet", "224x224"),
    "resnet18": ("resnet18_224", "Imagenet", "224x224"),
    "resnet50": ("resnet50_224", "Imagenet", "224x224"),
    "resnext101": ("resnext101_32x8d_224", "Imagenet", "224x224"),
    "resnext50": ("resnext50_32x4d_224", "Imagenet", "224x224"),
    "shufflenet_v2": ("shufflenet_v2_x0_5_224", "Imagenet", "224x224"),
    "squeezenet1_1": ("squeezenet1_1_224", "Imagenet", "224x224"),
    "vit": ("vit_base_224", "Imagenet", "224x224"),
    "wideresnet50": ("wide_resnet50_2_224", "Imagenet", "224x224"),
    "yolov5": ("yolov5m_640", "YoloV5-M", "640x640"),
    "yolov6": ("yolov6n_640", "YoloV6-N", "640x640"),
    "yolov8_det": ("yolov8n_640", "YOLOv8-N", "640x640"),
    "yolov10_det": ("yolov10n_640", "YOLOv10-N", "640x640"),
    "yolov11_det": ("yolo11n_640", "YOLO11-N", "640x640"),
}


COLUMNS = ["device_id", "config", "model_id", "framework", "precision", "batch", "metric",
           "value", "source", "note", "verified"]  # fmt: skip


def show(repo: Path, ref: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{ref}:{path}"], capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


def commit_of(repo: Path, ref: str) -> tuple[str, str]:
    """(full sha, commit date YYYY-MM-DD) of a ref."""
    done = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%H %cs", ref],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"cannot read {ref} in {repo}: {done.stderr.strip()}")
    sha, date = done.stdout.split()
    return sha, date


def figures(perf: dict[str, Any]) -> list[tuple[str, str, str, float, str]]:
    """(AI Hub device, precision, runtime, ms, qairt version) for every passed profile that ran
    wholly on the NPU, one runtime per (device, precision) by RUNTIMES order."""
    out = []
    for prec, block in (perf.get("precisions") or {}).items():
        if prec not in PRECISIONS:
            continue
        for comp in (block.get("components") or {}).values():
            for device, runs in (comp.get("performance_metrics") or {}).items():
                for rt in RUNTIMES:
                    r = (runs or {}).get(rt)
                    if not r or r.get("job_status") != "Passed":
                        continue
                    counts = r.get("layer_counts") or {}
                    if r.get("primary_compute_unit") != "NPU" or counts.get("npu") != counts.get(
                        "total"
                    ):
                        continue
                    ms = r.get("inference_time_milliseconds")
                    if ms:
                        qairt = str((r.get("tool_versions") or {}).get("qairt", "?"))
                        out.append((device, prec, rt, float(ms), qairt))
                        break
    return out


def snapshot_rows(repo: Path, sha: str, date: str) -> list[dict[str, str]]:
    """Catalogue rows for every figure the commit profiles on the catalogue's chipsets."""
    rows = []
    for folder, (mid, checkpoint, res) in HUB_IDS.items():
        info_text = show(repo, sha, f"qai_hub_models/models/{folder}/info.yaml")
        perf_text = show(repo, sha, f"qai_hub_models/models/{folder}/perf.yaml")
        if info_text is None or perf_text is None:
            print(f"# {folder}: no info.yaml or perf.yaml at {sha[:7]}", file=sys.stderr)
            continue
        details = (yaml.safe_load(info_text) or {}).get("technical_details") or {}
        got = (details.get("Model checkpoint"), details.get("Input resolution"))
        if got != (checkpoint, res):
            print(f"# {folder}: info.yaml names {got}, expected {(checkpoint, res)}: skipped",
                  file=sys.stderr)  # fmt: skip
            continue
        source = (
            f"https://github.com/quic/ai-hub-models/blob/{sha}/qai_hub_models/models/{folder}/"
            "perf.yaml"
        )
        for device, prec, rt, ms, qairt in figures(yaml.safe_load(perf_text) or {}):
            dev = DEVICES.get(device)
            if dev is None:
                continue
            config = (
                f"{device} via Qualcomm AI Hub; ai-hub-models @{sha[:7]} ({date}); "
                f"QAIRT {'.'.join(qairt.split('.')[:3])}"
            )
            note = (
                f"AI Hub model '{folder}' ({checkpoint}, {res}); precision '{prec}' "
                f"({'fp16 on the HTP' if prec == 'float' else 'int8 weights and activations'}); "
                f"runtime {rt}; profile job inference time, all layers on the NPU"
            )
            values = [dev, config, mid, RUNTIMES[rt], PRECISIONS[prec], "1",
                      "latency_ms_model_only", f"{ms:g}", source, note, "yes"]  # fmt: skip
            rows.append(dict(zip(COLUMNS, values, strict=True)))
    return rows


def _triple(r: dict[str, str]) -> tuple[str, str, str]:
    return r["device_id"], r["model_id"], r["precision"]


def merged(catalogue: list[dict[str, str]], snap: list[dict[str, str]]) -> list[dict[str, str]]:
    """The catalogue with the snapshot's rows in: the earlier AI Hub rows for a triple the
    snapshot profiles give way to one row in the first one's place (their figures and sources
    move into its note), the snapshot's own rows are refreshed, other rows are untouched."""
    by = {_triple(r): dict(r) for r in snap}
    sources = {r["source"] for r in snap}

    def earlier(r: dict[str, str]) -> bool:
        return (
            _triple(r) in by and "AI Hub" in r["config"] and r["metric"] == "latency_ms_model_only"
        )

    for r in catalogue:
        if not earlier(r):
            continue
        if r["source"] not in sources:
            by[_triple(r)]["note"] += (
                f"; supersedes {r['value']} ms ({r['source']}, an earlier AI Hub run)"
            )
        else:  # this snapshot's row from a previous run: the figures it superseded stay noted
            _, sep, kept = r["note"].partition("; supersedes ")
            by[_triple(r)]["note"] += sep + kept
    out, placed = [], set()
    for r in catalogue:
        if not earlier(r):
            out.append(r)
        elif _triple(r) not in placed:
            out.append(by[_triple(r)])
            placed.add(_triple(r))
    return out + [r for t, r in by.items() if t not in placed]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path, help="a clone of quic/ai-hub-models")
    ap.add_argument("--commit", default="HEAD", help="the ref to read (default HEAD)")
    ap.add_argument("--write", action="store_true", help="rewrite the catalogue (see above)")
    args = ap.parse_args()
    sha, date = commit_of(args.repo, args.commit)
    lines = CATALOGUE.read_text().splitlines(keepends=True)
    catalogue = list(csv.DictReader(lines))  # one row per line: no field holds a newline
    snap = snapshot_rows(args.repo, sha, date)
    if args.write:
        rows = merged(catalogue, snap)
        # rows left as they were keep their text (their quoting) so the diff shows the change
        text = {
            json.dumps(r, sort_keys=True): line
            for r, line in zip(catalogue, lines[1:], strict=True)
        }
        with CATALOGUE.open("w", newline="") as f:
            f.write(lines[0])
            for r in rows:
                line = text.get(json.dumps(r, sort_keys=True))
                if line is None:
                    buf = io.StringIO()
                    csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n").writerow(r)
                    line = buf.getvalue()
                f.write(line)
        print(f"{len(catalogue)} -> {len(rows)} rows", file=sys.stderr)
        return 0
    have = {_triple(r) for r in catalogue if "AI Hub" in r["config"]}
    out = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    out.writerows(r for r in snap if _triple(r) not in have)
    return 0


if __name__ == "__main__":
    sys.exit(main())
