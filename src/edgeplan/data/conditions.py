"""Deployment conditions applied to evaluation images: what a camera sees at night, on a moving
subject, on a cheap sensor, after a low-bitrate encoder, with part of the scene blocked. Built
from albumentations (maintained, from PyPI), at fixed stated severities and a fixed seed, so a
figure under a condition is reproducible. Pixel-level only: boxes and labels stay valid."""

from collections.abc import Callable
from typing import Any

import numpy as np

from edgeplan.errors import ConfigError

SEED = 20251130
# name -> (what it models, how severe, the albumentations transforms)
CONDITIONS: dict[str, tuple[str, Callable[[Any], list[Any]]]] = {
    "low-light": (
        "night: brightness -60%, contrast -30%, sensor noise sigma 0.04",
        lambda A: [
            A.RandomBrightnessContrast(
                brightness_limit=(-0.6, -0.6), contrast_limit=(-0.3, -0.3), p=1.0
            ),
            A.GaussNoise(std_range=(0.04, 0.04), p=1.0),
        ],
    ),
    "motion-blur": (
        "a subject or camera moving: 15-pixel motion blur",
        lambda A: [A.MotionBlur(blur_limit=(15, 15), p=1.0)],
    ),
    "noise": (
        "a small or hot sensor: Gaussian noise sigma 0.08 (of full scale)",
        lambda A: [A.GaussNoise(std_range=(0.08, 0.08), p=1.0)],
    ),
    "jpeg": (
        "a low-bitrate stream: JPEG quality 15",
        lambda A: [A.ImageCompression(quality_range=(15, 15), p=1.0)],
    ),
    "occlusion": (
        "part of the scene blocked: 4 black rectangles of 10% x 10% of the frame",
        lambda A: [
            A.CoarseDropout(
                num_holes_range=(4, 4),
                hole_height_range=(0.1, 0.1),
                hole_width_range=(0.1, 0.1),
                fill=0,
                p=1.0,
            )
        ],
    ),
}


def parse(names: str | list[str]) -> list[str]:
    """Condition names from a comma list; a wrong one names the allowed values."""
    items = names.split(",") if isinstance(names, str) else names
    out = [n.strip() for n in items if n.strip()]
    bad = [n for n in out if n not in CONDITIONS]
    if bad:
        raise ConfigError(f"condition {bad[0]!r} is not known; allowed: {', '.join(CONDITIONS)}")
    return out


def describe(name: str) -> str:
    return CONDITIONS[name][0]


def transform(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """A deterministic BGR -> BGR function applying the condition (same seed, same images)."""
    try:
        import albumentations as A
    except ImportError as exc:  # an optional extra
        raise ConfigError(
            "--conditions needs albumentations: pip install 'edgeplan[conditions]'"
        ) from exc
    pipeline = A.Compose(CONDITIONS[name][1](A), seed=SEED)

    def apply(frame: np.ndarray) -> np.ndarray:
        return pipeline(image=frame)["image"]

    return apply


def condition_misses(
    floor: float, parent_clean: float, parent_under: dict[str, float], under: dict[str, float]
) -> list[str]:
    """Where a variant loses more under a deployment condition than the floor lets it lose on
    clean images. The allowance is its parent's clean margin above the floor, measured against
    the parent under the same condition: int8 and pruned models often lose more in the dark
    than in the lab, and an absolute floor would reject even the parent there."""
    allowance = max(0.0, parent_clean - floor)
    out = []
    for name, acc in under.items():
        base = parent_under.get(name)
        if base is not None and base - acc > allowance + 1e-9:
            out.append(
                f"under {name}: {acc:.3f}, {base - acc:.3f} below its parent's {base:.3f} "
                f"(the floor allows {allowance:.3f})"
            )
    return out
