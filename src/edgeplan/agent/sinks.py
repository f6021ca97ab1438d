"""Sinks: send an event, say whether it was acknowledged. MQTT QoS 1 (the broker's PUBACK) and an
HTTP webhook (a 2xx)."""

import json
import logging
from typing import Protocol

import httpx

log = logging.getLogger(__name__)


class Sink(Protocol):
    name: str

    def send(self, body: str) -> bool: ...

    def close(self) -> None: ...


class MqttSink:
    """paho-mqtt client with automatic reconnect; an event counts as delivered only when the
    broker's PUBACK arrives."""

    name = "mqtt"

    def __init__(
        self, host: str, port: int, topic: str, client_id: str, timeout_s: float = 5.0
    ) -> None:
        import paho.mqtt.client as mqtt

        self.topic, self.timeout_s = topic, timeout_s
        self._c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self._c.reconnect_delay_set(min_delay=1, max_delay=10)
        self._c.connect_async(host, port, keepalive=15)
        self._c.loop_start()

    def send(self, body: str) -> bool:
        if not self._c.is_connected():
            return False
        camera = json.loads(body).get("camera", "agent")
        info = self._c.publish(f"{self.topic}/{camera}", body, qos=1)
        try:
            info.wait_for_publish(timeout=self.timeout_s)
        except (RuntimeError, ValueError) as exc:  # not queued / disconnected meanwhile
            log.debug("mqtt publish failed: %s", exc)
            return False
        return info.is_published()

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url, self._client = url, httpx.Client(timeout=timeout_s)

    def send(self, body: str) -> bool:
        try:
            r = self._client.post(
                self.url, content=body, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            log.debug("webhook failed: %s", exc)
            return False
        return 200 <= r.status_code < 300

    def close(self) -> None:
        self._client.close()
