"""Data the project makes for the demo, deterministically (seeded):

- `labels/`: rendered shipping-label text on real photographs (scikit-image's sample images) with
  the text boxes known exactly, in YOLO format — real accuracy for a text detector;
- `frames/`: scikit-image's photographs plus composites with the astronaut's face pasted at other
  scales and places — unlabelled, for agreement with a reference face detector.
"""

import os
from pathlib import Path

import cv2
import numpy as np

WORDS = ["PALLET", "LOT", "DOCK", "BAY", "SKU", "BATCH", "ZONE", "GATE", "ORDER", "CRATE"]
FONTS = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX]
BACKGROUNDS = [
    "coffee.png",
    "rocket.jpg",
    "chelsea.png",
    "camera.png",
    "horse.png",
    "motorcycle_left.png",
    "astronaut.png",
    "retina.jpg",
]
FACE_BOX = (172, 68, 279, 175)  # the astronaut's face in astronaut.png, pixels (x1, y1, x2, y2)


def skimage_dir() -> Path:
    import skimage

    return Path(os.path.dirname(skimage.__file__)) / "data"


def _read(name: str) -> np.ndarray:
    img = cv2.imread(str(skimage_dir() / name), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(name)
    return img


def render_labels(
    out: Path, n: int = 40, seed: int = 0, size: tuple[int, int] = (960, 540)
) -> Path:
    """Frames with 1-4 printed labels each; YOLO boxes are the rendered text extents."""
    if (out / "classes.yaml").exists() and len(list((out / "images").glob("*.png"))) == n:
        return out
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    w, h = size
    for i in range(n):
        bg = cv2.resize(_read(BACKGROUNDS[i % len(BACKGROUNDS)]), (w, h))
        rows = []
        taken: list[tuple[int, int, int, int]] = []
        for _ in range(int(rng.integers(1, 5))):
            text = f"{rng.choice(WORDS)} {rng.integers(100, 99999)}-{chr(65 + rng.integers(0, 26))}"
            font = FONTS[int(rng.integers(0, len(FONTS)))]
            scale = float(rng.uniform(0.8, 1.8))
            thick = max(1, int(scale * 2))
            (tw, th), base = cv2.getTextSize(text, font, scale, thick)
            pad = int(th * 0.6)
            x = int(rng.integers(pad, max(pad + 1, w - tw - pad)))
            y = int(rng.integers(th + pad, max(th + pad + 1, h - base - pad)))
            box = (x - pad, y - th - pad, x + tw + pad, y + base + pad)
            if any(
                not (box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3])
                for b in taken
            ):
                continue
            taken.append(box)
            cv2.rectangle(bg, box[:2], box[2:], (245, 245, 240), -1)  # the label's paper
            cv2.putText(bg, text, (x, y), font, scale, (20, 20, 20), thick, cv2.LINE_AA)
            tx1, ty1, tx2, ty2 = x, y - th, x + tw, y + base  # the ink, the ground truth
            rows.append(
                f"0 {(tx1 + tx2) / 2 / w:.6f} {(ty1 + ty2) / 2 / h:.6f} "
                f"{(tx2 - tx1) / w:.6f} {(ty2 - ty1) / h:.6f}"
            )
        noise = rng.normal(0, 4, bg.shape)
        bg = np.clip(bg.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        cv2.imwrite(str(out / "images" / f"{i:04d}.png"), bg)
        (out / "labels" / f"{i:04d}.txt").write_text("\n".join(rows) + "\n")
    (out / "classes.yaml").write_text("names:\n  0: text\n")
    return out


def face_frames(out: Path, n: int = 24, seed: int = 1, size: tuple[int, int] = (960, 540)) -> Path:
    """Photographs, some with the astronaut's face pasted in at another scale and place."""
    if len(list(out.glob("*.png"))) == n:
        return out
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    astro = _read("astronaut.png")
    x1, y1, x2, y2 = FACE_BOX
    face = astro[max(0, y1 - 40) : y2 + 60, max(0, x1 - 40) : x2 + 40]
    w, h = size
    for i in range(n):
        bg = cv2.resize(_read(BACKGROUNDS[i % len(BACKGROUNDS)]), (w, h))
        if i % 3 != 2:  # two frames in three have a face
            s = float(rng.uniform(0.6, 2.2))
            f = cv2.resize(face, None, fx=s, fy=s)
            fh, fw = f.shape[:2]
            px, py = int(rng.integers(0, w - fw)), int(rng.integers(0, h - fh))
            bg[py : py + fh, px : px + fw] = f
        cv2.imwrite(str(out / f"{i:04d}.png"), bg)
    return out


def _read_path(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return img


def render_clip(out: Path, kind: str, seconds: float = 8.0, fps: int = 10) -> Path:
    """A short camera clip (MJPEG .avi, readable by every OpenCV build) made from the demo frames:
    `labels` pans across rendered shipping labels, `faces` cycles through the face composites.
    Consecutive frames differ, so a motion gate lets them through."""
    if out.is_file() and out.stat().st_size > 0:
        return out
    work = out.parent / f".{out.stem}-frames"
    folder = (
        render_labels(work / "labels", n=12) / "images"
        if kind == "labels"
        else face_frames(work / "faces", n=12)
    )
    stills = [_read_path(p) for p in sorted(folder.glob("*.png"))]
    h, w = 360, 640
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.avi")
    fourcc = cv2.VideoWriter.fourcc(*"MJPG")
    writer = cv2.VideoWriter(str(tmp), fourcc, fps, (w, h))
    n = int(seconds * fps)
    for i in range(n):
        still = stills[(i // fps) % len(stills)]
        shift = int((i % fps) * 4)  # a slow pan: every frame moves
        big = cv2.resize(still, (w + 40, h + 24))
        writer.write(big[shift // 4 : shift // 4 + h, shift : shift + w])
    writer.release()
    tmp.replace(out)
    return out
