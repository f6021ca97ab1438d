"""The model card: what a model expects and how its output is decoded.

A card lives beside the model (`model.onnx` -> `model.card.yaml`) or is given on the command line;
when absent, `edgeplan.models.card.infer_card` derives one from the graph and marks it inferred.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["classification", "detection", "face-detection", "pose", "segmentation", "other"]
Layout = Literal["NCHW", "NHWC"]
ColourOrder = Literal["RGB", "BGR"]
ResizeMode = Literal["stretch", "letterbox", "centre-crop"]
Interpolation = Literal["linear", "area", "nearest", "cubic"]
InputDtype = Literal["float32", "float16", "uint8", "int8"]


class InputSpec(BaseModel):
    """How a decoded BGR uint8 frame becomes the model's input tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    height_px: int = Field(gt=0, description="Input height in pixels.")
    width_px: int = Field(gt=0, description="Input width in pixels.")
    layout: Layout = Field("NCHW", description="Tensor layout.")
    colour_order: ColourOrder = Field("RGB", description="Channel order the model was trained on.")
    mean: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="Per-channel mean subtracted after scaling, in model order."
    )
    std: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="Per-channel divisor applied after the mean."
    )
    scale: float = Field(
        1.0, gt=0, description="Pixel values (0-255) are multiplied by this first."
    )
    dtype: InputDtype = Field("float32", description="Input tensor element type.")
    resize: ResizeMode = Field("stretch", description="How the frame is fitted to the input size.")
    interpolation: Interpolation = Field(
        "linear", description="OpenCV resize method; it moves accuracy and preprocessing time."
    )


class ModelCard(BaseModel):
    """Task, input contract, labels and output decoder of one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Task = Field("other", description="What the model does.")
    input: InputSpec
    labels: list[str] | None = Field(None, description="Class names, index order.")
    labels_file: str | None = Field(
        None, description="Path to a labels file (one per line), relative to the card."
    )
    label_offset: int = Field(0, ge=0, description="1 when output 0 is a background class.")
    decoder: str = Field("raw", description="Registered output decoder name (see models.decoders).")
    score_threshold: float = Field(0.5, ge=0, le=1, description="Detection score threshold.")
    nms_iou: float = Field(0.45, ge=0, le=1, description="IoU threshold for NMS.")
    outputs_channels_last: bool = Field(
        False,
        description="Outputs come channels-last (a converter's NHWC, e.g. onnx2tf); they are "
        "moved back to channels-first before the decoder reads them.",
    )
    inferred: bool = Field(
        False, description="True when the card was derived from the graph, not written by a person."
    )
