from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeplan.backends import BackendOptions, get_backend
from edgeplan.errors import ConfigError
from edgeplan.models import open_model
from edgeplan.models.decoders import get_decoder
from edgeplan.models.preprocess import preprocess
from edgeplan.spec import InputSpec, ModelCard

FRAME = np.random.default_rng(0).integers(0, 256, (432, 768, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("spec", "shape", "dtype"),
    [
        (InputSpec(height_px=352, width_px=352), (1, 3, 352, 352), np.float32),
        (
            InputSpec(height_px=224, width_px=224, layout="NHWC", dtype="uint8"),
            (1, 224, 224, 3),
            np.uint8,
        ),
        (InputSpec(height_px=240, width_px=320, resize="letterbox"), (1, 3, 240, 320), np.float32),
        (
            InputSpec(
                height_px=128, width_px=128, resize="centre-crop", dtype="int8", layout="NHWC"
            ),
            (1, 128, 128, 3),
            np.int8,
        ),
    ],
)
def test_preprocess_shapes_and_dtypes(spec: InputSpec, shape: tuple, dtype: type) -> None:
    x = preprocess(FRAME, spec)
    assert x.shape == shape and x.dtype == dtype and x.flags.c_contiguous


def test_normalisation_and_colour_order() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR
    spec = InputSpec(
        height_px=4, width_px=4, scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
    )
    x = preprocess(frame, spec)
    assert x[0, 2].max() == pytest.approx(1.0) and x[0, 0].max() == pytest.approx(-1.0)  # RGB


def test_unknown_decoder_lists_allowed() -> None:
    with pytest.raises(ConfigError, match="fastestdet"):
        get_decoder("yolo-nope")


def test_fastestdet_decoder_finds_objects_on_its_sample_image(
    testdata: Path, fastestdet: Path
) -> None:
    card = ModelCard(
        task="detection",
        decoder="fastestdet",
        score_threshold=0.65,
        input=InputSpec(height_px=352, width_px=352, colour_order="BGR", scale=1 / 255),
    )
    sess = get_backend("onnxruntime").load(open_model(fastestdet), BackendOptions(threads=1))
    frame = cv2.imread(str(testdata / "models/fastestdet/images/0.jpg"))
    dets = get_decoder("fastestdet")(
        sess.run({"input.1": preprocess(frame, card.input)}), card, frame.shape[:2]
    )
    assert dets, "FastestDet found nothing on its own sample image"
    h, w = frame.shape[:2]
    for d in dets:
        x1, y1, x2, y2 = d["box_xyxy"]
        assert -w * 0.1 <= x1 < x2 <= w * 1.1 and -h * 0.1 <= y1 < y2 <= h * 1.1
        assert 0.65 < d["score"] <= 1.0


def test_classification_decoder_on_coral_mobilenet(testdata: Path, mobilenet_tflite: Path) -> None:
    """Grace Hopper's portrait: 'military uniform' (ImageNet 652) is the expected top-1."""
    card = ModelCard(
        task="classification",
        decoder="classification",
        label_offset=1,
        input=InputSpec(height_px=224, width_px=224, layout="NHWC", dtype="uint8"),
    )
    sess = get_backend("litert").load(open_model(mobilenet_tflite), BackendOptions(threads=1))
    frame = cv2.imread(str(testdata / "models/coral/grace_hopper.bmp"))
    top = get_decoder("classification")(
        sess.run({sess.input_names[0]: preprocess(frame, card.input)}), card, frame.shape[:2]
    )
    assert 652 in [t["label"] for t in top[:3]]
