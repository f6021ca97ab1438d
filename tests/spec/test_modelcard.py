from pathlib import Path

import pytest

from edgeplan.errors import ConfigError
from edgeplan.spec import ModelCard, load_yaml_model

GOOD = """
task: detection
input: {height_px: 352, width_px: 352, colour_order: BGR, scale: 0.00392156862745098}
decoder: fastestdet
"""


def test_valid_card_loads(tmp_path: Path) -> None:
    p = tmp_path / "m.card.yaml"
    p.write_text(GOOD)
    card = load_yaml_model(p, ModelCard)
    assert card.input.colour_order == "BGR" and card.decoder == "fastestdet"
    assert not card.inferred


@pytest.mark.parametrize(
    ("text", "must_contain"),
    [
        (GOOD.replace("BGR", "BRG"), ["input.colour_order", "'RGB'", "'BGR'"]),
        (GOOD.replace("task: detection", "task: detect"), ["task", "classification"]),
        (GOOD + "colour: x\n", ["colour", "unknown field"]),
        (GOOD.replace("height_px: 352", "height_px: -1"), ["input.height_px", "greater than 0"]),
        ("input: [1, 2\n", ["not valid YAML"]),
    ],
)
def test_bad_card_names_yaml_path_and_allowed_values(
    tmp_path: Path, text: str, must_contain: list[str]
) -> None:
    p = tmp_path / "m.card.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_yaml_model(p, ModelCard)
    for needle in must_contain:
        assert needle in str(exc.value)
    assert str(p) in str(exc.value)


def test_a_file_of_a_known_family_gets_its_family_card(tmp_path: Path, testdata: Path) -> None:
    """A re-saved YuNet (its bytes no built-in card knows) is decoded with YuNet's published
    pre-processing (BGR, 0-255), not the inferred guess (/255), and finds the faces the known
    file finds; a card beside it still wins; an unknown family stays inferred."""
    import cv2
    import onnx

    from edgeplan.backends import BackendOptions
    from edgeplan.backends.predict import load_model

    opts = BackendOptions(threads=1)
    m = onnx.load(str(testdata / "models/yunet/yunet_s_320_320.onnx"))
    m.doc_string = "re-saved"
    resaved = tmp_path / "face.onnx"
    onnx.save(m, str(resaved))
    known = load_model(testdata / "models/yunet/yunet_s_320_320.onnx", options=opts)
    family = load_model(resaved, options=opts)
    assert "built-in card for" in known.card_source
    assert "matched by its outputs" in family.card_source and not family.card.inferred
    assert family.card.input.scale == 1.0 and family.card.input.colour_order == "BGR"
    for img in sorted((testdata / "models/fastestdet/images").glob("*.jpg")):
        frame = cv2.imread(str(img))
        assert len(family.predict(frame)) == len(known.predict(frame))
    beside = tmp_path / "face.card.yaml"
    beside.write_text(
        "task: face-detection\ndecoder: yunet\n"
        "input: {height_px: 320, width_px: 320, colour_order: RGB, scale: 0.5}\n"
    )
    assert load_model(resaved, options=opts).card.input.scale == 0.5
    from edgeplan.models.card import family_card

    generic = family.card.model_copy(update={"decoder": "classification", "task": "classification"})
    assert family_card(generic) is None  # a generic decoder names no family: stays inferred
