"""Weighted layers per inference of catalogue models, counted from their architecture definitions.

A layer here is one executed convolution or fully-connected kernel (Conv2d or Linear, depthwise
included): what a compiler schedules as a separate weighted kernel, and what edgeplan's static
analysis counts in an ONNX, TFLite or OpenVINO file (projection/kernels.py: conv, depthwise,
pointwise, gemm). A head shared across pyramid levels counts once per level it runs on, as the
device runs it. Attention's activation-by-activation products are not weighted layers (the
`attention` kernel tag marks them).

Each architecture is built from its public definition with random weights (nothing is
downloaded) and run once at the catalogue input size with a hook on every Conv2d and Linear:
torchvision, timm, ultralytics (`<name>.yaml`) and effdet (EfficientDet). The TF Object
Detection API SSDs have no PyTorch definition: tf_ssd.py rebuilds them from their configs (it
reproduces OpenVINO's published parameters and FLOPs of ssd_mobilenet_v1_coco, ssd_mobilenet_v2
_coco and ssdlite_mobilenet_v2 within 2%). Run in the environment `make count-tools` builds
(`.venv-counts`: torch, torchvision, timm, ultralytics, effdet, transformers, pinned):

    PYTORCH_JIT=0 .venv-counts/bin/python benchmarks/layer_counts.py [--json OUT]

It prints a table and, with --json, writes {model_id: {layers, depth, gmacs, params_m,
gemm_gmacs, attention_gmacs, depthwise_gmacs, act_elements_m, global_gates, layout_elements_m,
how}}: the figures
committed to the catalogue's models.csv `layers`, `depth`, `gemm_gmacs`, `attention_gmacs`,
`depthwise_gmacs`, `act_elements_m` and `global_gates` columns
(`depth`: the weighted layers on the longest path from the input, followed through every op
by a torch dispatch mode; branches side by side count once) (and the MACs and
parameters of models that publish none, such as MLPerf's RetinaNet). `gemm_gmacs`: MACs in
matrix products (fully-connected layers and attention's activation products);
`attention_gmacs`: of those, attention's activation-by-activation products (no weights: an NPU
cannot keep either operand in place); `depthwise_gmacs`: MACs in depthwise convolutions (one
input channel per group: little reuse per weight, a kernel class of its own on most chips);
`act_elements_m`: activation elements (millions) the
weighted layers read and write, the traffic a kernel moves besides its weights; `global_gates`:
whole-map reductions whose result scales the same map (squeeze-and-excitation), each a map a
pipelined NPU must hold whole; `layout_elements_m`: activation elements (millions) moved to
another layout (transposes, pixel and channel shuffles, window rolls; a swap between channels-
first and channels-last, which such compilers drop, is not counted): no catalogue column, the
counts behind *Layout moves (tried, not kept)* in docs/project.md."""

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("PYTORCH_JIT", "0")  # effdet scripts torchvision's NMS at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # random weights only: never fetch


def _tolerate_cpu_torch() -> None:
    """torchvision wheels built for CUDA register meta kernels for C ops a CPU-only torch lacks;
    skip those registrations (the counts only need the Python module definitions)."""
    import torch.library

    orig = torch.library.register_fake

    def register_fake(name: Any, *a: Any, **k: Any) -> Callable[[Any], Any]:
        def deco(fn: Any) -> Any:
            try:
                return orig(name, *a, **k)(fn)
            except Exception:
                return fn

        return deco

    torch.library.register_fake = register_fake  # type: ignore[assignment]


def _tv(name: str, **kw: Any) -> Callable[[], Any]:
    def build() -> Any:
        from torchvision import models

        return getattr(models, name)(weights=None, **kw)

    return build


def _tvdet(name: str, **kw: Any) -> Callable[[], Any]:
    """A torchvision detector's backbone and head (the network; box decoding and NMS after it
    are not weighted layers)."""

    def build() -> Any:
        from torch import nn
        from torchvision.models import detection

        det = getattr(detection, name)(weights=None, weights_backbone=None, **kw)

        class Network(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.backbone, self.head = det.backbone, det.head

            def forward(self, x: Any) -> Any:
                return self.head(list(self.backbone(x).values()))

        return Network()

    return build


def _mlperf_retinanet() -> Any:
    """MLPerf Inference's RetinaNet as its reference builds it (`retinanet_from_backbone(
    'resnext50_32x4d', num_classes=264)`): ResNeXt-50 32x4d, FPN on C3-C5 with P6/P7 from
    P5's 256 channels, 9 anchors per place, the OpenImages MLPerf subset's 264 classes."""
    from torch import nn
    from torchvision.models import resnext50_32x4d
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.retinanet import RetinaNetHead
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    fpn = _resnet_fpn_extractor(
        resnext50_32x4d(weights=None), 3, [2, 3, 4], LastLevelP6P7(256, 256)
    )

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone, self.head = fpn, RetinaNetHead(256, 9, 264)

        def forward(self, x: Any) -> Any:
            return self.head(list(self.backbone(x).values()))

    return Network()


def _timm_reparameterized(name: str) -> Callable[[], Any]:
    """A timm model with its training-time branches folded (FastViT, MobileOne): the network
    a deployed (Core ML) file holds."""

    def build() -> Any:
        import timm
        from timm.utils.model import reparameterize_model

        return reparameterize_model(timm.create_model(name, pretrained=False))

    return build


def _depth_anything_small() -> Any:
    """Depth Anything (v1 and v2 share it) small: DINOv2 ViT-S/14 and its DPT head, transformers'
    definition (its default configuration is the small one)."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    net = DepthAnythingForDepthEstimation(DepthAnythingConfig())
    return _on_pixels(net, lambda out: out.predicted_depth)


def _on_pixels(net: Any, output: Callable[[Any], Any]) -> Any:
    """A transformers model as a module of one image tensor (`pixel_values`), for the hooks."""
    from torch import nn

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: Any) -> Any:
            return output(self.net(pixel_values=x))

    return Network()


def _detr_r50_segmentation() -> Any:
    """DETR ResNet-50 with its panoptic mask head (transformers' DetrForSegmentation, 250 COCO
    panoptic classes, 100 queries), the network of Apple's Core ML semantic-segmentation DETR."""
    from transformers import DetrConfig, DetrForSegmentation, ResNetConfig

    backbone = ResNetConfig(
        depths=[3, 4, 6, 3],
        hidden_sizes=[256, 512, 1024, 2048],
        layer_type="bottleneck",
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    config = DetrConfig(
        use_timm_backbone=False,
        backbone_config=backbone,
        use_pretrained_backbone=False,
        num_labels=250,
    )
    return _on_pixels(DetrForSegmentation(config), lambda out: out.pred_masks)


def _slim_inception_v2() -> Any:
    from tf_slim import inception_v2

    return inception_v2()


def _beit(name: str) -> Callable[[], Any]:
    """BEiT with its query-key-value product run as the module (timm's default folds the biases
    into a functional call that no module hook sees): the same MACs, counted as a layer."""

    def build() -> Any:
        import timm

        model = timm.create_model(name, pretrained=False)
        for block in model.blocks:
            block.attn.qkv_bias_separate = True
        return model

    return build


def _timm(name: str) -> Callable[[], Any]:
    def build() -> Any:
        import timm

        return timm.create_model(name, pretrained=False)

    return build


def _yolo(yaml: str) -> Callable[[], Any]:
    def build() -> Any:
        from ultralytics import YOLO

        return YOLO(yaml).model

    return build


def _effdet(name: str) -> Callable[[], Any]:
    def build() -> Any:
        from effdet import create_model

        return create_model(name, pretrained=False, pretrained_backbone=False)

    return build


# catalogue id -> (builder, input side, note)
MODELS: dict[str, tuple[Callable[[], Any], int | tuple[int, int], str]] = {
    "mobilenet_v1_1.0_224": (_timm("mobilenetv1_100"), 224, "timm mobilenetv1_100"),
    "mobilenet_v1_0.25_128": (
        _timm("mobilenetv1_100"),
        128,
        "timm mobilenetv1_100 (width does not change the layer count)",
    ),
    "mobilenet_v2_1.0_224": (_tv("mobilenet_v2"), 224, "torchvision mobilenet_v2"),
    "mobilenet_v3_small_224": (_tv("mobilenet_v3_small"), 224, "torchvision"),
    "mobilenet_v3_small_minimalistic_224": (
        _timm("tf_mobilenetv3_small_minimal_100"),
        224,
        "timm",
    ),
    "mobilenet_v3_large_224": (_tv("mobilenet_v3_large"), 224, "torchvision"),
    "efficientnet_b0_224": (_tv("efficientnet_b0"), 224, "torchvision"),
    "efficientnet_lite0_224": (_timm("efficientnet_lite0"), 224, "timm"),
    "efficientnet_lite1_240": (_timm("tf_efficientnet_lite1"), 240, "timm"),
    "efficientnet_lite2_260": (_timm("tf_efficientnet_lite2"), 260, "timm"),
    "efficientnet_lite4_300": (_timm("tf_efficientnet_lite4"), 300, "timm"),
    "efficientnet_edgetpu_s_224": (_timm("efficientnet_es"), 224, "timm efficientnet_es"),
    "efficientnet_edgetpu_m_240": (_timm("efficientnet_em"), 240, "timm efficientnet_em"),
    "efficientnet_edgetpu_l_300": (_timm("efficientnet_el"), 300, "timm efficientnet_el"),
    "efficientnet_s_224": (_timm("efficientnet_es"), 224, "EfficientNet-EdgeTPU-S (timm)"),
    "efficientnet_m_240": (_timm("efficientnet_em"), 240, "EfficientNet-EdgeTPU-M (timm)"),
    "efficientnet_l_300": (_timm("efficientnet_el"), 300, "EfficientNet-EdgeTPU-L (timm)"),
    "mobilevit_xxs_256": (_timm("mobilevit_xxs"), 256, "timm"),
    "mobilevit_xs_256": (_timm("mobilevit_xs"), 256, "timm"),
    "mobilevit_s_256": (_timm("mobilevit_s"), 256, "timm"),
    "convnext_tiny_224": (_tv("convnext_tiny"), 224, "torchvision"),
    "resnet18_224": (_tv("resnet18"), 224, "torchvision"),
    "resnet50_224": (_tv("resnet50"), 224, "torchvision"),
    "resnet50_v1_224": (_tv("resnet50"), 224, "torchvision resnet50 (v1 layer structure)"),
    "resnet50_v1_299": (_tv("resnet50"), 299, "torchvision resnet50 (v1 layer structure)"),
    "resnet50_v2_299": (_timm("resnetv2_50"), 299, "timm resnetv2_50 (pre-activation)"),
    "resnet152_v2_299": (_tv("resnet152"), 299, "torchvision resnet152 (same layers as v2)"),
    "squeezenet1_1_224": (_tv("squeezenet1_1"), 224, "torchvision"),
    "squeezenet1_0_224": (_tv("squeezenet1_0"), 224, "torchvision"),
    "inception_v1_224": (
        _tv("googlenet", aux_logits=False, init_weights=False),
        224,
        "torchvision googlenet",
    ),
    "inception_v2_224": (_slim_inception_v2, 224, "TF-slim inception_v2 (tf_slim.py)"),
    "inception_v3_299": (
        _tv("inception_v3", aux_logits=False, init_weights=False),
        299,
        "torchvision",
    ),
    "inception_v4_299": (_timm("inception_v4"), 299, "timm"),
    "inception_resnet_v2_299": (_timm("inception_resnet_v2"), 299, "timm"),
    "vgg16_224": (_tv("vgg16"), 224, "torchvision"),
    "vgg19_224": (_tv("vgg19"), 224, "torchvision"),
    "regnetx_800mf_224": (_tv("regnet_x_800mf"), 224, "torchvision"),
    "vit_tiny_224": (_timm("vit_tiny_patch16_224"), 224, "timm vit_tiny_patch16_224"),
    "yolo11n_cls_224": (_yolo("yolo11n-cls.yaml"), 224, "ultralytics yolo11n-cls.yaml"),
    "ssdlite_mobilenet_v3_large_320": (
        _tvdet("ssdlite320_mobilenet_v3_large"),
        320,
        "torchvision",
    ),
    "ssd300_vgg16_bn_300": (
        _tvdet("ssd300_vgg16"),
        300,
        "torchvision ssd300_vgg16 (BN adds no weighted layer)",
    ),
    "retinanet_resnext50_800": (
        _mlperf_retinanet,
        800,
        "MLPerf RetinaNet: torchvision resnext50_32x4d FPN (P3-P7), RetinaNet head, 264 classes",
    ),
    "efficientdet_lite0_320": (_effdet("tf_efficientdet_lite0"), 320, "effdet"),
    "efficientdet_lite1_384": (_effdet("tf_efficientdet_lite1"), 384, "effdet"),
    "efficientdet_lite2_448": (_effdet("tf_efficientdet_lite2"), 448, "effdet"),
    "efficientdet_lite3_512": (_effdet("tf_efficientdet_lite3"), 512, "effdet"),
    "efficientdet_lite4_640": (_effdet("tf_efficientdet_lite4"), 640, "effdet"),
    "efficientdet_d0_512": (_effdet("tf_efficientdet_d0"), 512, "effdet"),
    "fastvit_t8_256": (
        _timm_reparameterized("fastvit_t8"),
        256,
        "timm fastvit_t8, reparameterized",
    ),
    "fastvit_ma36_256": (
        _timm_reparameterized("fastvit_ma36"),
        256,
        "timm fastvit_ma36, reparameterized",
    ),
    "depth_anything_small_518x392": (
        _depth_anything_small,
        (392, 518),
        "transformers DepthAnythingForDepthEstimation (small)",
    ),
    "detr_resnet50_panoptic_448": (
        _detr_r50_segmentation,
        448,
        "transformers DetrForSegmentation (ResNet-50)",
    ),
}
# Hailo Model Zoo v2.18 networks that timm or torchvision build by name (hailo_zoo_rows.py)
for _mid, _name in (
    ("deit_tiny_224", "deit_tiny_patch16_224"), ("deit_small_224", "deit_small_patch16_224"),
    ("deit_base_224", "deit_base_patch16_224"), ("vit_small_224", "vit_small_patch16_224"),
    ("vit_base_224", "vit_base_patch16_224"), ("swin_tiny_224", "swin_tiny_patch4_window7_224"),
    ("swin_small_224", "swin_small_patch4_window7_224"), ("levit_128_224", "levit_128"),
    ("levit_192_224", "levit_192"), ("levit_256_224", "levit_256"),
    ("levit_384_224", "levit_384"), ("davit_tiny_224", "davit_tiny"),
    ("efficientformer_l1_224", "efficientformer_l1"), ("mobilenet_v2_1.4_224", "mobilenetv2_140"),
    ("resmlp12_224", "resmlp_12_224"),
):  # fmt: skip
    MODELS[_mid] = (_timm(_name), 224, f"timm {_name}")
for _mid, _name in (
    ("fastvit_sa12_224", "fastvit_sa12"), ("repvgg_a1_224", "repvgg_a1"),
    ("repvgg_a2_224", "repvgg_a2"), ("repghost_1_0x_224", "repghostnet_100"),
    ("repghost_2_0x_224", "repghostnet_200"),
):  # fmt: skip
    MODELS[_mid] = (_timm_reparameterized(_name), 224, f"timm {_name}, reparameterized")
MODELS |= {
    "efficientnet_lite3_280": (_timm("tf_efficientnet_lite3"), 280, "timm"),
    "resnet34_224": (_tv("resnet34"), 224, "torchvision"),
    "resnext50_32x4d_224": (_tv("resnext50_32x4d"), 224, "torchvision"),
    "regnetx_1.6gf_224": (_tv("regnet_x_1_6gf"), 224, "torchvision"),
}
# Qualcomm AI Hub Models' torchvision networks (aihub_rows.py), at the input its info.yaml names
for _mid, _name, _side in (
    ("convnext_base_224", "convnext_base", 224), ("densenet121_224", "densenet121", 224),
    ("efficientnet_b4_380", "efficientnet_b4", 380),
    ("efficientnet_v2_s_384", "efficientnet_v2_s", 384),
    ("mnasnet0_5_224", "mnasnet0_5", 224), ("regnetx_3.2gf_224", "regnet_x_3_2gf", 224),
    ("resnet101_224", "resnet101", 224), ("resnext101_32x8d_224", "resnext101_32x8d", 224),
    ("shufflenet_v2_x0_5_224", "shufflenet_v2_x0_5", 224),
    ("wide_resnet50_2_224", "wide_resnet50_2", 224),
    ("regnety_800mf_224", "regnet_y_800mf", 224),
):  # fmt: skip
    MODELS[_mid] = (_tv(_name), _side, "torchvision")
# ... and its timm (or timm-equivalent: LeViT-128S and MobileViT-S from their Hugging Face
# checkpoints, EfficientViT from MIT's definition) networks
for _mid, _name in (
    ("dla102x_224", "dla102x"), ("efficientvit_b2_224", "efficientvit_b2"),
    ("efficientvit_l2_224", "efficientvit_l2"), ("levit_128s_224", "levit_128s"),
    ("mobilevit_s_224", "mobilevit_s"),
):  # fmt: skip
    MODELS[_mid] = (_timm(_name), 224, f"timm {_name}")
MODELS["beit_base_224"] = (  # Hugging Face microsoft/beit-base-patch16-224, the same network
    _beit("beit_base_patch16_224"),
    224,
    "timm beit_base_patch16_224 (query-key-value as a layer)",
)
# Apple's FastViT and MobileOne READMEs (iPhone 12 Pro latencies), at their stated inputs
for _name in ("fastvit_t12", "fastvit_s12", "fastvit_sa12", "fastvit_sa24", "fastvit_sa36"):
    MODELS[f"{_name}_256"] = (_timm_reparameterized(_name), 256, f"timm {_name}, reparameterized")
for _name in ("mobileone_s0", "mobileone_s1", "mobileone_s2", "mobileone_s3", "mobileone_s4"):
    MODELS[f"{_name}_224"] = (_timm_reparameterized(_name), 224, f"timm {_name}, reparameterized")
MODELS["inception_v3_224"] = (
    _tv("inception_v3", aux_logits=False, init_weights=False),
    224,
    "torchvision (no auxiliary head)",
)
for _y in ("yolov8n", "yolov8s", "yolov8m", "yolov8l", "yolov8x", "yolo11n", "yolo11s",
           "yolo11m", "yolo11l", "yolo11x", "yolo26n", "yolo26s", "yolo26m", "yolov10s",
           "yolov10b", "yolov10x", "yolov9c", "yolov10m", "yolov9t", "yolov9s",
           "yolov9m"):  # fmt: skip
    MODELS[f"{_y}_640"] = (_yolo(f"{_y}.yaml"), 640, f"ultralytics {_y}.yaml")
for _side in (320, 640, 1280):
    MODELS[f"yolov10n_{_side}"] = (_yolo("yolov10n.yaml"), _side, "ultralytics yolov10n.yaml")
MODELS["yolov6n_640"] = (
    _yolo("yolov6n.yaml"),
    640,
    "ultralytics yolov6n.yaml (the YOLOv6 3.0 layout with RepVGG blocks as the single 3x3 "
    "convolutions they fuse into for deployment)",
)
# The original, anchor-based YOLOv5: ultralytics' YOLOv5u keeps its backbone and neck and swaps
# the head; its backbone and neck are counted and the original head (one 1x1 output convolution
# per level, 3 levels) added.
YOLOV5_HEAD = 3
YOLOV5 = {f"yolov5{s}_640": f"yolov5{s}u.yaml" for s in "nsmlx"}


# TF Object Detection API SSDs (tf_ssd.py), each as the config its published figures come from
def _ssd(backbone: str, **kw: Any) -> Callable[[], Any]:
    def build() -> Any:
        from tf_ssd import tf_ssd

        return tf_ssd(backbone, **kw)

    return build


_V1Q = "TF OD API ssd_mobilenet_v1_quantized_300x300_coco14_sync.config (1x1 predictor, 90 classes)"
_V2Q = "TF OD API ssd_mobilenet_v2_quantized_300x300_coco.config (1x1 predictor, full 3x3 extras)"
MODELS |= {
    "ssd_mobilenet_v1_300": (
        _ssd("mobilenet_v1"),
        300,
        "TF OD API ssd_mobilenet_v1_coco.config (1x1 predictor)",
    ),
    "ssd_mobilenet_v1_224": (_ssd("mobilenet_v1", classes=90), 224, _V1Q),
    "ssd_mobilenet_v1_0.75_300": (
        _ssd("mobilenet_v1", multiplier=0.75, classes=90),
        300,
        "TF OD API ssd_mobilenet_v1_0.75_depth_quantized_300x300_coco14_sync.config",
    ),
    "ssd_mobilenet_v2_300": (_ssd("mobilenet_v2"), 300, _V2Q),
    "ssd_mobilenet_v2_224": (_ssd("mobilenet_v2"), 224, _V2Q),
    "ssd_mobilenet_v2_320": (
        _ssd("mobilenet_v2", classes=90),
        320,
        "TF OD API ssd_mobilenet_v2_320x320_coco17_tpu-8.config (1x1 predictor, 90 classes)",
    ),
    "ssdlite_mobilenet_v2_300": (
        _ssd("mobilenet_v2", kernel=3, depthwise_extras=True, depthwise_predictor=True),
        300,
        "TF OD API ssdlite_mobilenet_v2_coco.config (depthwise extras and predictors)",
    ),
}


def _training_only(model: Any) -> set[str]:
    """Modules an exported model drops: an end-to-end YOLO head (v10, 26) runs its one-to-many
    branch (cv2, cv3) in eval mode too, but only the one-to-one branch reaches the outputs, so
    export removes the other."""
    heads = [n for n, m in model.named_modules() if hasattr(m, "one2one_cv2")]
    return {p for p in heads for p in (f"{p}.cv2", f"{p}.cv3")}


def _unfused_attention(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    **_: Any,
) -> Any:
    """torch's fused attention as its two matrix products: the FLOP counter does not count the
    CPU's fused kernel (timm's and transformers' default), so its products went uncounted."""
    a = (q @ k.transpose(-2, -1)) * (scale if scale is not None else q.shape[-1] ** -0.5)
    if attn_mask is not None:
        a = a.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == bool else a + attn_mask
    return a.softmax(-1) @ v


def _global_dims(func: Any, args: Any) -> bool:
    """Whether an op reduces a whole feature map to one value per channel: a mean or max over
    H and W of an NCHW (or NHWC) map, over the tokens of a (batch, tokens, features) one, or a
    global adaptive pooling. A mean over channels (a hand-written layer norm) is not one."""
    import torch

    aten = torch.ops.aten
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
        return False
    if func in (aten.adaptive_avg_pool2d.default, aten._adaptive_avg_pool2d.default,
                aten.adaptive_max_pool2d.default):  # fmt: skip
        return list(args[1]) == [1, 1] and x.shape[-1] * x.shape[-2] >= 4
    if func not in (aten.mean.dim, aten.amax.default, aten.sum.dim_IntList):
        return False
    dims = {d % x.dim() for d in (args[1] if len(args) > 1 and args[1] is not None else ())}
    spatial = ({2, 3}, {1, 2}) if x.dim() == 4 else ({1},)
    positions = x.shape[1] if x.dim() == 3 else x.shape[2] * x.shape[3]
    return dims in spatial and positions >= 4


def _depth_mode() -> Any:
    """A torch dispatch mode that follows every op's tensors: a tensor's depth is the most
    weighted layers (convolutions, fully-connected products; not attention's activation
    products) on any path from the input to it, so branches run side by side count once. It
    also counts global gates: whole-map reductions (global pooling over H and W, or over the
    tokens) whose map a multiply (or divide) reads afterwards, as squeeze-and-excitation
    scales the map by what it pooled from it; a classifier's final pooling, whose map nothing
    scales, is not one. A pipelined NPU must hold the whole map on chip until its gate is
    known (projection/kernels.py global_gates counts the same in a graph)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    aten = torch.ops.aten
    weighted = {aten.convolution.default, aten.addmm.default, aten.mm.default}
    scales = {aten.mul.Tensor, aten.mul_.Tensor, aten.div.Tensor, aten.div_.Tensor}
    # ops that move an activation's elements to another layout: what an exported graph holds as
    # Transpose, DepthToSpace / SpaceToDepth or a channel shuffle (a weight's transpose, 2-D, is not
    # one: a fully-connected layer reads its weights in place)
    moves = {
        aten.permute.default, aten.transpose.int, aten.pixel_shuffle.default,
        aten.pixel_unshuffle.default, aten.im2col.default, aten.col2im.default,
        aten.roll.default, aten.channel_shuffle.default, aten.native_channel_shuffle.default,
    }  # fmt: skip

    class Depth(TorchDispatchMode):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.of: dict[int, int] = {}  # by storage: views and in-place ops keep a depth
            self.deepest = 0
            self.moved = 0  # activation elements written by layout moves (`moves`)
            self.conv_out: set[int] = set()  # storages convolutions wrote
            # maps a global reduction read, by storage (held, so that no other tensor takes
            # its address), and whether something read them again
            self.pooled: dict[int, tuple[Any, bool]] = {}

        def __torch_dispatch__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
            out = func(*args, **(kwargs or {}))
            if func in moves and isinstance(out, torch.Tensor) and out.dim() >= 3:
                self.moved += 0 if self._to_channels_last(func, args) else out.numel()
            if func is aten.convolution.default:
                self.conv_out.add(out.untyped_storage().data_ptr())
            tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
            d = max((self.of.get(t.untyped_storage().data_ptr(), 0) for t in tensors), default=0)
            d += func in weighted
            for t in tensors if func in scales else ():
                held = self.pooled.get(t.untyped_storage().data_ptr())
                if held is not None and not held[1]:
                    self.pooled[t.untyped_storage().data_ptr()] = (held[0], True)
            if _global_dims(func, args):
                self.pooled[args[0].untyped_storage().data_ptr()] = (args[0], False)
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self.of[t.untyped_storage().data_ptr()] = d
            self.deepest = max(self.deepest, d)
            return out

        def _to_channels_last(self, func: Any, args: Any) -> bool:
            """Whether a move only turns a convolution's channels-first map into channels-last
            (or back): a channels-last compiler (TFLite's converter, QNN, Hailo, TensorRT) stores
            maps that way and drops it. A permute between NCHW and NHWC, and a flattened map's
            channels swapped with its positions (a patch embedding's tokens)."""
            x = args[0]
            if func is aten.permute.default:
                return x.dim() == 4 and list(args[1]) in ([0, 2, 3, 1], [0, 3, 1, 2])
            if func is aten.transpose.int and x.dim() == 3:
                dims = {d % 3 for d in args[1:3]}
                return dims == {1, 2} and x.untyped_storage().data_ptr() in self.conv_out
            return False

        def gates(self) -> int:
            return sum(read_again for _, read_again in self.pooled.values())

    return Depth()


@dataclass
class Counts:
    """What one forward pass runs: weighted layers, MACs, the MACs of matrix products
    (fully-connected layers and attention's activation products: the `gemm` and `attention`
    kernel classes), and the activation elements the weighted layers read and write."""

    layers: int = 0
    macs: int = 0
    gemm_macs: int = 0
    attention_macs: int = 0  # of gemm_macs, attention's activation-by-activation products
    depthwise_macs: int = 0  # of macs, depthwise convolutions' (one input channel per group)
    depth: int = 0  # weighted layers on the longest input-to-output path
    global_gates: int = 0  # whole-map reductions whose map is scaled again (_depth_mode)
    head_depth: int = 0  # the same, to the deepest input of `capture` (a head counted by hand)
    act_elements: int = 0
    layout_elements: int = 0  # activation elements moved to another layout (_depth_mode)
    head_inputs: list[Any] = field(default_factory=list)  # inputs of `capture` (YOLOv5's head)


def executed(
    model: Any,
    side: int | tuple[int, int],
    skip: set[str] | None = None,
    capture: set[str] | None = None,
) -> Counts:
    """Counts of one forward pass at side x side (or (height, width)), less the `skip`
    modules and those only training uses. MACs: the kept convolutions' and fully-connected
    layers' (output elements x input channels per group x kernel area; output elements x input
    features) plus attention's activation products (what torch's FLOP counter, halved, finds
    beyond every convolution and fully-connected layer). Matrix-product MACs: the
    fully-connected layers' plus attention's. `capture`: modules whose inputs are kept (a head
    counted by hand)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    c = Counts()
    every = [0]  # MACs of every convolution and fully-connected layer run, dropped ones too

    def macs_of(m: Any, out: Any) -> int:
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            return int(out.numel() * (m.in_channels // m.groups) * kh * kw)
        return int(out.numel() * m.in_features)

    def hook(m: Any, inp: Any, out: Any) -> None:
        c.layers += 1
        macs = macs_of(m, out)
        c.macs += macs
        c.gemm_macs += macs if isinstance(m, nn.Linear) else 0
        depthwise = isinstance(m, nn.Conv2d) and m.groups > 1 and m.in_channels == m.groups
        c.depthwise_macs += macs if depthwise else 0
        c.act_elements += inp[0].numel() + out.numel()

    def seen(m: Any, _: Any, out: Any) -> None:
        every[0] += macs_of(m, out)

    def keep(_: Any, inp: Any) -> None:
        c.head_inputs.extend(x for x in inp[0] if hasattr(x, "shape"))

    model.eval()
    dropped = _training_only(model) | (skip or set())
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    handles = (
        [
            m.register_forward_hook(hook)
            for name, m in layers
            if not any(name == d or name.startswith(d + ".") for d in dropped)
        ]
        + [m.register_forward_hook(seen) for _, m in layers]
        + [
            m.register_forward_pre_hook(keep)
            for name, m in model.named_modules()
            if name in (capture or set())
        ]
    )
    h, w = (side, side) if isinstance(side, int) else side
    fused = torch.nn.functional.scaled_dot_product_attention
    torch.nn.functional.scaled_dot_product_attention = _unfused_attention
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as flops, _depth_mode() as path:
            model(torch.zeros(1, 3, h, w))
    finally:
        torch.nn.functional.scaled_dot_product_attention = fused
    for handle in handles:
        handle.remove()
    # attention's activation products: what the FLOP counter finds beyond the layers
    attention = max(0, flops.get_total_flops() // 2 - every[0])
    c.gemm_macs += attention
    c.attention_macs = attention
    c.depth = path.deepest
    c.global_gates = path.gates()
    c.layout_elements = path.moved
    c.head_depth = max(
        (path.of.get(t.untyped_storage().data_ptr(), 0) for t in c.head_inputs), default=0
    )
    c.macs += attention
    return c


def count_all(only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Counts of every model (or of `only` those among MODELS): layers, and where the model is
    built whole, its GMACs and parameters (millions)."""
    _tolerate_cpu_torch()
    out: dict[str, dict[str, Any]] = {}
    for mid, (build, side, note) in MODELS.items():
        if only and mid not in only:
            continue
        model = build()
        c = executed(model, side)
        params = sum(p.numel() for p in model.parameters())
        out[mid] = {
            "layers": c.layers,
            "gmacs": round(c.macs / 1e9, 3),
            "params_m": round(params / 1e6, 3),
            "gemm_gmacs": round(c.gemm_macs / 1e9, 3),
            "attention_gmacs": round(c.attention_macs / 1e9, 3),
            "depthwise_gmacs": round(c.depthwise_macs / 1e9, 4),
            "depth": c.depth,
            "global_gates": c.global_gates,
            "act_elements_m": round(c.act_elements / 1e6, 2),
            "layout_elements_m": round(c.layout_elements / 1e6, 3),
            "how": f"{note} @{side if isinstance(side, int) else '{}x{}'.format(*side[::-1])}",
        }
    for mid, yaml in YOLOV5.items():
        if only and mid not in only:
            continue
        model = _yolo(yaml)()
        detect = {n for n, m in model.named_modules() if type(m).__name__ == "Detect"}
        body = executed(model, 640, skip=detect, capture=detect)
        # the original head: one 1x1 convolution per level, 3 anchors x (4 + 1 + 80) outputs
        head_out = sum(3 * 85 * x.shape[-2] * x.shape[-1] for x in body.head_inputs)
        head_in = sum(x.numel() for x in body.head_inputs)
        out[mid] = {
            "layers": body.layers + YOLOV5_HEAD,
            "depth": body.head_depth + 1,  # one output convolution after the neck
            "gemm_gmacs": 0.0,
            "attention_gmacs": 0.0,
            "depthwise_gmacs": round(body.depthwise_macs / 1e9, 4),  # the head has none
            "global_gates": body.global_gates,  # nor gates
            "act_elements_m": round((body.act_elements + head_in + head_out) / 1e6, 2),
            # the original head views and permutes its outputs to (anchor, y, x, outputs)
            "layout_elements_m": round((body.layout_elements + head_out) / 1e6, 3),
            "how": f"original YOLOv5: ultralytics {yaml} backbone and neck ({body.layers}) + "
            f"{YOLOV5_HEAD} output convolutions",
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--json",
        help="write {model_id: {layers, depth, gmacs, params_m, gemm_gmacs, attention_gmacs, "
        "depthwise_gmacs, act_elements_m, global_gates, layout_elements_m, how}} here",
    )
    ap.add_argument("--only", nargs="*", help="count only these model ids (whole builds)")
    args = ap.parse_args()
    counts = count_all(set(args.only) if args.only else None)
    print(
        f"{'model':36s} {'layers':>6s} {'GMACs':>8s} {'params M':>8s} {'gemm GMACs':>10s} "
        f"{'attn GMACs':>10s} {'dw GMACs':>9s} {'act M':>7s} {'gates':>5s} {'layout M':>8s}  how"
    )
    for mid, row in sorted(counts.items()):
        g, pm = row.get("gmacs", ""), row.get("params_m", "")
        print(
            f"{mid:36s} {row['layers']:>6d} {g!s:>8s} {pm!s:>8s} {row['gemm_gmacs']!s:>10s} "
            f"{row['attention_gmacs']!s:>10s} {row['depthwise_gmacs']!s:>9s} "
            f"{row['act_elements_m']!s:>7s} {row['global_gates']:>5d} "
            f"{row['layout_elements_m']!s:>8s}  {row['how']}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(counts, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
