"""TF-slim classifiers with no PyTorch definition, rebuilt for counting only (layer_counts.py).

Inception v2 as TF-slim's `inception_v2` builds it (research/slim/nets/inception_v2.py, the
defaults: `use_separable_conv=True`, depth multiplier 1.0): BN-Inception with a separable 7x7
stem (depthwise multiplier 8), the Mixed_3b .. Mixed_5c blocks (a 5x5 branch as two 3x3), and a
1x1 logits convolution over 1001 classes."""

from typing import Any

# (b0 1x1, (b1 1x1, b1 3x3), (b2 1x1, b2 3x3, b2 3x3), pool ('avg' | 'max'), pool 1x1)
_MIXED = {
    "3b": (64, (64, 64), (64, 96, 96), "avg", 32),
    "3c": (64, (64, 96), (64, 96, 96), "avg", 64),
    "4b": (224, (64, 96), (96, 128, 128), "avg", 128),
    "4c": (192, (96, 128), (96, 128, 128), "avg", 128),
    "4d": (160, (128, 160), (128, 160, 160), "avg", 96),
    "4e": (96, (128, 192), (160, 192, 192), "avg", 96),
    "5b": (352, (192, 320), (160, 224, 224), "avg", 128),
    "5c": (352, (192, 320), (192, 224, 224), "max", 128),
}
# stride-2 reductions: (b0 1x1, b0 3x3 s2), (b1 1x1, b1 3x3, b1 3x3 s2), plus a max pool
_REDUCE = {"4a": ((128, 160), (64, 96, 96)), "5a": ((128, 192), (192, 256, 256))}


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def inception_v2(classes: int = 1001) -> Any:
    import torch
    from torch import nn

    class Mixed(nn.Module):
        def __init__(self, cin: int, spec: tuple[Any, ...]) -> None:
            super().__init__()
            b0, (b1a, b1b), (b2a, b2b, b2c), pool, b3 = spec
            pooling = nn.AvgPool2d(3, 1, 1) if pool == "avg" else nn.MaxPool2d(3, 1, 1)
            self.branches = nn.ModuleList(
                [
                    _conv(cin, b0, 1),
                    nn.Sequential(_conv(cin, b1a, 1), _conv(b1a, b1b, 3)),
                    nn.Sequential(_conv(cin, b2a, 1), _conv(b2a, b2b, 3), _conv(b2b, b2c, 3)),
                    nn.Sequential(pooling, _conv(cin, b3, 1)),
                ]
            )
            self.out = b0 + b1b + b2c + b3

        def forward(self, x: Any) -> Any:
            return torch.cat([b(x) for b in self.branches], 1)

    class Reduce(nn.Module):
        def __init__(self, cin: int, spec: tuple[Any, ...]) -> None:
            super().__init__()
            (a1, a2), (c1, c2, c3) = spec
            self.branches = nn.ModuleList(
                [
                    nn.Sequential(_conv(cin, a1, 1), _conv(a1, a2, 3, 2)),
                    nn.Sequential(_conv(cin, c1, 1), _conv(c1, c2, 3), _conv(c2, c3, 3, 2)),
                    nn.MaxPool2d(3, 2, 1),
                ]
            )
            self.out = a2 + c3 + cin

        def forward(self, x: Any) -> Any:
            return torch.cat([b(x) for b in self.branches], 1)

    layers: list[Any] = [
        _conv(3, 24, 7, 2, groups=3),  # Conv2d_1a_7x7: depthwise, multiplier 8 ...
        _conv(24, 64, 1),  # ... then pointwise
        nn.MaxPool2d(3, 2, 1),
        _conv(64, 64, 1),
        _conv(64, 192, 3),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = 192
    for name in ("3b", "3c", "4a", "4b", "4c", "4d", "4e", "5a", "5b", "5c"):
        block = Reduce(cin, _REDUCE[name]) if name in _REDUCE else Mixed(cin, _MIXED[name])
        layers.append(block)
        cin = block.out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, classes, 1), nn.Flatten()]
    return nn.Sequential(*layers)
