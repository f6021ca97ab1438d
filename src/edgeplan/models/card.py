"""Find a model's card (beside it or given) or infer one from the graph, marked as inferred."""

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from edgeplan.models.analysis import StaticAnalysis
from edgeplan.models.files import ModelFile
from edgeplan.spec.loading import load_yaml_model
from edgeplan.spec.modelcard import ModelCard


def card_path_for(model: ModelFile) -> Path:
    """`x.onnx` -> `x.card.yaml` in the same folder."""
    return model.path.with_suffix(".card.yaml")


# decoders that name one architecture family, whose published pre-processing a file of that
# family (re-exported, re-saved, retrained) keeps; generic ones (classification, segmentation)
# say nothing about it
FAMILY_DECODERS = {"yunet", "ultraface", "fastestdet", "movenet", "blazeface", "db-text"}


@lru_cache(maxsize=1)
def _entries() -> list[dict[str, Any]]:
    text = resources.files("edgeplan.models").joinpath("known/cards.yaml").read_text()
    return list(yaml.safe_load(text))


@lru_cache(maxsize=1)
def _known() -> dict[str, dict[str, Any]]:
    return {sha: entry for entry in _entries() for sha in entry["sha256"]}


def family_card(fallback: ModelCard) -> tuple[ModelCard, str] | None:
    """The built-in card of the architecture family a graph's outputs name (`fallback`'s
    decoder, from infer_card), for a file whose sha256 is not known: its pre-processing,
    thresholds and labels, with the graph's own input size, layout and dtype. None where the
    decoder is generic or no family card has the same layout and input dtype. Among several,
    the one of the graph's input size."""
    if fallback.decoder not in FAMILY_DECODERS:
        return None
    same = [
        e
        for e in _entries()
        if e["card"].get("decoder") == fallback.decoder
        and e["card"]["input"].get("layout", "NCHW") == fallback.input.layout
        and e["card"]["input"].get("dtype", "float32") == fallback.input.dtype
    ]
    if not same:
        return None
    size = (fallback.input.height_px, fallback.input.width_px)
    entry = next(
        (
            e
            for e in same
            if (e["card"]["input"]["height_px"], e["card"]["input"]["width_px"]) == size
        ),
        same[0],
    )
    return _sized(ModelCard.model_validate(entry["card"]), size), entry["name"]


def _sized(card: ModelCard, hw: tuple[int, int] | None) -> ModelCard:
    """The card with the graph's input size (H, W), where the graph fixes one."""
    if not hw or min(hw) <= 0 or (card.input.height_px, card.input.width_px) == hw:
        return card
    spec = card.input.model_copy(update={"height_px": hw[0], "width_px": hw[1]})
    return card.model_copy(update={"input": spec})


def known_card(model: ModelFile) -> ModelCard | None:
    """The built-in card for a well-known model file (matched by sha256), with its input size
    taken from the card (Coral classifiers differ only in size, fixed by the caller)."""
    entry = _known().get(model.sha256)
    return ModelCard.model_validate(entry["card"]) if entry else None


def find_card(
    model: ModelFile,
    given: Path | None,
    input_hw: tuple[int, int] | None,
    fallback: ModelCard,
) -> tuple[ModelCard, str]:
    """The card to use and where it came from: --card, beside the model, built-in (by sha256),
    or inferred from the graph (`fallback`)."""
    path = given or card_path_for(model)
    if given is not None or path.is_file():
        return load_yaml_model(path, ModelCard), f"card file {path}"
    known = known_card(model)
    if known is not None:
        return _sized(known, input_hw), f"built-in card for {_known()[model.sha256]['name']}"
    family = family_card(fallback)
    if family is not None:
        card, name = family
        return card, (
            f"built-in card of its family, {name} (this file is not a known one: matched by its "
            "outputs; its input size from the graph)"
        )
    return fallback, "inferred from the graph"


def _guess_decoder(output_shapes: dict[str, list[int]] | None) -> tuple[str, str]:
    if not output_shapes:
        return "other", "raw"
    names = set(output_shapes)
    if {"cls_8", "obj_8", "bbox_8"} <= names:
        return "face-detection", "yunet"
    if {"scores", "boxes"} <= names:
        return "face-detection", "ultraface"
    if len(output_shapes) == 1:
        shape = next(iter(output_shapes.values()))
        if len(shape) == 2 and shape[-1] in (1000, 1001):
            return "classification", "classification"
        if len(shape) == 4 and shape[1] == 85:
            return "detection", "fastestdet"
    return "other", "raw"


def infer_card(
    analysis: StaticAnalysis,
    output_shapes: dict[str, list[int]] | None,
    input_dtype: str = "float32",
) -> ModelCard:
    """A best guess from the input shape and output names; colour order and normalisation are
    guesses, so the card says `inferred: true` and reports should say so."""
    shape = next(iter(analysis.input_shapes.values()), [1, 3, 224, 224])
    shape = [d if isinstance(d, int) and d > 0 else 0 for d in shape]
    if len(shape) == 4 and shape[3] == 3:
        layout, h, w = "NHWC", shape[1], shape[2]
    else:
        layout, h, w = (
            "NCHW",
            shape[2] if len(shape) == 4 else 0,
            shape[3] if len(shape) == 4 else 0,
        )
    h, w = h or 320, w or 320
    task, decoder = _guess_decoder(output_shapes)
    quantised = input_dtype in ("uint8", "int8")
    label_offset = 1 if output_shapes and any(s[-1] == 1001 for s in output_shapes.values()) else 0
    return ModelCard.model_validate(
        {
            "task": task,
            "input": {
                "height_px": h,
                "width_px": w,
                "layout": layout,
                "dtype": input_dtype,
                "scale": 1.0 if quantised else 1.0 / 255.0,
            },
            "decoder": decoder,
            "label_offset": label_offset,
            "inferred": True,
        }
    )


def session_input_hw(session: Any) -> tuple[int, int]:
    """(H, W) of a session's first input, NCHW or NHWC; 0 where dynamic."""
    shape = session.input_shapes[session.input_names[0]]
    if len(shape) != 4:
        return (0, 0)
    h, w = (shape[2], shape[3]) if shape[1] in (1, 3) else (shape[1], shape[2])
    return (max(h, 0), max(w, 0))


def card_for_session(
    model: ModelFile, session: Any, analysis: StaticAnalysis, given: Path | None
) -> tuple[ModelCard, str]:
    """find_card with the graph-inferred fallback built from a loaded session (any backend)."""
    name = session.input_names[0]
    fallback = infer_card(analysis, session.output_shapes, session.input_dtypes[name])
    return find_card(model, given, session_input_hw(session), fallback)
