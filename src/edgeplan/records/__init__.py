"""Typed, frozen measurement records with provenance, and their SQLite store."""

from edgeplan.records.provenance import HostFingerprint, Provenance, Source, host_fingerprint
from edgeplan.records.types import (
    CharacterisationRecord,
    ColdStart,
    ConcurrencyResult,
    EnergyReport,
    LatencyStats,
    OpTime,
    ScenarioResult,
    StreamResult,
    SustainedResult,
    Window,
)

__all__ = [
    "CharacterisationRecord",
    "ColdStart",
    "ConcurrencyResult",
    "EnergyReport",
    "HostFingerprint",
    "LatencyStats",
    "OpTime",
    "Provenance",
    "ScenarioResult",
    "Source",
    "StreamResult",
    "SustainedResult",
    "Window",
    "host_fingerprint",
]
