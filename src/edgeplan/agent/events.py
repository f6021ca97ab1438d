"""Events the agent emits. Every event has an id, so at-least-once delivery can be deduplicated."""

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Event:
    camera: str
    kind: str  # detection | degraded | heartbeat
    model_version: str | None
    detections: list[dict[str, Any]] = field(default_factory=list)
    degraded: bool = False
    backend: str | None = None
    latency_ms: float | None = None
    frame_index: int | None = None
    note: str = ""
    ts_unix: float = field(default_factory=time.time)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))
