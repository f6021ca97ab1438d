"""Streaming dataset readers: ImageNet list/folder, COCO JSON, YOLO txt, unlabelled folders.

Readers yield one sample at a time (labels are small and read up front; images never are). A bad
line or annotation is reported with its file and line, skipped and counted in the ReadReport.
"""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from PIL import Image

from edgeplan.bench.inputs import IMAGE_SUFFIXES
from edgeplan.data.samples import ClassSample, DetSample, ReadReport
from edgeplan.errors import DataError

DatasetFormat = Literal["imagenet", "coco", "yolo", "folder"]


def detect_format(path: Path) -> DatasetFormat:
    """imagenet (list file or class folders), coco (instances_*.json), yolo (labels/ + images/)."""
    if path.is_file() and path.suffix == ".txt":
        return "imagenet"
    if path.is_file() and path.suffix == ".json":
        return "coco"
    if not path.is_dir():
        raise DataError(f"{path}: no such dataset (a folder, a list .txt or a COCO .json)")
    if (path / "labels").is_dir() and (path / "images").is_dir():
        return "yolo"
    if list(path.glob("instances_*.json")):
        return "coco"
    if (path / "dataset.txt").is_file():
        return "imagenet"
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if subdirs and all(
        any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir()) for d in subdirs
    ):
        return "imagenet"
    return "folder"


def dataset_sha256(files: list[Path], label_files: list[Path]) -> str:
    """Hash of label files' bytes and each image's name and size: cheap, and changes when the
    set or its labels change."""
    h = hashlib.sha256()
    for f in sorted(label_files):
        h.update(f.read_bytes())
    for f in sorted(files):
        h.update(f"{f.name}:{f.stat().st_size if f.exists() else -1}".encode())
    return h.hexdigest()


class ImageNetList:
    """`path, label` lines (`./data/x.JPEG, 472`); `label_offset` adds a background class."""

    def __init__(self, list_file: Path, label_offset: int = 0) -> None:
        if list_file.is_dir():
            list_file = list_file / "dataset.txt"
        if not list_file.is_file():
            raise DataError(f"{list_file}: list file not found")
        self.list_file, self.root, self.label_offset = list_file, list_file.parent, label_offset
        self.report = ReadReport()
        self.name = list_file.parent.name
        self._entries: list[tuple[Path, int]] = []
        for n, line in enumerate(list_file.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            path, sep, label = line.rpartition(",")
            try:
                if not sep:
                    raise ValueError("expected 'path, label'")
                self._entries.append((self.root / path.strip(), int(label) + label_offset))
            except ValueError as exc:
                self.report.skip(f"{list_file}:{n}", f"bad line {line!r}: {exc}")

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ClassSample]:
        for path, label in self._entries:
            yield ClassSample(path, label)

    def sha256(self) -> str:
        return dataset_sha256([p for p, _ in self._entries], [self.list_file])


class ImageNetFolder:
    """A folder per class; class index = position of the folder name in sorted order."""

    def __init__(self, root: Path) -> None:
        self.root, self.name, self.report = root, root.name, ReadReport()
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self._entries = [
            (f, i)
            for i, c in enumerate(self.classes)
            for f in sorted((root / c).iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ClassSample]:
        for path, label in self._entries:
            yield ClassSample(path, label)

    def sha256(self) -> str:
        return dataset_sha256([p for p, _ in self._entries], [])


class UnlabelledFolder:
    """Images without labels, for agreement and calibration."""

    def __init__(self, root: Path) -> None:
        self.root, self.name, self.report = root, root.name, ReadReport()
        self._files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise DataError(f"{root}: no images")

    def __len__(self) -> int:
        return len(self._files)

    def __iter__(self) -> Iterator[ClassSample]:
        for f in self._files:
            yield ClassSample(f, None)

    def sha256(self) -> str:
        return dataset_sha256(self._files, [])


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the header only; None when unreadable."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError):
        return None


class CocoJson:
    """COCO `instances_*.json`: category ids (1..90 with gaps) map to contiguous 0..79 in sorted
    id order, the standard 80-vs-90 mapping; `category_ids[i]` maps back for the evaluator."""

    def __init__(self, path: Path, images_dir: Path | None = None) -> None:
        if path.is_dir():
            found = sorted(path.glob("instances_*.json"))
            if not found:
                raise DataError(f"{path}: no instances_*.json")
            path = found[0]
        self.path, self.name, self.report = path, path.parent.name, ReadReport()
        self.images_dir = images_dir or path.parent / "images"
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not readable COCO JSON ({exc})") from exc
        self.category_ids = sorted(c["id"] for c in data["categories"])
        self.names = {c["id"]: c["name"] for c in data["categories"]}
        index = {cid: i for i, cid in enumerate(self.category_ids)}
        self._images = sorted(data["images"], key=lambda im: im["id"])
        self._anns: dict[int, list[tuple[list[float], int, bool]]] = {}
        for n, a in enumerate(data.get("annotations", [])):
            try:
                x, y, w, h = (float(v) for v in a["bbox"])
                if w <= 0 or h <= 0:
                    raise ValueError(f"degenerate box {a['bbox']}")
                cls = index[a["category_id"]]
            except (KeyError, ValueError, TypeError) as exc:
                self.report.skip(f"{path}:annotations[{n}]", str(exc))
                continue
            self._anns.setdefault(a["image_id"], []).append(
                ([x, y, x + w, y + h], cls, bool(a.get("iscrowd", 0)))
            )

    def __len__(self) -> int:
        return len(self._images)

    def __iter__(self) -> Iterator[DetSample]:
        for im in self._images:
            anns = self._anns.get(im["id"], [])
            yield DetSample(
                path=self.images_dir / im["file_name"],
                image_id=int(im["id"]),
                width=int(im["width"]),
                height=int(im["height"]),
                boxes_xyxy=np.array([a[0] for a in anns], np.float32).reshape(-1, 4),
                labels=np.array([a[1] for a in anns], np.int64),
                iscrowd=np.array([a[2] for a in anns], bool),
            )

    def sha256(self) -> str:
        return dataset_sha256(
            [self.images_dir / im["file_name"] for im in self._images], [self.path]
        )


class YoloTxt:
    """`images/x.jpg` + `labels/x.txt` (`class cx cy w h`, normalised) + `classes.yaml` names.
    Image ids are the file stems as integers when numeric, else their position."""

    def __init__(self, root: Path) -> None:
        self.root, self.name, self.report = root, root.name, ReadReport()
        self.images = sorted(
            p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
        )
        names_file = root / "classes.yaml"
        self.names: dict[int, str] = {}
        if names_file.is_file():
            self.names = {
                int(k): v
                for k, v in (yaml.safe_load(names_file.read_text()).get("names") or {}).items()
            }
        self.category_ids = list(range(len(self.names) or 80))

    def __len__(self) -> int:
        return len(self.images)

    def _label_path(self, image: Path) -> Path:
        rel = image.relative_to(self.root / "images").with_suffix(".txt")
        return self.root / "labels" / rel

    def __iter__(self) -> Iterator[DetSample]:
        for i, img in enumerate(self.images):
            size = _image_size(img)
            if size is None:
                self.report.skip(str(img), "unreadable image")
                continue
            w, h = size
            boxes, labels = [], []
            lp = self._label_path(img)
            lines = lp.read_text().splitlines() if lp.is_file() else []
            for n, line in enumerate(lines, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    if len(parts) != 5:
                        raise ValueError(f"expected 5 fields, got {len(parts)}")
                    c = int(parts[0])
                    cx, cy, bw, bh = (float(v) for v in parts[1:])
                    if not (0 <= cx <= 1 and 0 <= cy <= 1 and 0 < bw <= 1 and 0 < bh <= 1):
                        raise ValueError("coordinates outside 0..1")
                except ValueError as exc:
                    self.report.skip(f"{lp}:{n}", f"bad label {line!r}: {exc}")
                    continue
                boxes.append(
                    [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                )
                labels.append(c)
            stem = img.stem
            yield DetSample(
                path=img,
                image_id=int(stem) if stem.isdigit() else i,
                width=w,
                height=h,
                boxes_xyxy=np.array(boxes, np.float32).reshape(-1, 4),
                labels=np.array(labels, np.int64),
                iscrowd=np.zeros(len(labels), bool),
            )

    def sha256(self) -> str:
        labels = sorted((self.root / "labels").rglob("*.txt"))
        return dataset_sha256(self.images, labels)


Dataset = ImageNetList | ImageNetFolder | UnlabelledFolder | CocoJson | YoloTxt


def open_dataset(path: Path, fmt: str = "auto", label_offset: int = 0) -> Dataset:
    """The reader for `path` by format (auto-detected unless given)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "imagenet":
        if path.is_file() or (path / "dataset.txt").is_file():
            return ImageNetList(path, label_offset)
        return ImageNetFolder(path)
    if fmt == "coco":
        return CocoJson(path)
    if fmt == "yolo":
        return YoloTxt(path)
    if fmt == "folder":
        return UnlabelledFolder(path)
    raise DataError(f"--format {fmt!r} is not allowed; allowed: auto, imagenet, coco, yolo, folder")
