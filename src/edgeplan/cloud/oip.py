"""The Open Inference Protocol (KServe v2 REST), for one model: what `edgeplan cloud serve` and a
federated site server speak, and what the agent's escalations and `tritonclient` call.

Input `image`: BYTES, each element an encoded frame (JPEG/PNG), sent as JSON (base64 strings)
or with the binary tensor data extension (elements
length-prefixed, 4-byte little-endian). Output `detections`: BYTES, one JSON document per image,
as JSON or binary as the client asks. Bad input is an HTTP 400 with `{"error": ...}`; an unknown
model a 404. The codec here is pure (bytes in, bytes out) so it can be fuzzed on its own."""

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

HEADER = "inference-header-content-length"
INPUT, OUTPUT = "image", "detections"


class ProtocolError(ValueError):
    """A request this protocol cannot accept (HTTP 400)."""


@dataclass
class Request:
    images: list[bytes]
    binary_output: bool
    request_id: str | None


def _bytes_elements(raw: bytes) -> list[bytes]:
    """BYTES tensor in the binary extension: each element a uint32 LE length, then its bytes."""
    out, i = [], 0
    while i < len(raw):
        if i + 4 > len(raw):
            raise ProtocolError("binary BYTES tensor: truncated length prefix")
        (n,) = struct.unpack_from("<I", raw, i)
        i += 4
        if i + n > len(raw):
            raise ProtocolError("binary BYTES tensor: element runs past the data")
        out.append(raw[i : i + n])
        i += n
    return out


def _json_elements(data: Any) -> list[bytes]:
    """BYTES elements in JSON: an encoded image can only travel as a base64 string."""
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list):
        raise ProtocolError("input `image`: `data` must be a list of strings")
    flat: list[Any] = []
    for d in data:
        flat.extend(d if isinstance(d, list) else [d])
    out = []
    for d in flat:
        if not isinstance(d, str):
            raise ProtocolError("input `image`: each element must be a string")
        try:
            out.append(base64.b64decode(d, validate=True))
        except ValueError as exc:
            raise ProtocolError(f"input `image`: not base64 ({exc})") from exc
    return out


def parse_request(body: bytes, header_length: str | None) -> Request:
    """The images of an infer request (JSON, or JSON header + binary data)."""
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError as exc:
            raise ProtocolError(f"{HEADER} is not a number: {header_length!r}") from exc
        if not 0 <= n <= len(body):
            raise ProtocolError(f"{HEADER} {n} is outside the body ({len(body)} bytes)")
        head, binary = body[:n], body[n:]
    else:
        head, binary = body, b""
    try:
        req = json.loads(head)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"request is not JSON ({exc})") from exc
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list) or not req["inputs"]:
        raise ProtocolError("request needs `inputs`: a non-empty list")
    images: list[bytes] = []
    offset = 0
    for inp in req["inputs"]:
        if not isinstance(inp, dict):
            raise ProtocolError("each input must be an object")
        params = inp.get("parameters") or {}
        if not isinstance(params, dict):
            raise ProtocolError("input `parameters` must be an object")
        size = params.get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise ProtocolError("binary_data_size does not match the binary data")
            chunk, offset = binary[offset : offset + size], offset + size
        if inp.get("name") != INPUT:
            raise ProtocolError(f"unknown input {inp.get('name')!r}: this model takes `{INPUT}`")
        if inp.get("datatype") != "BYTES":
            raise ProtocolError(f"input `{INPUT}` must be BYTES, not {inp.get('datatype')!r}")
        if size is not None:
            images += _bytes_elements(chunk)
        else:
            images += _json_elements(inp.get("data"))
    if not images:
        raise ProtocolError(f"input `{INPUT}` has no elements")
    outs = req.get("outputs") or []
    top = req.get("parameters") or {}
    binary_out = bool(isinstance(top, dict) and top.get("binary_data_output")) or any(
        isinstance(o, dict) and isinstance(o.get("parameters"), dict)
        and o["parameters"].get("binary_data")
        for o in (outs if isinstance(outs, list) else [])
    )  # fmt: skip
    rid = req.get("id")
    return Request(images, binary_out, str(rid) if rid is not None else None)


def encode_response(
    model: str, results: list[str], binary: bool, request_id: str | None
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of an infer response: JSON, or JSON header + binary BYTES tensor."""
    out: dict[str, Any] = {
        "name": OUTPUT,
        "datatype": "BYTES",
        "shape": [len(results)],
        "parameters": {"content_type": "str"},
    }
    resp: dict[str, Any] = {"model_name": model, "outputs": [out]}
    if request_id is not None:
        resp["id"] = request_id
    if not binary:
        out["data"] = results
        return json.dumps(resp).encode(), {"content-type": "application/json"}
    data = b"".join(struct.pack("<I", len(r.encode())) + r.encode() for r in results)
    out["parameters"]["binary_data_size"] = len(data)
    head = json.dumps(resp).encode()
    return head + data, {
        "content-type": "application/octet-stream",
        HEADER: str(len(head)),
    }


def decode_image(blob: bytes) -> np.ndarray:
    """An encoded frame -> BGR pixels; ProtocolError when it is not an image."""
    import cv2

    frame = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR) if blob else None
    if frame is None:
        raise ProtocolError("undecodable image (not a JPEG/PNG the server can read)")
    return frame


def metadata(model: str, backend: str, version: str) -> dict[str, Any]:
    return {
        "name": model,
        "versions": [version],
        "platform": f"edgeplan_{backend}",
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": OUTPUT, "datatype": "BYTES", "shape": [-1]}],
    }


def config(model: str, backend: str, task: str) -> dict[str, Any]:
    """A Triton-style model configuration (what `tritonclient` `get_model_config` reads)."""
    return {
        "name": model,
        "platform": f"edgeplan_{backend}",
        "backend": backend,
        "max_batch_size": 0,
        "input": [{"name": INPUT, "data_type": "TYPE_STRING", "dims": [-1]}],
        "output": [{"name": OUTPUT, "data_type": "TYPE_STRING", "dims": [-1]}],
        "parameters": {"task": {"string_value": task}},
    }
