"""Catalogue rows from the Hailo Model Zoo's published throughput tables (provenance, not run
by the tool or the tests).

Reads `docs/public_models/HAILO8{,L}/*_{classification,object_detection}.rst` at a tag of a
local clone of https://github.com/hailo-ai/hailo_model_zoo and prints, as published_latency.csv
rows, the batch-1 and batch-8 FPS of every network whose architecture the catalogue counts
(ZOO_IDS: the ones timm, torchvision, effdet, ultralytics or the TF OD API builders in
layer_counts.py build by name). Networks the zoo changed (the `_bn` ViTs, NMS-on-chip and
post-processing variants) or that no library builds (CAS-ViT, HarDNet, NanoDet, DAMO-YOLO,
CenterNet, YOLOv3/v4, ResNeXt-26) are left out: their layer and activation counts are unknown.
Rows already in the catalogue are checked against the table instead of printed again.

    python benchmarks/hailo_zoo_rows.py ~/src/hailo_model_zoo --tag v2.18 >> new_rows.csv
"""

import argparse
import csv
import re
import subprocess
import sys
from pathlib import Path

CATALOGUE = Path(__file__).parent.parent / "src/edgeplan/catalogue/data/published_latency.csv"
DEVICES = {"HAILO8": "hailo-8", "HAILO8L": "hailo-8l"}
TASKS = ("classification", "object_detection")
# zoo network name -> catalogue model id
ZOO_IDS = {
    "davit_tiny": "davit_tiny_224", "deit_base": "deit_base_224",
    "deit_small": "deit_small_224", "deit_tiny": "deit_tiny_224",
    "efficientformer_l1": "efficientformer_l1_224", "efficientnet_l": "efficientnet_l_300",
    "efficientnet_lite0": "efficientnet_lite0_224", "efficientnet_lite1": "efficientnet_lite1_240",
    "efficientnet_lite2": "efficientnet_lite2_260", "efficientnet_lite3": "efficientnet_lite3_280",
    "efficientnet_lite4": "efficientnet_lite4_300", "efficientnet_m": "efficientnet_m_240",
    "efficientnet_s": "efficientnet_s_224", "fastvit_sa12": "fastvit_sa12_224",
    "inception_v1": "inception_v1_224", "levit128": "levit_128_224", "levit192": "levit_192_224",
    "levit256": "levit_256_224", "levit384": "levit_384_224",
    "mobilenet_v1": "mobilenet_v1_1.0_224", "mobilenet_v2_1.0": "mobilenet_v2_1.0_224",
    "mobilenet_v2_1.4": "mobilenet_v2_1.4_224", "mobilenet_v3": "mobilenet_v3_hailo_224",
    "regnetx_1.6gf": "regnetx_1.6gf_224", "regnetx_800mf": "regnetx_800mf_224",
    "repghost_1_0x": "repghost_1_0x_224", "repghost_2_0x": "repghost_2_0x_224",
    "repvgg_a1": "repvgg_a1_224", "repvgg_a2": "repvgg_a2_224", "resmlp12_relu": "resmlp12_224",
    "resnet_v1_18": "resnet18_224", "resnet_v1_34": "resnet34_224",
    "resnet_v1_50": "resnet50_v1_224", "resnext50_32x4d": "resnext50_32x4d_224",
    "squeezenet_v1.1": "squeezenet1_1_224", "swin_small": "swin_small_224",
    "swin_tiny": "swin_tiny_224", "vit_base": "vit_base_224", "vit_small": "vit_small_224",
    "vit_tiny": "vit_tiny_224",
    "efficientdet_lite0": "efficientdet_lite0_320", "efficientdet_lite1": "efficientdet_lite1_384",
    "efficientdet_lite2": "efficientdet_lite2_448", "ssd_mobilenet_v1": "ssd_mobilenet_v1_300",
    "ssd_mobilenet_v2": "ssdlite_mobilenet_v2_300", "yolo26n": "yolo26n_640",
    "yolo26s": "yolo26s_640", "yolo26m": "yolo26m_640", "yolov10n": "yolov10n_640",
    "yolov10s": "yolov10s_640", "yolov10b": "yolov10b_640", "yolov10x": "yolov10x_640",
    "yolov11n": "yolo11n_640", "yolov11s": "yolo11s_640", "yolov11m": "yolo11m_640",
    "yolov11l": "yolo11l_640", "yolov11x": "yolo11x_640", "yolov5s": "yolov5s_640",
    "yolov6n": "yolov6n_640", "yolov7": "yolov7_640", "yolov8n": "yolov8n_640",
    "yolov8s": "yolov8s_640", "yolov8m": "yolov8m_640", "yolov8l": "yolov8l_640",
    "yolov8x": "yolov8x_640", "yolov9c": "yolov9c_640", "yolox_s_leaky": "yolox_s_leaky_640",
}  # fmt: skip


def table(repo: Path, tag: str, chip: str, task: str) -> list[list[str]]:
    """The rows of a zoo list-table: network, float acc, hardware acc, FPS b1, FPS b8, then
    resolution, params and OPS (link cells dropped)."""
    path = f"{tag}:docs/public_models/{chip}/{chip}_{task}.rst"
    done = subprocess.run(["git", "-C", str(repo), "show", path], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cannot read {path} from {repo}: {done.stderr.strip()}")
    text = done.stdout
    rows: list[list[str]] = []
    for line in text.splitlines():
        if m := re.match(r"^   \* - (.*)$", line):
            rows.append([m.group(1).strip()])
        elif (m := re.match(r"^     - (.*)$", line)) and rows:
            cell = m.group(1).strip()
            if not cell.startswith(("|", "`")):
                rows[-1].append(cell)
    return [r for r in rows if len(r) == 8]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path, help="a clone of hailo-ai/hailo_model_zoo")
    ap.add_argument("--tag", default="v2.18")
    args = ap.parse_args()
    config = f"host=not stated; zoo={args.tag} (DFC {args.tag}.0)"
    with CATALOGUE.open() as f:
        have = {
            (r["device_id"], r["model_id"], r["batch"]): r["value"]
            for r in csv.DictReader(f)
            if r["config"] == config
        }
    out = csv.writer(sys.stdout, lineterminator="\n")
    mismatched = 0
    for chip, device in DEVICES.items():
        for task in TASKS:
            for name, fl, hw, fps1, fps8, res, _params, _ops in table(
                args.repo, args.tag, chip, task
            ):
                mid = ZOO_IDS.get(name.rstrip("⭐").strip())
                if mid is None:
                    continue
                note = (
                    f"Hailo zoo model '{name.rstrip('⭐').strip()}', input {res}; device "
                    "hardware throughput (host pre/post excluded); bs=1 FPS is not 1/latency on "
                    f"this pipelined NPU; on-device INT8 acc/mAP {hw} (float {fl})"
                )
                source = (
                    f"https://github.com/hailo-ai/hailo_model_zoo/tree/{args.tag}/docs/"
                    f"public_models ({chip}_{task}.rst)"
                )
                for batch, fps in (("1", fps1), ("8", fps8)):
                    if not fps:
                        continue
                    if (device, mid, batch) in have:
                        if float(have[device, mid, batch]) != float(fps):
                            mismatched += 1
                            print(
                                f"# {device} {mid} b{batch}: catalogue "
                                f"{have[device, mid, batch]}, zoo {fps}",
                                file=sys.stderr,
                            )
                        continue
                    out.writerow([device, config, mid, "hailort", "int8", batch,
                                  "throughput_fps", fps, source, note, "yes"])  # fmt: skip
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
