"""Agent tests use the real broker and collector from tests/services.py."""

from tests.services import MOSQUITTO, Broker, Collector, broker, free_port

__all__ = ["MOSQUITTO", "Broker", "Collector", "broker", "free_port"]
