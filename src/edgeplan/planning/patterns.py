"""Placement patterns and the constraints that can drop a candidate, as small integer codes so
the planner can stay vectorised."""

from enum import IntEnum


class Pattern(IntEnum):
    ON_DEVICE = 0
    SHARED_DEVICE = 1
    HYBRID = 2
    CLOUD_FALLBACK = 3
    CLOUD_PREFILTER = 4
    CLOUD = 5

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def sends_frames(self) -> bool:
        """Does it send imagery off site in normal operation?"""
        return self in (Pattern.HYBRID, Pattern.CLOUD_PREFILTER, Pattern.CLOUD)

    @property
    def needs_network(self) -> bool:
        """Does it stop answering when the network is down?"""
        return self in (Pattern.CLOUD_PREFILTER, Pattern.CLOUD)

    @property
    def is_edge(self) -> bool:
        return self in (
            Pattern.ON_DEVICE,
            Pattern.SHARED_DEVICE,
            Pattern.HYBRID,
            Pattern.CLOUD_FALLBACK,
        )


LABELS = {
    Pattern.ON_DEVICE: "on-device",
    Pattern.SHARED_DEVICE: "shared-site-device",
    Pattern.HYBRID: "hybrid",
    Pattern.CLOUD_FALLBACK: "cloud-fallback",
    Pattern.CLOUD_PREFILTER: "cloud-with-edge-prefilter",
    Pattern.CLOUD: "cloud",
}


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


VIOLATION_TEXT = {
    Violation.LATENCY: "latency p{pct} above the budget",
    Violation.ACCURACY: "accuracy below the floor",
    Violation.POWER: "power above the device power budget",
    Violation.PRIVACY: "privacy rule forbids sending frames off site",
    Violation.OFFLINE: "site has no network to the cloud",
    Violation.UPLINK: "uplink too slow for the frames it must send",
    Violation.RESIDENCY: "cloud region outside the site's data-residency region",
    Violation.NOT_DEPLOYABLE: "model cannot be deployed on this hardware",
    Violation.NO_ACCURACY: "no accuracy figure for a workload with an accuracy floor",
}


def reasons(mask: int, pct: int = 99) -> list[str]:
    """Human reasons for a violation bit mask."""
    return [VIOLATION_TEXT[v].format(pct=pct) for v in Violation if mask >> v & 1]
