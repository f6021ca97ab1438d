"""Model updates with real models and files: signed bundles, trial, promotion, rollback, auth."""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx
import onnx
import pytest
import yaml
from onnx import numpy_helper

from edgeplan.agent.api import ApiServer
from edgeplan.agent.runtime import Agent
from edgeplan.spec.agent import AgentConfig
from edgeplan.updates import bundle as b

TOKEN = "s3cret-token"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return b.generate_keys(tmp_path / "keys")


def signed(tmp: Path, keys: tuple[Path, Path], model: Path, version: str) -> Path:
    out = b.create(model, version, tmp / f"v{version}.tar")
    b.sign(out, keys[0])
    return out


def cfg(
    tmp: Path, testdata: Path, keys: tuple[Path, Path], slo_ms: float = 10_000, **upd: object
) -> AgentConfig:
    (tmp / "token").write_text(TOKEN)
    return AgentConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "cam",
                    "source": str(testdata / "videos/one-by-one-person-detection.mp4"),
                    "loop": True,
                    "fps_cap": 12,
                    "model": str(testdata / "models/fastestdet/FastestDet.onnx"),
                    "model_version": "1",
                    "threads": 1,
                    "motion": {"enabled": False},
                }
            ],
            "outbox": {"path": str(tmp / "outbox.sqlite")},
            "heartbeat_s": 60,
            "api": {"port": 0},
            "slo": {"latency_ms_p99": slo_ms, "window": 50, "recover_after_s": 600},
            "updates": {
                "pubkey": str(keys[1]),
                "state_dir": str(tmp / "state"),
                "trial_frames": 10,
                "watch_frames": 10,
                "token_file": "token",
                **upd,
            },
        }
    )


def run_with(config: AgentConfig, tmp: Path, bundle: Path | None, seconds: float) -> Agent:
    agent = Agent(config, tmp)
    agent.start()
    time.sleep(1.0)
    if bundle is not None:
        agent.apply_update(bundle)
    time.sleep(seconds)
    agent.stop(drain_s=0)
    return agent


def history(agent: Agent) -> list[dict]:
    return agent.cameras[0].updates.state["history"]  # type: ignore[union-attr]


def test_bundle_roundtrip_and_cli(
    tmp_path: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    bun = signed(tmp_path, keys, fastestdet, "2")
    m = b.verify(bun, keys[1])
    assert m["version"] == "2" and "FastestDet.onnx" in m["files"]
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "bundle",
            "verify",
            str(bun),
            "--pubkey",
            str(keys[1]),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "signature valid" in r.stdout
    assert "pub" in keys[1].name


def test_bad_signature_hash_mismatch_and_traversal_are_refused(
    tmp_path: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    other = b.generate_keys(tmp_path / "other")
    forged = b.create(fastestdet, "2", tmp_path / "forged.tar")
    b.sign(forged, other[0])
    with pytest.raises(b.BundleError, match="bad signature"):
        b.verify(forged, keys[1])
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edgeplan.cli.main import app; app()",
            "bundle",
            "verify",
            str(forged),
            "--pubkey",
            str(keys[1]),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "bad signature" in r.stderr
    # tamper with the model after signing: same manifest and signature, other bytes
    good = signed(tmp_path, keys, fastestdet, "3")
    with tarfile.open(good) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
    members["FastestDet.onnx"] = members["FastestDet.onnx"][:-10] + b"0" * 10
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(tampered, "w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    with pytest.raises(b.BundleError, match="hash mismatch"):
        b.verify(tampered, keys[1])
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(b.BundleError, match="path traversal"):
        b.verify(evil, keys[1])


def test_good_update_is_promoted_without_a_gap(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    agent = run_with(
        cfg(tmp_path, testdata, keys), tmp_path, signed(tmp_path, keys, fastestdet, "2"), 5
    )
    steps = [(h["step"], h["ok"]) for h in history(agent)]
    assert ("verify", True) in steps and ("stage", True) in steps and ("promote", True) in steps
    cam = agent.cameras[0]
    assert cam.updates.state["active"] == "2" and cam.updates.state["previous"] is None  # type: ignore[union-attr]
    assert cam.version == "2"
    dropped = agent.metrics.frames_dropped.labels("cam", "queue_full")._value.get()
    errors = agent.metrics.frames_dropped.labels("cam", "inference_error")._value.get()
    assert dropped == 0 and errors == 0  # no frame went unprocessed around the swap
    state = json.loads((tmp_path / "state/cam/state.json").read_text())
    assert state["active"] == "2"  # durable: survives a restart


def _zeroed(src: Path, dst: Path) -> Path:
    m = onnx.load(str(src))
    conv_weights = {n.input[1] for n in m.graph.node if n.op_type == "Conv"}
    for init in m.graph.initializer:
        if init.name in conv_weights:  # the learned filters, not shapes or scales
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 0, init.name))
    onnx.save(m, str(dst))
    return dst


@pytest.mark.parametrize("case", ["truncated", "input_shape", "slower_than_slo", "collapsed"])
def test_bad_updates_are_refused_with_the_reason(
    case: str, tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    slo = 10_000.0
    if case == "truncated":
        model = tmp_path / "FastestDet.onnx"
        model.write_bytes(fastestdet.read_bytes()[:5000])
        expect = ("stage", "cannot load")
    elif case == "input_shape":
        model = testdata / "models/yunet/yunet_n_320_320.onnx"
        expect = ("stage", "input shape")
    elif case == "slower_than_slo":
        model, slo = fastestdet, 0.5  # the current model keeps running (single level)
        expect = ("trial", "above the SLO")
    else:
        model = _zeroed(fastestdet, tmp_path / "FastestDet.onnx")
        # caught by agreement, or by the detection rate when the trial frames hold few objects
        expect = ("trial", "agreement|detection rate")
    agent = run_with(
        cfg(tmp_path, testdata, keys, slo_ms=slo), tmp_path, signed(tmp_path, keys, model, "2"), 4
    )
    refused = [h for h in history(agent) if not h["ok"]]
    assert refused and refused[0]["step"] == expect[0]
    assert any(reason in refused[0]["note"] for reason in expect[1].split("|")), refused[0]["note"]
    assert agent.cameras[0].updates.state["active"] is None  # type: ignore[union-attr]
    assert agent.cameras[0].version == "1"


def test_control_api_needs_the_token(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    agent = Agent(cfg(tmp_path, testdata, keys), tmp_path)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    url = f"http://127.0.0.1:{api.port}/control"
    bun = signed(tmp_path, keys, fastestdet, "2")
    try:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            r = httpx.post(f"{url}/update", json={"bundle": str(bun)}, headers=headers)
            assert r.status_code == 401
            assert httpx.post(f"{url}/rollback", headers=headers).status_code == 401
        assert agent.cameras[0].updates.trial is None  # type: ignore[union-attr]
        assert agent.cameras[0].updates.state["active"] is None  # type: ignore[union-attr]
        ok = httpx.post(
            f"{url}/update", json={"bundle": str(bun)}, headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert ok.status_code == 200 and ok.json()["result"]["cam"].startswith("trial")
        assert (
            httpx.get(f"{url}/updates", headers={"authorization": f"Bearer {TOKEN}"}).status_code
            == 200
        )
        assert (
            httpx.get(f"http://127.0.0.1:{api.port}/metrics").status_code == 200
        )  # read-only, open
    finally:
        agent.stop(drain_s=0)
        api.stop()


def test_manual_rollback_returns_to_the_previous_version(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    agent = Agent(cfg(tmp_path, testdata, keys), tmp_path)
    agent.start()
    time.sleep(1)
    agent.apply_update(signed(tmp_path, keys, fastestdet, "2"))
    time.sleep(4)
    assert agent.cameras[0].updates.state["active"] == "2"  # type: ignore[union-attr]
    agent.rollback("operator asked")
    time.sleep(1)
    agent.stop(drain_s=0)
    st = agent.cameras[0].updates.state  # type: ignore[union-attr]
    assert (
        st["active"] is None and st["previous"] == "2" and history(agent)[-1]["step"] == "rollback"
    )


@pytest.mark.parametrize("kill_after_s", [0.3, 1.0, 2.5])
def test_kill_9_leaves_a_consistent_version(
    kill_after_s: float, tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    config = cfg(tmp_path, testdata, keys, watch_dir=str(tmp_path / "inbox"))
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    (tmp_path / "inbox").mkdir()
    cmd = [
        sys.executable,
        "-c",
        "from edgeplan.cli.main import app; app()",
        "agent",
        "run",
        str(path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)  # running
    signed(tmp_path / "inbox", keys, fastestdet, "2")
    time.sleep(kill_after_s)
    os.kill(proc.pid, signal.SIGKILL)  # during verify / trial / promotion
    proc.wait()
    state_file = tmp_path / "state/cam/state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {"active": None}
    assert state["active"] in (None, "2")  # never a mix: the old version, or the new one promoted
    if state["active"] == "2":
        assert (tmp_path / "state/cam/versions/2/FastestDet.onnx").exists()
    # restart: it comes back on exactly that version
    agent = Agent(AgentConfig.model_validate(yaml.safe_load(path.read_text())), tmp_path)
    assert agent.cameras[0].version == (state["active"] or "1")
    assert not agent.cameras[0].chain.degraded
    agent.outbox.close()


def test_bundle_url_polled_with_etag_and_tls_control_api(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    """A real HTTP server offers the bundle with an ETag; the agent downloads it once, trials and
    promotes it; the control API is served over TLS with a self-signed certificate."""
    import datetime
    import ipaddress
    import ssl
    import threading

    import uvicorn
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from fastapi import FastAPI, Request, Response

    from tests.agent.conftest import free_port

    bun = signed(tmp_path, keys, fastestdet, "2")
    hits: list[int] = []
    app = FastAPI()

    @app.get("/bundle.tar")
    def bundle(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v2"':
            hits.append(304)
            return Response(status_code=304)
        hits.append(200)
        return Response(bun.read_bytes(), headers={"etag": '"v2"'})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "tls.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    config = cfg(tmp_path, testdata, keys, url=f"http://127.0.0.1:{port}/bundle.tar", poll_s=0.5)
    config = config.model_copy(
        update={"api": config.api.model_copy(update={"tls_cert": "tls.pem", "tls_key": "tls.key"})}
    )
    agent = Agent(config, tmp_path)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    try:
        time.sleep(6)
        r = httpx.get(
            f"https://127.0.0.1:{api.port}/control/updates",
            verify=ssl.create_default_context(cafile=str(tmp_path / "tls.pem")),
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200 and r.json()["cam"]["active"] == "2"
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on the TLS port
            httpx.get(f"http://127.0.0.1:{api.port}/healthz", timeout=2).raise_for_status()
    finally:
        agent.stop(drain_s=0)
        api.stop()
        server.should_exit = True
    assert hits[0] == 200 and 304 in hits and hits.count(200) == 1  # downloaded once


def test_yunet_n_to_s_update_made_with_its_card_is_promoted(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path]
) -> None:
    """A good, different model (YuNet s replacing n) made with `bundle create --card` keeps its
    card in the bundle: the agent decodes it with that card and the trial agrees."""
    from edgeplan.backends.predict import load_model

    original = testdata / "models/yunet/yunet_s_320_320.onnx"
    card = tmp_path / "yunet-s.card.yaml"
    card.write_text(yaml.safe_dump(load_model(original).card.model_dump(mode="json")))
    # the user's own export of the same network: no built-in card matches its bytes (its
    # family's is a fallback, matched by its outputs); the card in the bundle says how to
    # preprocess it, and the agent keeps it with the version
    m = onnx.load(str(original))
    m.doc_string = "retrained in-house"
    yunet_s = tmp_path / "yunet_s_320_320.onnx"
    onnx.save(m, str(yunet_s))
    assert "matched by its outputs" in load_model(yunet_s).card_source
    out = tmp_path / "yunet-s.tar"
    for args in (
        [
            "bundle",
            "create",
            str(yunet_s),
            "--version",
            "s-1",
            "--out",
            str(out),
            "--card",
            str(card),
        ],
        ["bundle", "sign", str(out), "--key", str(keys[0])],
    ):
        r = subprocess.run(
            [sys.executable, "-c", "from edgeplan.cli.main import app; app()", *args],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
    manifest = b.verify(out, keys[1])
    assert manifest["card"] == "yunet_s_320_320.card.yaml" and manifest["card"] in manifest["files"]
    config = cfg(tmp_path, testdata, keys, min_agreement=0.5)
    cam = config.cameras[0].model_copy(
        update={
            "model": str(testdata / "models/yunet/yunet_n_320_320.onnx"),
            "source": str(testdata / "videos/asl_gestures/again.mkv"),  # faces in view
        }
    )
    config = config.model_copy(update={"cameras": [cam]})
    agent = run_with(config, tmp_path, out, 8)
    steps = [(h["step"], h["ok"], h["note"]) for h in history(agent)]
    assert ("promote", True) in [(s, ok) for s, ok, _ in steps], steps
    promoted = next(n for s, ok, n in steps if s == "promote")
    assert "agreement 0.0" not in promoted and "detection rate x1" in promoted, promoted
    assert agent.cameras[0].updates.state["active"] == "s-1"  # type: ignore[union-attr]
    assert agent.cameras[0].updates.state["cards"]["s-1"] == "yunet_s_320_320.card.yaml"  # type: ignore[union-attr]


def test_a_truncated_bundle_is_refused_on_every_path(
    tmp_path: Path, testdata: Path, keys: tuple[Path, Path], fastestdet: Path
) -> None:
    """`bundle verify` exits with the reason and no traceback; the control API answers 422 with
    an update event and the refused counter; the watched folder keeps watching, so a good
    bundle dropped in after the bad one is applied."""
    good = signed(tmp_path, keys, fastestdet, "2")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    r = subprocess.run(
        [sys.executable, "-c", "from edgeplan.cli.main import app; app()", "bundle", "verify",
         str(cut), "--pubkey", str(keys[1])],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 7 and "not a readable bundle" in r.stderr
    assert "Traceback" not in r.stderr
    watch = tmp_path / "incoming"
    agent = Agent(cfg(tmp_path, testdata, keys, watch_dir=str(watch)), tmp_path)
    api = ApiServer(agent, "127.0.0.1", 0)
    agent.start()
    api.start()
    auth = {"authorization": f"Bearer {TOKEN}"}
    try:
        res = httpx.post(f"http://127.0.0.1:{api.port}/control/update",
                         json={"bundle": str(cut)}, headers=auth)  # fmt: skip
        assert res.status_code == 422
        note = res.json()["result"]["cam"]
        assert note.startswith("refused: ") and "refused: refused" not in note
        metrics = httpx.get(f"http://127.0.0.1:{api.port}/metrics").text
        assert 'edgeplan_update_steps_total{camera="cam",result="refused",step="verify"} 1.0' in (
            metrics
        )
        watch.mkdir(exist_ok=True)
        (watch / "a-cut.tar").write_bytes(cut.read_bytes())
        time.sleep(2.5)
        assert "refused" in (watch / "a-cut.applied").read_text()
        assert any(t.name == "watch" and t.is_alive() for t in agent.threads)
        (watch / "b-good.tar").write_bytes(good.read_bytes())
        end = time.time() + 15
        while time.time() < end and not (watch / "b-good.applied").exists():
            time.sleep(0.2)
        assert "trial: 2" in (watch / "b-good.applied").read_text()
    finally:
        agent.stop(drain_s=0)
        api.stop()
    notes = [h["note"] for h in history(agent)]
    assert any("not a readable bundle" in n for n in notes)
