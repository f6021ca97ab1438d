"""Bundles: a tar of the model files, its card and a manifest with the sha256 of every file,
signed with Ed25519 over the manifest. Unpacking refuses path traversal, links, oversized members
and files the manifest does not list."""

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgeplan.errors import EdgeplanError

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MAX_MEMBER_BYTES = 2 * 2**30


class BundleError(EdgeplanError):
    """A bundle is invalid, unsigned, tampered with or unsafe; nothing was installed."""

    exit_code = 7


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generate_keys(out: Path) -> tuple[Path, Path]:
    """An Ed25519 private key and its public key (file name contains `pub`)."""
    out.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    priv, pub = out / "edgeplan-signing.key", out / "edgeplan-signing.pub.pem"
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    priv.chmod(0o600)
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def create(model: Path, version: str, out: Path, card: Path | None = None) -> Path:
    """Model file(s) (+ an OpenVINO .bin), the card, and the manifest. The card is stored as
    `<model>.card.yaml`, where the agent looks for a model's card, and named in the manifest."""
    if not model.is_file():
        raise BundleError(f"{model}: model file not found")
    files = {model.name: model.read_bytes()}
    if model.suffix == ".xml" and model.with_suffix(".bin").exists():
        files[model.with_suffix(".bin").name] = model.with_suffix(".bin").read_bytes()
    card = card or (
        model.with_suffix(".card.yaml") if model.with_suffix(".card.yaml").exists() else None
    )
    card_name = model.with_suffix(".card.yaml").name if card is not None else None
    if card is not None:
        if not card.is_file():
            raise BundleError(f"{card}: card file not found")
        files[card_name] = card.read_bytes()  # type: ignore[index]
    manifest = {
        "version": version,
        "model": model.name,
        "card": card_name,
        "created_unix": int(time.time()),
        "files": {n: _sha(d) for n, d in files.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        for n, d in files.items():
            _add(tar, n, d)
    return out


def sign(bundle: Path, key: Path) -> None:
    """Append the Ed25519 signature of the manifest."""
    try:
        priv = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, OSError) as exc:
        raise BundleError(f"{key}: not a readable private key ({exc})") from exc
    if not isinstance(priv, Ed25519PrivateKey):
        raise BundleError(f"{key}: not an Ed25519 key")
    with tarfile.open(bundle, "r") as tar:
        manifest = _read(tar, MANIFEST)
    with tarfile.open(bundle, "a") as tar:
        _add(tar, SIGNATURE, priv.sign(manifest))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        f = tar.extractfile(name)
    except KeyError as exc:
        raise BundleError(f"bundle has no {name}") from exc
    if f is None:
        raise BundleError(f"bundle member {name} is not a file")
    return f.read()


def _check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        p = Path(m.name)
        if m.name.startswith("/") or ".." in p.parts or len(p.parts) != 1:
            raise BundleError(f"member {m.name!r} escapes the bundle (path traversal)")
        if not m.isfile():
            raise BundleError(f"member {m.name!r} is a link or special file")
        if m.size > MAX_MEMBER_BYTES:
            raise BundleError(f"member {m.name!r} is {m.size} bytes (limit {MAX_MEMBER_BYTES})")
    return members


def verify(bundle: Path, pubkey: Path) -> dict:
    """The manifest if the signature and every hash match and nothing unknown is inside."""
    try:
        pub = serialization.load_pem_public_key(pubkey.read_bytes())
    except (ValueError, OSError) as exc:
        raise BundleError(f"{pubkey}: not a readable public key ({exc})") from exc
    if not isinstance(pub, Ed25519PublicKey):
        raise BundleError(f"{pubkey}: not an Ed25519 public key")
    try:
        return _verify(bundle, pub)
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError, TypeError,
            AttributeError) as exc:  # fmt: skip
        # a truncated or corrupt tar (e.g. `unexpected end of data`), a manifest that is not
        # JSON or not the expected shape
        raise BundleError(f"{bundle}: not a readable bundle ({type(exc).__name__}: {exc})") from exc


def _verify(bundle: Path, pub: Ed25519PublicKey) -> dict:
    with tarfile.open(bundle, "r") as tar:
        members = _check_members(tar)
        raw = _read(tar, MANIFEST)
        try:
            pub.verify(_read(tar, SIGNATURE), raw)
        except InvalidSignature as exc:
            raise BundleError(
                f"{bundle}: bad signature (not signed by this key, or altered)"
            ) from exc
        manifest = json.loads(raw)
        if not (
            isinstance(manifest, dict)
            and isinstance(manifest.get("files"), dict)
            and isinstance(manifest.get("model"), str)
            and manifest["model"] in manifest["files"]
            and all(isinstance(v, str) for v in manifest["files"].values())
        ):
            raise BundleError(
                f"{bundle}: manifest must map `files` to sha256 hashes and name its `model`"
            )
        listed = set(manifest["files"]) | {MANIFEST, SIGNATURE}
        unknown = sorted({m.name for m in members} - listed)
        if unknown:
            raise BundleError(f"{bundle}: files not in the manifest: {unknown}")
        for name, digest in manifest["files"].items():
            if _sha(_read(tar, name)) != digest:
                raise BundleError(f"{bundle}: hash mismatch for {name}")
    return manifest


def unpack(bundle: Path, pubkey: Path, dest: Path) -> dict:
    """Verify, then extract into `dest` (which must not exist) atomically via a temp dir."""
    manifest = verify(bundle, pubkey)
    tmp = dest.with_name(dest.name + ".partial")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(bundle, "r") as tar:
            for name in manifest["files"]:
                (tmp / name).write_bytes(_read(tar, name))
    except (tarfile.TarError, EOFError, OSError) as exc:  # changed since it was verified
        shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(f"{bundle}: not readable while unpacking ({exc})") from exc
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return manifest
