import shutil
from pathlib import Path

import pytest

from edgeplan.data.readers import (
    CocoJson,
    ImageNetFolder,
    ImageNetList,
    YoloTxt,
    detect_format,
    open_dataset,
)
from edgeplan.errors import DataError


def test_formats_detected(testdata: Path) -> None:
    d = testdata / "datasets"
    assert detect_format(d / "ilsvrc2012_val1300") == "imagenet"
    assert detect_format(d / "coco128/val2017_yolo") == "yolo"
    assert detect_format(d / "coco128/train2017_coco") == "coco"
    assert detect_format(testdata / "models/fastestdet/images") == "folder"


def test_imagenet_list_with_and_without_background_offset(testdata: Path) -> None:
    plain = ImageNetList(testdata / "datasets/ilsvrc2012_val1300/dataset.txt")
    shifted = ImageNetList(testdata / "datasets/ilsvrc2012_val1300/dataset.txt", label_offset=1)
    bg = ImageNetList(testdata / "datasets/ilsvrc2012_val1300/dataset_1001.txt")
    a, b, c = next(iter(plain)), next(iter(shifted)), next(iter(bg))
    assert len(plain) == 1300 and a.path.is_file()
    assert b.label == a.label + 1 == c.label


def test_bad_list_lines_are_reported_with_file_and_line(tmp_path: Path, testdata: Path) -> None:
    src = (testdata / "datasets/ilsvrc2012_val1300/dataset.txt").read_text().splitlines()[:5]
    lines = [*src[:2], "./data/x.JPEG; 7", "./data/y.JPEG, seven", *src[2:]]
    (tmp_path / "data").symlink_to(testdata / "datasets/ilsvrc2012_val1300/data")
    (tmp_path / "dataset.txt").write_text("\n".join(lines))
    ds = ImageNetList(tmp_path / "dataset.txt")
    assert len(ds) == 5 and ds.report.skipped == 2
    assert f"{tmp_path / 'dataset.txt'}:3" in ds.report.problems[0]
    assert f"{tmp_path / 'dataset.txt'}:4" in ds.report.problems[1]


def test_imagenet_folder_classes_are_sorted(tmp_path: Path, testdata: Path) -> None:
    for cls, img in (("b_dog", "0.jpg"), ("a_cat", "1.jpg")):
        (tmp_path / cls).mkdir()
        shutil.copy(testdata / "models/fastestdet/images" / img, tmp_path / cls / img)
    ds = ImageNetFolder(tmp_path)
    assert ds.classes == ["a_cat", "b_dog"]
    assert {s.path.parent.name: s.label for s in ds} == {"a_cat": 0, "b_dog": 1}


def test_coco_json_counts_929_noncrowd_boxes_and_maps_90_to_80(testdata: Path) -> None:
    ds = CocoJson(testdata / "datasets/coco128/train2017_coco")
    samples = list(ds)
    assert len(samples) == 128
    assert sum(s.n_boxes for s in samples) == 929
    assert sum(len(s.labels) for s in samples) == 939
    assert len(ds.category_ids) == 80 and ds.category_ids[-1] == 90
    assert max(int(s.labels.max()) for s in samples if len(s.labels)) <= 79


def test_coco_and_yolo_readers_agree_on_the_same_images(testdata: Path, tmp_path: Path) -> None:
    """Write the COCO annotations of train2017 as YOLO labels; the YOLO reader must read back the
    same 929 non-crowd boxes, classes and (to rounding) coordinates."""
    coco = list(CocoJson(testdata / "datasets/coco128/train2017_coco"))
    (tmp_path / "images").symlink_to(testdata / "datasets/coco128/train2017_coco/images")
    (tmp_path / "labels").mkdir()
    for s in coco:
        rows = []
        for b, c, crowd in zip(s.boxes_xyxy, s.labels, s.iscrowd, strict=True):
            if crowd:
                continue
            cx, cy = (b[0] + b[2]) / 2 / s.width, (b[1] + b[3]) / 2 / s.height
            w, h = (b[2] - b[0]) / s.width, (b[3] - b[1]) / s.height
            rows.append(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
        (tmp_path / "labels" / (s.path.stem + ".txt")).write_text("\n".join(rows))
    yolo = {s.image_id: s for s in YoloTxt(tmp_path)}
    assert sum(s.n_boxes for s in yolo.values()) == 929
    for s in coco:
        y = yolo[s.image_id]
        keep = ~s.iscrowd
        assert sorted(y.labels.tolist()) == sorted(s.labels[keep].tolist())
        assert y.boxes_xyxy.sum() == pytest.approx(s.boxes_xyxy[keep].sum(), rel=1e-3, abs=1.0)


def test_yolo_bad_label_lines_are_skipped_and_counted(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "datasets/coco128/val2017_yolo"
    (tmp_path / "images").symlink_to(src / "images")
    shutil.copytree(src / "labels", tmp_path / "labels")
    first = sorted((tmp_path / "labels").glob("*.txt"))[0]
    good = first.read_text().splitlines()
    first.write_text("\n".join([*good, "17 0.5 0.5", "3 1.7 0.5 0.1 0.1", "x 0.1 0.1 0.1 0.1"]))
    ds = YoloTxt(tmp_path)
    total = sum(s.n_boxes for s in ds)
    assert ds.report.skipped == 3
    assert all(f"{first}:" in p for p in ds.report.problems)
    assert total == sum(s.n_boxes for s in YoloTxt(src))


def test_dataset_checksum_changes_with_labels(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "datasets/coco128/val2017_yolo"
    (tmp_path / "images").symlink_to(src / "images")
    shutil.copytree(src / "labels", tmp_path / "labels")
    before = YoloTxt(tmp_path).sha256()
    assert before == YoloTxt(src).sha256()
    f = sorted((tmp_path / "labels").glob("*.txt"))[0]
    f.write_text(f.read_text() + "\n0 0.5 0.5 0.1 0.1")
    assert YoloTxt(tmp_path).sha256() != before


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such dataset"):
        open_dataset(tmp_path / "nope")
