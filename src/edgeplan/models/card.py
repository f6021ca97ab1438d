"""Find a model's card (beside it or given) or infer one from the graph, marked as inferred."""

from pathlib import Path

from edgeplan.models.analysis import StaticAnalysis
from edgeplan.models.files import ModelFile
from edgeplan.spec.loading import load_yaml_model
from edgeplan.spec.modelcard import InputSpec, ModelCard


def card_path_for(model: ModelFile) -> Path:
    """`x.onnx` -> `x.card.yaml` in the same folder."""
    return model.path.with_suffix(".card.yaml")


def load_card(model: ModelFile, analysis: StaticAnalysis, card: Path | None = None) -> ModelCard:
    """The given card, else the one beside the model, else one inferred from the graph."""
    path = card or card_path_for(model)
    if card is not None or path.is_file():
        return load_yaml_model(path, ModelCard)
    return infer_card(analysis, output_shapes=None)


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
    spec = InputSpec(
        height_px=h,
        width_px=w,
        layout=layout,
        dtype=input_dtype,  # type: ignore[arg-type]
        scale=1.0 if quantised else 1.0 / 255.0,
    )
    label_offset = 1 if output_shapes and any(s[-1] == 1001 for s in output_shapes.values()) else 0
    return ModelCard(
        task=task, input=spec, decoder=decoder, label_offset=label_offset, inferred=True
    )
