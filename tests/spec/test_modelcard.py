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
