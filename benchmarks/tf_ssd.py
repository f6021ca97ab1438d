"""The TF Object Detection API's SSD MobileNet detectors (TF1 `ssd_mobilenet_v1` / `v2` feature
extractors), rebuilt in PyTorch for counting only (layer_counts.py): they have no PyTorch
definition. Built as the API's feature_maps_generator and ConvolutionalBoxPredictor build them:

- two backbone maps: MobileNet v1 `Conv2d_11_pointwise` and `Conv2d_13_pointwise`; MobileNet v2
  `layer_15/expansion_output` (block 15's 1x1 expansion) and `layer_19` (the final 1x1 conv);
- four extra maps of depth 512, 256, 256, 128, each a 1x1 to half the depth then a 3x3 stride 2
  (`use_depthwise`: the 3x3 is depthwise and followed by a 1x1), all depths times the depth
  multiplier (at least `min_depth`);
- a box (4 per anchor) and a class convolution per map, `kernel_size` square (SSDLite: a
  depthwise 3x3 then a 1x1 each), 3 anchors on the first map and 6 on the others
  (`reduce_boxes_in_lowest_layer`).

The configs differ in what matters for cost: `ssd_mobilenet_v2_coco.config` predicts with 3x3
kernels over depthwise extras, `ssd_mobilenet_v2_quantized_300x300_coco.config` (the quantized
model Coral compiles) with 1x1 kernels over full 3x3 extras."""

from typing import Any

SSD_DEPTHS = (512, 256, 256, 128)


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


def _mobilenet_v1(multiplier: float, min_depth: int) -> tuple[Any, Any, int, int]:
    """TF-slim MobileNet v1 up to Conv2d_11_pointwise and from there to Conv2d_13_pointwise."""
    from torch import nn

    def depth(d: int) -> int:
        return max(int(d * multiplier), min_depth)

    # (stride, pointwise depth) of Conv2d_1 .. Conv2d_13
    spec = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5
    spec += [(2, 1024), (1, 1024)]
    layers: list[Any] = [_conv(3, depth(32), 3, 2)]
    cin = depth(32)
    for stride, d in spec:
        layers += [_conv(cin, cin, 3, stride, groups=cin), _conv(cin, depth(d), 1)]
        cin = depth(d)
    split = 1 + 2 * 11  # Conv2d_0 and Conv2d_1 .. Conv2d_11 (depthwise + pointwise each)
    return nn.Sequential(*layers[:split]), nn.Sequential(*layers[split:]), depth(512), cin


def _mobilenet_v2(multiplier: float) -> tuple[Any, Any, int, int]:
    """torchvision's MobileNet v2 (the TF-slim layout) up to layer_15's expansion output and from
    there to layer_19."""
    from torch import nn
    from torchvision.models import mobilenet_v2

    f = mobilenet_v2(weights=None, width_mult=multiplier).features
    block15 = f[14].conv  # TF-slim layer_n is features[n - 1]
    head = nn.Sequential(*f[:14], block15[0])
    tail = nn.Sequential(*block15[1:], *f[15:])
    return head, tail, block15[0][0].out_channels, f[18][0].out_channels


def tf_ssd(
    backbone: str,
    multiplier: float = 1.0,
    kernel: int = 1,
    depthwise_extras: bool = False,
    classes: int = 91,
    depthwise_predictor: bool = False,
    min_depth: int = 16,
) -> Any:
    """The network of a TF OD API SSD (box decoding and NMS are not in it). `classes` counts
    the background class unless the config encodes it as zeros (then 90 for COCO)."""
    import torch
    from torch import nn

    if backbone == "mobilenet_v1":
        head, tail, c1, c2 = _mobilenet_v1(multiplier, min_depth)
    else:
        head, tail, c1, c2 = _mobilenet_v2(multiplier)

    def depth(d: float) -> int:
        return max(int(d * multiplier), min_depth)

    extras, chans, cin = [], [c1, c2], c2
    for d in SSD_DEPTHS:
        mid = depth(d / 2)
        body = [_conv(cin, mid, 1)]
        if depthwise_extras:
            body += [_conv(mid, mid, 3, 2, groups=mid), _conv(mid, depth(d), 1)]
        else:
            body += [_conv(mid, depth(d), 3, 2)]
        extras.append(nn.Sequential(*body))
        chans.append(cin := depth(d))
    anchors = [3] + [6] * (len(chans) - 1)

    def predictor(c: int, out: int) -> Any:
        if depthwise_predictor:
            return nn.Sequential(_conv(c, c, 3, groups=c), nn.Conv2d(c, out, 1))
        return nn.Conv2d(c, out, kernel, padding=kernel // 2)

    boxes = [predictor(c, a * 4) for c, a in zip(chans, anchors, strict=True)]
    scores = [predictor(c, a * classes) for c, a in zip(chans, anchors, strict=True)]

    class SSD(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head, self.tail, self.extras = head, tail, nn.ModuleList(extras)
            self.boxes, self.scores = nn.ModuleList(boxes), nn.ModuleList(scores)

        def forward(self, x: Any) -> Any:
            maps = [self.head(x)]
            maps.append(self.tail(maps[0]))
            for extra in self.extras:
                maps.append(extra(maps[-1]))
            out = [b(m).flatten(1) for b, m in zip(self.boxes, maps, strict=True)]
            out += [s(m).flatten(1) for s, m in zip(self.scores, maps, strict=True)]
            return torch.cat(out, 1)

    return SSD()
