"""Placement patterns as data: what each runs where, what it sends off site, what it needs of the
network, and where its answers' latency comes from. The evaluation reads this table; nothing in
the planner tests a pattern's name."""

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Pattern(IntEnum):
    ON_DEVICE = 0
    SHARED_DEVICE = 1
    HYBRID = 2
    CLOUD_FALLBACK = 3
    CLOUD_PREFILTER = 4
    CLOUD = 5
    FEDERATED = 6

    @property
    def label(self) -> str:
        return SPECS[self].label


# What leaves the site, from most to least revealing. A workload's privacy level allows up to a
# rank; `crops` are the uncertain detections' crops, `metadata` is events only.
SENDS = {"stream": 3, "stills": 2, "crops": 1, "metadata": 0, "nothing": -1}
PRIVACY_ALLOWS = {
    "none": 3,
    "no-video-egress": 2,
    "crops-only": 1,
    "metadata-only": 0,
    "no-egress": -1,
}


@dataclass(frozen=True)
class PatternSpec:
    """One pattern's capabilities."""

    label: str
    edge_model: bool  # runs a model on an edge device
    devices: str  # "dedicated" (per camera), "shared" (pooled per site), "gate", "none"
    cloud_frames: str  # share of frames the cloud sees: "none", "all", "escalated", "failures"
    sends: str  # what leaves the site in normal operation (SENDS)
    answers_need_network: bool  # every answer stops when the network is down
    site_model: bool = False  # a second model on a pooled site device (federated)


SPECS: dict[Pattern, PatternSpec] = {
    Pattern.ON_DEVICE: PatternSpec("on-device", True, "dedicated", "none", "nothing", False),
    Pattern.SHARED_DEVICE: PatternSpec(
        "shared-site-device", True, "shared", "none", "nothing", False
    ),
    Pattern.HYBRID: PatternSpec("hybrid", True, "dedicated", "escalated", "stills", False),
    Pattern.CLOUD_FALLBACK: PatternSpec(
        "cloud-fallback", True, "dedicated", "failures", "stills", False
    ),
    Pattern.CLOUD_PREFILTER: PatternSpec(
        "cloud-with-edge-prefilter", False, "gate", "all", "stream", True
    ),
    Pattern.CLOUD: PatternSpec("cloud", False, "none", "all", "stream", True),
    Pattern.FEDERATED: PatternSpec(
        "federated-edge", True, "dedicated", "none", "nothing", False, site_model=True
    ),
}
LABELS = {p: s.label for p, s in SPECS.items()}


def column(pattern: np.ndarray, attr: str, value: object = True) -> np.ndarray:
    """Per candidate: whether its pattern's `attr` equals `value` (a vectorised table lookup)."""
    table = np.array([getattr(SPECS[Pattern(i)], attr) == value for i in range(len(Pattern))])
    return table[pattern]


def sends_rank(pattern: np.ndarray, crops_ok: bool) -> np.ndarray:
    """What each candidate sends off site, as a SENDS rank; a hybrid that can send crops of its
    uncertain detections instead of whole frames (detection tasks) ranks as `crops`."""
    table = np.array([SENDS[SPECS[Pattern(i)].sends] for i in range(len(Pattern))])
    out = table[pattern]
    if crops_ok:
        out = np.where(pattern == Pattern.HYBRID, SENDS["crops"], out)
    return out


class Violation(IntEnum):
    """Bit positions of the constraint mask."""

    LATENCY = 0
    ACCURACY = 1
    POWER = 2
    PRIVACY = 3
    OFFLINE = 4
    UPLINK = 5
    RESIDENCY = 6
    NOT_DEPLOYABLE = 7
    NO_ACCURACY = 8
    FALLBACK_LATENCY = 9
    AVAILABILITY = 10
    RECALL = 11
    PRECISION = 12
    DECODE = 13


VIOLATION_TEXT = {
    Violation.LATENCY: "latency p{pct} above the budget",
    Violation.ACCURACY: "accuracy below the floor",
    Violation.POWER: "power above the device power budget",
    Violation.PRIVACY: "privacy rule forbids what it sends off site",
    Violation.OFFLINE: "site has no network to the cloud",
    Violation.UPLINK: "uplink too slow for the frames it must send",
    Violation.RESIDENCY: "cloud region outside the site's data-residency region",
    Violation.NOT_DEPLOYABLE: "model cannot be deployed on this hardware",
    Violation.NO_ACCURACY: "no accuracy figure for a workload with an accuracy floor",
    Violation.FALLBACK_LATENCY: "its fallback path (when the edge is down) is above the budget",
    Violation.AVAILABILITY: "availability below the workload's minimum",
    Violation.RECALL: "recall below the floor (or not measured)",
    Violation.PRECISION: "precision below the floor (or not measured)",
    Violation.DECODE: "the host cannot decode the cameras' video",
}


def reasons(mask: int, pct: int = 99) -> list[str]:
    """Human reasons for a violation bit mask."""
    return [VIOLATION_TEXT[v].format(pct=pct) for v in Violation if mask >> v & 1]
