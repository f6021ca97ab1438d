import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeplan.data.agreement import box_matches, f1, iou_matrix
from edgeplan.data.metrics import bootstrap_mean, coco_map, keypoint_errors, miou, topk_correct
from edgeplan.data.samples import DetSample


def _gt(image_id: int, boxes: list[list[float]], labels: list[int]) -> DetSample:
    return DetSample(
        path=None,
        image_id=image_id,
        width=640,
        height=480,  # type: ignore[arg-type]
        boxes_xyxy=np.array(boxes, np.float32).reshape(-1, 4),
        labels=np.array(labels, np.int64),
        iscrowd=np.zeros(len(labels), bool),
    )


def test_bootstrap_interval_brackets_the_mean() -> None:
    x = np.r_[np.ones(780), np.zeros(220)]
    m = bootstrap_mean(x, "top1")
    assert m.value == pytest.approx(0.78) and m.ci95_low < 0.78 < m.ci95_high
    assert m.ci95_high - m.ci95_low == pytest.approx(
        2 * 1.96 * np.sqrt(0.78 * 0.22 / 1000), rel=0.2
    )


def test_topk() -> None:
    c1 = topk_correct([[3, 1, 2], [0, 5, 6]], [1, 0], 1)
    c3 = topk_correct([[3, 1, 2], [0, 5, 6]], [1, 0], 3)
    assert c1.tolist() == [0.0, 1.0] and c3.tolist() == [1.0, 1.0]


def test_coco_map_perfect_and_wrong_detections() -> None:
    gts = [
        _gt(1, [[10, 10, 110, 110], [200, 200, 300, 260]], [0, 5]),
        _gt(2, [[50, 60, 150, 200]], [2]),
    ]
    perfect = {
        s.image_id: [
            {"label": int(c), "score": 0.9, "box_xyxy": b.tolist()}
            for b, c in zip(s.boxes_xyxy, s.labels, strict=True)
        ]
        for s in gts
    }
    m5095, m50 = coco_map(gts, perfect, n_boot=20)
    assert m5095.value == pytest.approx(1.0) and m50.value == pytest.approx(1.0)
    wrong_class = {k: [{**d, "label": d["label"] + 1} for d in v] for k, v in perfect.items()}
    assert coco_map(gts, wrong_class, n_boot=20)[1].value == pytest.approx(0.0)
    shifted = {
        k: [{**d, "box_xyxy": [v + 30 for v in d["box_xyxy"]]} for d in ds]
        for k, ds in perfect.items()
    }
    s5095, _s50 = coco_map(gts, shifted, n_boot=20)
    assert s5095.value < 0.5 and s5095.ci95_low <= s5095.value <= s5095.ci95_high


def test_coco_map_no_detections_is_zero() -> None:
    assert coco_map([_gt(1, [[0, 0, 10, 10]], [0])], {1: []})[0].value == 0.0


def test_miou() -> None:
    truth = np.zeros((10, 10), np.uint8)
    truth[:5] = 3
    pred = truth.copy()
    assert miou(pred, truth, 21)[0] == pytest.approx(1.0)
    pred[4] = 0  # one row of bird predicted as background
    value, per = miou(pred, truth, 21)
    assert per[3] == pytest.approx(40 / 50) and per[0] == pytest.approx(50 / 60)
    assert value == pytest.approx((0.8 + 50 / 60) / 2)


def test_keypoints_identical_pose_is_perfect() -> None:
    ref = np.random.default_rng(0).random((17, 2)).astype(np.float32)
    err, oks = keypoint_errors(ref, ref)
    assert err == 0 and oks == pytest.approx(1.0)
    err2, oks2 = keypoint_errors(ref + 0.05, ref)
    assert err2 == pytest.approx(0.05 * np.sqrt(2), rel=1e-4) and oks2 < 1.0


@given(
    st.lists(
        st.tuples(st.floats(0, 500), st.floats(0, 500), st.floats(1, 100), st.floats(1, 100)),
        min_size=1,
        max_size=8,
    )
)
def test_iou_of_a_box_with_itself_is_one(boxes: list[tuple[float, float, float, float]]) -> None:
    b = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], np.float32)
    m = iou_matrix(b, b)
    assert np.allclose(np.diag(m), 1.0, atol=1e-5) and (m >= 0).all() and (m <= 1 + 1e-6).all()


def test_box_f1_agreement() -> None:
    a = [
        {"label": 0, "score": 0.9, "box_xyxy": [0, 0, 10, 10]},
        {"label": 0, "score": 0.8, "box_xyxy": [50, 50, 60, 60]},
    ]
    assert f1(*box_matches(a, a)) == 1.0
    b = [{"label": 0, "score": 0.9, "box_xyxy": [1, 1, 11, 11]}]
    assert f1(*box_matches(a, b)) == pytest.approx(2 / 3)
    assert f1(*box_matches([], [])) == 1.0 and f1(*box_matches(a, [])) == 0.0
