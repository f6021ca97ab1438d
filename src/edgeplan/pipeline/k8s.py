"""`plan --emit k8s`: the plan's site deployments as Kubernetes manifests.

For each site, `OUT/k8s/<site>.yaml` (one multi-document file, `kubectl apply -f`):
- a ConfigMap with the site's agent configs, exactly as `sites/<site>/agents/` has them, except
  that the API listens on every interface at API_PORT (the kubelet probes the pod's address);
- per agent, a Deployment pinned to its device by node labels (`edgeplan.io/site`,
  `edgeplan.io/device`), liveness on /healthz, readiness on /readyz, resource requests and the
  2 GiB memory limit the agent is built to, Prometheus scrape annotations, the site's files
  (models, cards, keys, clips) from a volume and the outbox on its own volume, so events survive
  a restarted pod;
- the PersistentVolumeClaims for both.
`OUT/k8s/cloud/<option>.yaml`: a KServe InferenceService per cloud option that hybrid cameras
escalate to, running `edgeplan cloud serve` (the Open Inference Protocol, v2) as the predictor's
container. `OUT/k8s/Containerfile` builds the image both use."""

import re
from pathlib import Path
from typing import Any

import yaml

import edgeplan
from edgeplan.pipeline.deploy import SiteFiles
from edgeplan.planning.output import Plan

API_PORT = 8080
MOUNT = "/etc/edgeplan"  # the site folder's layout: agents/, models/, keys/, clips/, state/
IMAGE = "edgeplan:{version}"
CONTAINERFILE = """\
# edgeplan agent and cloud tier (written by edgeplan {version})
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \\
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "edgeplan[onnxruntime,openvino,litert]=={version}"
USER 65532:65532
EXPOSE {port}
ENTRYPOINT ["edgeplan"]
"""


def dns_name(*parts: str) -> str:
    """A DNS-1123 name (lower case, digits, '-'; at most 63 characters)."""
    s = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return s[:63].rstrip("-") or "edgeplan"


def _labels(site: str, **more: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "edgeplan", "edgeplan.io/site": dns_name(site), **more}


def _pvc(name: str, site: str, mode: str, size: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": _labels(site)},
        "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}},
    }


def agent_config_for_k8s(text: str) -> dict[str, Any]:
    """A site agent config as the pod runs it: the API on every interface at API_PORT."""
    cfg = yaml.safe_load(text)
    cfg["api"] = {**cfg.get("api", {}), "host": "0.0.0.0", "port": API_PORT}
    return cfg


def _deployment(name: str, site: str, device: str, cm: str, files: str, state: str) -> dict:
    app = dns_name("edgeplan-agent", site, name)
    probe = {"httpGet": {"path": "/healthz", "port": API_PORT}, "periodSeconds": 10}
    ready = {"httpGet": {"path": "/readyz", "port": API_PORT}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": _labels(site, app=app)},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # one camera, one device, one outbox
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {
                    "labels": _labels(site, app=app),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(API_PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "nodeSelector": {
                        "edgeplan.io/site": dns_name(site),
                        "edgeplan.io/device": dns_name(device),
                    },
                    "containers": [
                        {
                            "name": "agent",
                            "image": IMAGE.format(version=edgeplan.__version__),
                            "args": ["agent", "run", f"{MOUNT}/agents/{name}.yaml"],
                            "ports": [{"name": "api", "containerPort": API_PORT}],
                            "livenessProbe": {**probe, "initialDelaySeconds": 20},
                            "readinessProbe": {**ready, "initialDelaySeconds": 5},
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"memory": "2Gi"},
                            },
                            "volumeMounts": [
                                {"name": "site-files", "mountPath": MOUNT, "readOnly": True},
                                {"name": "agents", "mountPath": f"{MOUNT}/agents"},
                                {"name": "state", "mountPath": f"{MOUNT}/state"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "site-files", "persistentVolumeClaim": {"claimName": files}},
                        {"name": "agents", "configMap": {"name": cm}},
                        {"name": "state", "persistentVolumeClaim": {"claimName": state}},
                    ],
                },
            },
        },
    }


def site_manifests(files: SiteFiles) -> list[dict[str, Any]]:
    site = files.site
    cm = dns_name("edgeplan-agents", site)
    site_pvc = dns_name("edgeplan-site", site)
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": cm, "labels": _labels(site)},
            "data": {
                f"{name}.yaml": yaml.safe_dump(
                    agent_config_for_k8s(path.read_text()), sort_keys=False
                )
                for name, path in files.agents.items()
            },
        },
        _pvc(site_pvc, site, "ReadOnlyMany", "2Gi"),
    ]
    for name in files.agents:
        state = dns_name("edgeplan-state", site, name)
        docs.append(_pvc(state, site, "ReadWriteOnce", "1Gi"))
        docs.append(_deployment(name, site, files.devices[name], cm, site_pvc, state))
    return docs


def inference_service(option: str, model_file: str) -> dict[str, Any]:
    """KServe v1beta1 InferenceService: `edgeplan cloud serve` as the predictor container (the
    v2 protocol, with the binary tensor extension), the model from `storageUri`."""
    name = dns_name("edgeplan-cloud", option)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "edgeplan"}},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": IMAGE.format(version=edgeplan.__version__),
                        "args": [
                            "cloud",
                            "serve",
                            f"/mnt/models/{model_file}",
                            "--host",
                            "0.0.0.0",
                            "--port",
                            str(API_PORT),
                        ],
                        "env": [{"name": "STORAGE_URI", "value": f"pvc://{name}-models"}],
                        "ports": [{"containerPort": API_PORT, "protocol": "TCP"}],
                        "readinessProbe": {
                            "httpGet": {"path": "/v2/health/ready", "port": API_PORT}
                        },
                        "resources": {
                            "requests": {"cpu": "1", "memory": "1Gi"},
                            "limits": {"memory": "4Gi"},
                        },
                    }
                ],
            }
        },
    }


def write_k8s(plan: Plan, sites: list[SiteFiles], out: Path) -> list[Path]:
    """Write the manifests; returns the files written."""
    import shutil

    root = out / "k8s"
    shutil.rmtree(root, ignore_errors=True)
    (root / "cloud").mkdir(parents=True)
    written = [root / "Containerfile"]
    written[0].write_text(CONTAINERFILE.format(version=edgeplan.__version__, port=API_PORT))
    for files in sites:
        if not files.agents:
            continue
        path = root / f"{dns_name(files.site)}.yaml"
        path.write_text(yaml.safe_dump_all(site_manifests(files), sort_keys=False))
        written.append(path)
    used = {
        (d.chosen.cloud, Path(d.chosen.cloud_model or "model").name)
        for d in plan.decisions
        if d.chosen and d.chosen.pattern == "hybrid" and d.chosen.cloud
    }
    for option, model in sorted(used):
        path = root / "cloud" / f"{dns_name(option)}.yaml"
        path.write_text(yaml.safe_dump(inference_service(option, model), sort_keys=False))
        written.append(path)
    return written
