"""Prometheus metrics of the agent (own registry): stage latency histograms per camera and model
version, frames by outcome, fallback level, outbox depth and age, sink errors, process, build."""

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)

import edgeplan

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)  # process RSS, CPU seconds, open fds
        Info("edgeplan_build", "edgeplan build", registry=r).info({"version": edgeplan.__version__})
        self.stage = Histogram(
            "edgeplan_stage_latency_seconds",
            "Latency per pipeline stage",
            ["camera", "model_version", "stage"],
            buckets=BUCKETS_S,
            registry=r,
        )
        self.frames_in = Counter(
            "edgeplan_frames_in_total", "Frames read from the source", ["camera"], registry=r
        )
        self.frames_processed = Counter(
            "edgeplan_frames_processed_total",
            "Frames that went through the model",
            ["camera"],
            registry=r,
        )
        self.frames_dropped = Counter(
            "edgeplan_frames_dropped_total",
            "Frames not processed, by reason",
            ["camera", "reason"],
            registry=r,
        )
        self.fallback_level = Gauge(
            "edgeplan_fallback_level",
            "Active level of the backend chain (0 = best, -1 = degraded)",
            ["camera"],
            registry=r,
        )
        self.events = Counter(
            "edgeplan_events_total", "Events emitted", ["camera", "kind"], registry=r
        )
        self.outbox_depth = Gauge(
            "edgeplan_outbox_depth", "Events waiting for a sink ack", registry=r
        )
        self.outbox_age = Gauge(
            "edgeplan_outbox_oldest_age_seconds", "Age of the oldest undelivered event", registry=r
        )
        self.outbox_dropped = Counter(
            "edgeplan_outbox_overflow_dropped",
            "Events dropped by the outbox overflow policy",
            registry=r,
        )  # exposed as edgeplan_outbox_overflow_dropped_total
        self.delivered = Counter(
            "edgeplan_events_delivered_total", "Events acknowledged by a sink", ["sink"], registry=r
        )
        self.sink_errors = Counter(
            "edgeplan_sink_errors_total", "Failed deliveries (retried)", ["sink"], registry=r
        )
        self.escalations = Counter(
            "edgeplan_escalations_total",
            "Escalations to the cloud tier, by result",
            ["camera", "result"],
            registry=r,
        )
        self.updates = Counter(
            "edgeplan_update_steps_total",
            "Model update steps by result",
            ["camera", "step", "result"],
            registry=r,
        )
        self.last_frame = Gauge(
            "edgeplan_last_frame_age_seconds",
            "Seconds since the camera's last frame",
            ["camera"],
            registry=r,
        )
