"""Fuzz targets: each takes one generated input and passes when the code under test either
accepts it or refuses it with edgeplan's own error (a clear message, an exit code); anything
else (a traceback) fails. Shared by tests/fuzz (a few hundred cases each) and
benchmarks/fuzz.py (thousands)."""

import copy
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from edgeplan.cloud import oip
from edgeplan.errors import EdgeplanError
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.fleet import Fleet
from edgeplan.spec.loading import load_yaml_model
from edgeplan.updates import bundle as b

ROOT = Path(__file__).resolve().parents[2]
DEMO_FLEET = yaml.safe_load((ROOT / "src/edgeplan/demo/retail-fleet.yaml").read_text())
AGENT = {
    "site": "s",
    "device": "intel-n100",
    "cameras": [
        {
            "id": "cam",
            "source": "clip.mp4",
            "fps_cap": 5,
            "model": "m.onnx",
            "escalation": {"url": "http://127.0.0.1:9", "band": [0.3, 0.6]},
        }
    ],
    "mqtt": {"host": "127.0.0.1", "port": 1883, "topic": "t"},
    "outbox": {"path": "outbox.sqlite", "max_events": 100, "overflow": "drop-oldest"},
    "updates": {"pubkey": "k.pem", "state_dir": "state", "watch_dir": "in"},
}

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict) -> str:
    """The base document with 1-3 values replaced, keys deleted or added, as YAML text; or
    now and then text that is not YAML at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.text(max_size=200))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
    return yaml.safe_dump(doc)


def load_fleet(text: str, tmp: Path) -> str:
    p = tmp / "fleet.yaml"
    p.write_text(text)
    try:
        load_yaml_model(p, Fleet)
    except EdgeplanError as exc:
        assert str(exc).startswith(str(p)), exc  # names the file
        return "refused"
    return "accepted"


def load_agent(text: str, tmp: Path) -> str:
    p = tmp / "agent.yaml"
    p.write_text(text)
    try:
        load_yaml_model(p, AgentConfig)
    except EdgeplanError as exc:
        assert str(exc).startswith(str(p)), exc
        return "refused"
    return "accepted"


def _member(tar: tarfile.TarFile, name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.type = len(data), kind
    if kind == tarfile.SYMTYPE:
        info.linkname, info.size = "/etc/passwd", 0
        data = b""
    tar.addfile(info, io.BytesIO(data))


@st.composite
def bundles(draw: st.DrawFn, good: bytes) -> bytes:
    """A signed bundle cut short, bit-flipped, or rebuilt with hostile members or manifest."""
    kind = draw(st.sampled_from(["truncated", "flipped", "members", "manifest"]))
    if kind == "truncated":
        return good[: draw(st.integers(0, len(good) - 1))]
    if kind == "flipped":
        data = bytearray(good)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    with tarfile.open(fileobj=io.BytesIO(good)) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        if kind == "manifest":
            manifest = draw(st.one_of(values, st.just({"files": [], "model": 1})))
            members[b.MANIFEST] = json.dumps(manifest).encode()
        for name, data in members.items():
            _member(t, name, data)
        if kind == "members":
            name = draw(st.sampled_from(["../escape", "/abs", "a/b", "x", b.MANIFEST]))
            link = draw(st.booleans())
            _member(t, name, b"evil", tarfile.SYMTYPE if link else tarfile.REGTYPE)
    return out.getvalue()


def verify_bundle(data: bytes, tmp: Path, pubkey: Path) -> str:
    p = tmp / "bundle.tar"
    p.write_bytes(data)
    try:
        b.verify(p, pubkey)
    except b.BundleError:
        return "refused"
    return "accepted"


def _jpeg() -> bytes:
    import cv2
    import numpy as np

    return cv2.imencode(".jpg", np.full((8, 8, 3), 127, np.uint8))[1].tobytes()


JPEG = _jpeg()


@st.composite
def _valid_request(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A request a client would send: a real JPEG, 1-3 times, as JSON or binary."""
    import base64
    import struct

    n = draw(st.integers(1, 3))
    if draw(st.booleans()):
        data = [base64.b64encode(JPEG).decode()] * n
        inp = {"name": "image", "datatype": "BYTES", "shape": [n], "data": data}
        return json.dumps({"inputs": [inp]}).encode(), None
    raw = (struct.pack("<I", len(JPEG)) + JPEG) * n
    inp = {
        "name": "image",
        "datatype": "BYTES",
        "shape": [n],
        "parameters": {"binary_data_size": len(raw)},
    }
    out = {"name": "detections", "parameters": {"binary_data": draw(st.booleans())}}
    head = json.dumps({"inputs": [inp], "outputs": [out]}).encode()
    return head + raw, str(len(head))


def oip_requests() -> st.SearchStrategy[tuple[bytes, str | None]]:
    """Infer requests: valid ones, and hostile ones (below)."""
    return st.one_of(_valid_request(), _hostile_request())


@st.composite
def _hostile_request(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """Valid-looking JSON with wrong shapes, binary sections whose sizes disagree, junk; and
    the header that says where the JSON ends."""
    kind = draw(st.sampled_from(["junk", "json", "binary"]))
    if kind == "junk":
        return draw(st.binary(max_size=200)), draw(st.one_of(st.none(), st.text(max_size=6)))
    inp: dict[str, Any] = {
        "name": draw(st.sampled_from(["image", "pixels", ""])),
        "datatype": draw(st.sampled_from(["BYTES", "FP32", None])),
        "shape": draw(st.lists(st.integers(-2, 4), max_size=2)),
    }
    if kind == "json":
        inp["data"] = draw(st.one_of(values, st.lists(st.text(max_size=12), max_size=3)))
        body = json.dumps({"inputs": draw(st.sampled_from([[inp], [], inp, None]))}).encode()
        return body, None
    binary = draw(st.binary(max_size=64))
    inp["parameters"] = {"binary_data_size": draw(st.one_of(st.integers(-3, 80), values))}
    head = json.dumps({"inputs": [inp], "outputs": draw(st.one_of(values, st.just([{}])))}).encode()
    n = draw(st.one_of(st.just(str(len(head))), st.text(max_size=5), st.integers(-5, 300).map(str)))
    return head + binary, n


def parse_oip(req: tuple[bytes, str | None]) -> str:
    body, header = req
    try:
        parsed = oip.parse_request(body, header)
        for blob in parsed.images:
            oip.decode_image(blob)
    except oip.ProtocolError:
        return "refused"
    oip.encode_response("edgeplan", ["[]"] * len(parsed.images), parsed.binary_output, None)
    return "accepted"
