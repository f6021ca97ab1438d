"""Site deployments written by `edgeplan plan`, runnable as written by `edgeplan agent run`.

For each site, `OUT/sites/<site>/`:
- `agents/<name>.yaml`: one agent config per edge device (a dedicated device per camera for the
  on-device, hybrid and cloud-fallback patterns; one per pooled shared device), validated against
  the agent's schema before it is written;
- `servers/<device>.sh`: federated edge: the command that serves the heavier model on the site
  device the cameras escalate to (`edgeplan cloud serve`, the same protocol as a cloud endpoint);
- `models/`: the chosen model files (the int8 variant where the plan chose it) with their cards,
  and the same-device fallback models;
- `clips/`: generated clips for `demo:clip:*` sources;
- `bundles/` and `keys/`: with a signing key, signed bundles of every model and the public key;
- `README.md`: which config goes on which device, and what could not be deployed and why.
"""

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from edgeplan.catalogue.load import Catalogue
from edgeplan.errors import ConfigError
from edgeplan.pipeline.evidence import Evidence
from edgeplan.pipeline.refs import expand_path
from edgeplan.planning.output import Decision, Option, Plan
from edgeplan.spec.agent import AgentConfig
from edgeplan.spec.fleet import Camera, CloudOption, Fleet

EDGE_PATTERNS = ("on-device", "shared-site-device", "hybrid", "cloud-fallback", "federated-edge")
SITE_SERVER_URL = "http://127.0.0.1:8500"  # federated edge, when the site states none
# backends the agent tries, best first, by device kind and model format; the format's CPU
# backend always closes the chain so the same files also run on a plain host
ACCELERATED = {
    ("gpu-soc", "onnx"): ["onnxruntime:tensorrt", "onnxruntime:cuda"],
    ("gpu", "onnx"): ["onnxruntime:tensorrt", "onnxruntime:cuda"],
    ("cpu", "openvino-ir"): ["openvino"],
}
# vendor accelerators onnxruntime reaches through an EP, by catalogue id prefix
VENDOR_EP = {
    "qualcomm-": ["onnxruntime:qnn"],
    "apple-": ["onnxruntime:coreml"],
    "amd-": ["onnxruntime:migraphx", "onnxruntime:rocm"],
}
CPU_BACKEND = {"onnx": "onnxruntime", "tflite": "litert", "openvino-ir": "openvino"}


@dataclass
class SiteFiles:
    """What one site folder holds, for the summary and the README."""

    site: str
    folder: Path
    agents: dict[str, Path] = field(default_factory=dict)  # name -> config
    devices: dict[str, str] = field(default_factory=dict)  # name -> hardware id
    bundles: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)  # site device -> serve command


def _source(cam: Camera, base: Path, folder: Path) -> tuple[str | None, bool, str]:
    """(source for the agent config, loop it, note)."""
    src = cam.source
    if src is None:
        return None, False, f"{cam.id}: no `source:` in fleet.yaml: set it before `agent run`"
    if src.startswith("demo:clip:"):
        from edgeplan.demo.data import render_clip

        kind = src.removeprefix("demo:clip:")
        if kind not in ("faces", "labels"):
            raise ConfigError(f"camera {cam.id}: source {src!r}: allowed demo:clip:faces, :labels")
        clip = render_clip(folder / "clips" / f"{kind}.avi", kind)
        return os.path.relpath(clip, folder / "agents"), True, ""
    if "://" in src or src.startswith("/dev/"):
        return src, False, ""
    path = expand_path(src, base, f"camera {cam.id} source")
    note = "" if path.exists() else f"{cam.id}: source {path} does not exist here"
    return str(path), False, note


def _copy_model(path: Path, card: Path | None, name: str, folder: Path) -> tuple[str, str]:
    """Copy a model (+ OpenVINO .bin) and write its card beside it; paths relative to agents/."""
    from edgeplan.backends.predict import load_model

    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    target = models / f"{name}{path.suffix}"
    shutil.copyfile(path, target)
    if path.suffix == ".xml":
        shutil.copyfile(path.with_suffix(".bin"), target.with_suffix(".bin"))
    found = load_model(path, card=card if card and card.is_file() else None).card
    card_file = target.with_suffix(".card.yaml")
    card_file.write_text(yaml.safe_dump(found.model_dump(mode="json"), sort_keys=False))
    rel = Path("..") / "models"
    return str(rel / target.name), str(rel / card_file.name)


def _model_files(o: Option, ev: Evidence) -> tuple[Path, Path | None, str] | None:
    """(file, card, name) of what an option deploys; None for a catalogue-only model."""
    ref = ev.refs.get(o.model or "")
    if ref is None or ref.path is None:
        return None
    stem = ref.path.stem
    if o.deployed_model:
        p = Path(o.deployed_model)
        tag = (o.variant or "variant").split("(")[0].replace("-static", "")
        return p, p.parent / "model.card.yaml", f"{stem}.{tag}"
    return ref.path, None, stem


def _backends(kind: str, fmt: str, device: str = "") -> list[str]:
    vendor = next((v for p, v in VENDOR_EP.items() if device.startswith(p)), [])
    accel = vendor if vendor and fmt == "onnx" else ACCELERATED.get((kind, fmt), [])
    return [*accel, CPU_BACKEND.get(fmt, "onnxruntime")]


def _escalation(
    d: Decision, o: Option, cam: Camera, opt: CloudOption | None, plan: Plan
) -> dict[str, Any]:
    """The hybrid's escalation: band, budget and endpoint, from the plan."""
    w = cam.workloads[d.workload]
    active = w.duty_cycle.active_fraction if w.duty_cycle.mode == "motion" else 1.0
    per_min = max(1, math.ceil(o.escalation_rate * cam.fps * active * 60 * 2))  # 2x headroom
    usd = 0.0
    if opt is not None and opt.kind == "api":
        usd = (opt.usd_per_1000_images or 0.0) / 1000
    elif opt is not None:
        fig = plan.evidence.get(f"{o.cloud_model}@{o.cloud}")
        tput = fig.throughput_fps if fig else 1.0
        usd = (opt.usd_per_hour or 0.0) / 3600 / max(tput * opt.utilisation, 1e-9)
    return {
        "url": opt.endpoint if opt else None,
        "model": opt.model_name if opt else "edgeplan",
        "band": list(o.escalation_band or (0.3, 0.6)),
        "max_per_minute": per_min,
        "usd_per_escalation": round(usd, 6),
        "max_usd_per_day": round(max(usd * per_min * 60 * cam.hours_per_day, 0.01), 2),
    }


class SiteWriter:
    """Writes one site's folder from the plan's decisions for that site."""

    def __init__(
        self,
        plan: Plan,
        fleet: Fleet,
        base: Path,
        cat: Catalogue,
        ev: Evidence,
        out: Path,
        generated_by: str,
    ) -> None:
        self.plan, self.fleet, self.base, self.cat, self.ev = plan, fleet, base, cat, ev
        self.out, self.generated_by = out, generated_by
        self.cams = {c.id: c for c in fleet.cameras}
        self.clouds = {c.id: c for c in fleet.cloud}

    def camera_config(self, d: Decision, files: SiteFiles) -> dict[str, Any] | None:
        o, cam = d.chosen, self.cams[d.camera]
        if o is None or o.pattern not in EDGE_PATTERNS or not o.hardware:
            what = f"{o.pattern} on {o.cloud}" if o else "no feasible option"
            files.notes.append(f"{d.camera}: {what}: no model runs at the edge, no agent config")
            return None
        chosen = _model_files(o, self.ev)
        if chosen is None:
            files.notes.append(f"{d.camera}: {o.model} is a catalogue id, not a file to deploy")
            return None
        src, loop, note = _source(cam, self.base, files.folder)
        if note:
            files.notes.append(note)
        kind = self.cat.device(o.hardware).kind
        path, card, name = chosen
        model, card_rel = _copy_model(path, card, name, files.folder)
        from edgeplan.models.files import open_model

        rule = self.cat.rule(self.cat.device(o.hardware))
        fmt = open_model(path).format
        if rule is not None and fmt not in rule.formats:
            files.notes.append(
                f"{d.camera}: {o.hardware} runs {'/'.join(rule.formats)} built by "
                f"{rule.compiler}; this config runs the validated {Path(model).name} with "
                f"{_backends(kind, fmt)[-1]} on the host CPU until that build exists"
            )
        w = cam.workloads[d.workload]
        cfg: dict[str, Any] = {
            "id": cam.id,
            "source": src,
            "loop": loop,
            "fps_cap": cam.fps,
            "model": model,
            "model_version": self.plan.run.get("generated_utc", "plan"),
            "card": card_rel,
            "backends": _backends(kind, open_model(path).format, o.hardware),
            "precision": o.variant or ("fp16" if kind in ("gpu-soc", "vpu") else "fp32"),
            "latency_budget_ms": d.latency_budget_ms or w.latency_budget_ms,
            "motion": {"enabled": w.duty_cycle.mode == "motion"},
        }
        fb = d.fallback
        fb_files = _model_files(fb, self.ev) if fb is not None else None
        if fb is not None and fb_files is not None:
            fpath, fcard, fname = fb_files
            fmodel, fcard_rel = _copy_model(fpath, fcard, fname, files.folder)
            fb_cfg = {
                "model": fmodel,
                "card": fcard_rel,
                "backends": _backends(kind, open_model(fpath).format, o.hardware),
            }
            cfg["fallback_models"] = [fb_cfg | ({"precision": fb.variant} if fb.variant else {})]
        if o.pattern == "federated-edge":
            cfg["escalation"] = self.site_server(d, o, cam, files)
        if o.pattern == "hybrid":
            cfg["escalation"] = _escalation(d, o, cam, self.clouds.get(o.cloud or ""), self.plan)
            if not cfg["escalation"]["url"]:
                files.notes.append(
                    f"{d.camera}: hybrid, but cloud option {o.cloud} has no `endpoint:`"
                )
        return cfg

    def site_server(self, d: Decision, o: Option, cam: Camera, files: SiteFiles) -> dict:
        """Federated edge: the site device serves the heavier model; the camera escalates to
        it as a hybrid does to the cloud (no price per escalation)."""
        site = next(s for s in self.fleet.sites if s.id == cam.site)
        url = site.server_url or SITE_SERVER_URL
        if site.server_url is None:
            files.notes.append(
                f"{d.camera}: escalates to {url} (set sites[].server_url to the "
                f"{o.site_hardware} device's address)"
            )
        heavy = o.model_copy(update={"model": o.cloud_model, "deployed_model": None})
        got = _model_files(heavy, self.ev)
        if got is None:
            files.notes.append(f"{d.camera}: {o.cloud_model} is a catalogue id, not a file")
        else:
            path, card, name = got
            model, _ = _copy_model(path, card, name, files.folder)
            parts = urlsplit(url)
            host = "127.0.0.1" if parts.hostname in ("127.0.0.1", "localhost") else "0.0.0.0"
            files.servers.setdefault(
                o.site_hardware or "site",
                f"edgeplan cloud serve {model} --host {host} --port {parts.port or 80}",
            )
        esc = _escalation(d, o, cam, None, self.plan)
        return esc | {"url": url, "model": "edgeplan", "usd_per_escalation": 0.0}

    def agent_config(self, name: str, cameras: list[dict], files: SiteFiles, device: str) -> dict:
        dep = self.fleet.deploy
        cfg: dict[str, Any] = {
            "site": files.site,
            "device": device,
            "generated_by": self.generated_by,
            "cameras": cameras,
            "outbox": {"path": f"../state/{name}/outbox.sqlite"},
            "api": {"port": dep.api_port},
        }
        if dep.mqtt is not None:
            cfg["mqtt"] = {
                **dep.mqtt.model_dump(),
                "client_id": f"edgeplan-{files.site}-{name}",
            }
        if dep.webhook_url:
            cfg["webhook"] = {"url": dep.webhook_url}
        AgentConfig.model_validate(cfg)  # never write a config the agent would reject
        return cfg


def write_sites(
    plan: Plan,
    fleet: Fleet,
    base: Path,
    cat: Catalogue,
    ev: Evidence,
    out: Path,
    generated_by: str,
    sign_key: Path | None = None,
) -> list[SiteFiles]:
    """Every site's folder; returns what was written."""
    writer = SiteWriter(plan, fleet, base, cat, ev, out, generated_by)
    result = []
    shutil.rmtree(out / "sites", ignore_errors=True)
    for site in fleet.sites:
        files = SiteFiles(site.id, out / "sites" / site.id)
        (files.folder / "agents").mkdir(parents=True, exist_ok=True)
        groups: dict[str, tuple[str, list[dict]]] = {}
        for d in plan.decisions:
            if d.site != site.id:
                continue
            cfg = writer.camera_config(d, files)
            if cfg is None or d.chosen is None or d.chosen.hardware is None:
                continue
            hw = d.chosen.hardware
            shared = d.chosen.pattern == "shared-site-device"
            name = f"shared-{hw}" if shared else d.camera
            groups.setdefault(name, (hw, []))[1].append(cfg)
        for name, (hw, cams) in groups.items():
            cfg = writer.agent_config(name, cams, files, hw)
            if sign_key is not None:
                _sign(cfg, files, sign_key)
            path = files.folder / "agents" / f"{name}.yaml"
            header = (
                f"# {generated_by}\n# site {site.id}, device {hw}: "
                f"edgeplan agent run sites/{site.id}/agents/{path.name}\n"
            )
            path.write_text(header + yaml.safe_dump(cfg, sort_keys=False))
            files.agents[name], files.devices[name] = path, hw
        _servers(files)
        _readme(files)
        result.append(files)
    return result


def _sign(cfg: dict, files: SiteFiles, key: Path) -> None:
    """Signed bundles of the config's models, the public key, and an `updates:` section."""
    from cryptography.hazmat.primitives import serialization

    from edgeplan.updates import bundle

    priv = serialization.load_pem_private_key(key.read_bytes(), password=None)
    keys = files.folder / "keys"
    keys.mkdir(exist_ok=True)
    pub = keys / "edgeplan-signing.pub.pem"
    pub.write_bytes(
        priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    agents = files.folder / "agents"
    for cam in cfg["cameras"]:
        model = (agents / cam["model"]).resolve()
        out = files.folder / "bundles" / f"{model.stem}.tar"
        if out not in files.bundles:
            bundle.create(model, cam["model_version"], out, (agents / cam["card"]).resolve())
            bundle.sign(out, key)
            files.bundles.append(out)
    name = Path(cfg["outbox"]["path"]).parent.name
    cfg["updates"] = {
        "pubkey": "../keys/edgeplan-signing.pub.pem",
        "state_dir": f"../state/{name}/updates",
        "watch_dir": f"../incoming/{name}",
    }


def _servers(files: SiteFiles) -> None:
    """One script per site device that serves escalations (run from its folder)."""
    if not files.servers:
        return
    folder = files.folder / "servers"
    folder.mkdir(exist_ok=True)
    for hw, cmd in files.servers.items():
        script = folder / f"{hw}.sh"
        script.write_text(f"#!/bin/sh\n# site {files.site}: serves escalations on {hw}\n"
                          f'cd "$(dirname "$0")" && exec {cmd}\n')  # fmt: skip
        script.chmod(0o755)


def _readme(files: SiteFiles) -> None:
    lines = [f"# Site {files.site}", "", "| agent config | device |", "|---|---|"]
    lines += [f"| agents/{p.name} | {files.devices[n]} |" for n, p in files.agents.items()]
    lines += [
        f"| servers/{hw}.sh | {hw} (serves the cameras' escalations) |" for hw in files.servers
    ]
    if files.bundles:
        lines += ["", "Signed bundles: " + ", ".join(f"bundles/{b.name}" for b in files.bundles)]
    if files.notes:
        lines += ["", "## Not deployed as is", "", *[f"- {n}" for n in files.notes]]
    lines += ["", "Run an agent: `cd agents && edgeplan agent run <config>.yaml`."]
    (files.folder / "README.md").write_text("\n".join(lines) + "\n")
