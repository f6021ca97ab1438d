"""Read the catalogue CSVs (package data), optionally merged with user overrides by id."""

import csv
import difflib
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

from edgeplan.errors import ConfigError


def _f(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Hardware:
    id: str
    name: str
    kind: str
    int8_tops: float | None
    fp16_tflops: float | None
    fp32_tflops: float | None
    mem_gb: float | None
    mem_bw_gbs: float | None
    power_min_w: float | None
    power_max_w: float | None
    price_usd: float | None
    interface: str
    end_of_support: str
    source: str
    note: str
    requires_host: bool = False  # a USB/M.2 accelerator: a host computer drives it
    default_host: str | None = None  # the host assumed when the fleet names none
    decode_1080p_fps: float | None = None  # 1080p H.264 frames/s it decodes (hosts)
    hosting_note: str = ""


@dataclass(frozen=True)
class ModelFacts:
    id: str
    task: str
    input_h: int | None
    input_w: int | None
    params_m: float | None
    gmacs: float | None
    top1: float | None
    map50_95: float | None
    source: str
    kernels: frozenset[str] = frozenset()  # kernel tags (projection/kernels.py TAGGED)
    layers: int | None = None  # weighted layers run per inference (conv + fully connected)
    layers_estimate: int | None = None  # when `layers` is not known: its task's median count
    # weighted layers on the longest input-to-output path (a branchy network runs its branches'
    # layers side by side), when counted
    depth: int | None = None
    # MACs in matrix products (fully-connected layers, attention's products), when counted
    gemm_gmacs: float | None = None
    # of those, attention's activation-by-activation products (no weights), when counted
    attention_gmacs: float | None = None
    # MACs in depthwise convolutions (one input channel per group), when counted
    depthwise_gmacs: float | None = None
    # else, for a depthwise-tagged model: its task's median depthwise share of MACs
    depthwise_share_estimate: float | None = None
    # activation elements (millions) the weighted layers read and write, when counted
    act_elements_m: float | None = None
    act_elements_estimate: float | None = None  # else: GMACs x its task's median per GMAC
    # whole-map reductions whose map is read again (squeeze-and-excitation gates), when counted
    global_gates: int | None = None


@dataclass(frozen=True)
class Published:
    device_id: str
    config: str
    model_id: str
    framework: str
    precision: str
    batch: str
    metric: str
    value: float | None
    source: str


@dataclass(frozen=True)
class DeployRule:
    kind: str
    precisions: tuple[str, ...]
    formats: tuple[str, ...]
    compiler: str
    note: str
    weight_cache_mb: float = 0.0  # parameters the chip keeps on-chip; the rest streams per call


@dataclass
class Catalogue:
    hardware: dict[str, Hardware]
    models: dict[str, ModelFacts]
    published: list[Published]
    prices: dict[str, dict[str, str]]
    rules: dict[str, DeployRule]
    origin: list[str] = field(default_factory=list)

    def device(self, device_id: str) -> Hardware:
        if device_id not in self.hardware:
            near = difflib.get_close_matches(device_id, list(self.hardware), n=1)
            raise ConfigError(
                f"device {device_id!r} is not in the catalogue"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f"; catalogue device ids: {', '.join(sorted(self.hardware))}"
            )
        return self.hardware[device_id]

    def rule(self, hw: Hardware) -> "DeployRule | None":
        """The deployment rule of a device: a vendor rule (its key a prefix of the device id,
        e.g. `qualcomm-`) before its kind's."""
        for key, r in self.rules.items():
            if key.endswith("-") and hw.id.startswith(key):
                return r
        return self.rules.get(hw.kind)

    def price(self, item: str) -> float | None:
        row = self.prices.get(item)
        return _f(row["value"]) if row else None


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


def _builtin(name: str) -> str:
    return resources.files("edgeplan.catalogue").joinpath(f"data/{name}").read_text()


def _hardware(r: dict[str, str]) -> Hardware:
    return Hardware(
        id=r["id"],
        name=r.get("name", r["id"]),
        kind=r.get("kind", "cpu"),
        int8_tops=_f(r.get("int8_tops")),
        fp16_tflops=_f(r.get("fp16_tflops")),
        fp32_tflops=_f(r.get("fp32_tflops")),
        mem_gb=_f(r.get("mem_gb")),
        mem_bw_gbs=_f(r.get("mem_bw_gbs")),
        power_min_w=_f(r.get("power_min_w")),
        power_max_w=_f(r.get("power_max_w")),
        price_usd=_f(r.get("price_usd")),
        interface=r.get("interface", ""),
        end_of_support=r.get("end_of_support", "") or "",
        source=r.get("source", "user file"),
        note=r.get("note", ""),
        requires_host=str(r.get("requires_host", "")).lower() in ("yes", "true", "1"),
        default_host=r.get("default_host") or None,
        decode_1080p_fps=_f(r.get("decode_1080p_fps")),
        hosting_note=r.get("hosting_note", ""),
    )


def _hosting(r: dict[str, str] | None) -> dict[str, str]:
    """hosting.csv columns for a hardware row (its note and source joined into one)."""
    if r is None:
        return {}
    note = f"{r.get('note', '')} ({r.get('source', '')}; verified: {r.get('verified', '')})"
    return {
        "requires_host": r.get("requires_host", ""),
        "default_host": r.get("default_host", ""),
        "decode_1080p_fps": r.get("decode_1080p_fps", ""),
        "hosting_note": note,
    }


def _model(r: dict[str, str]) -> ModelFacts:
    h, w = _f(r.get("input_h")), _f(r.get("input_w"))
    return ModelFacts(
        id=r["id"],
        task=r.get("task", ""),
        input_h=int(h) if h else None,
        input_w=int(w) if w else None,
        params_m=_f(r.get("params_m")),
        gmacs=_f(r.get("gmacs")),
        top1=_f(r.get("top1")),
        map50_95=_f(r.get("map50_95")),
        source=r.get("source", "user file"),
        kernels=_kernel_tags(r),
        layers=_layers(r),
        depth=_layers(r, "depth"),
        gemm_gmacs=_non_negative(r, "gemm_gmacs"),
        attention_gmacs=_attention_gmacs(r),
        depthwise_gmacs=_non_negative(r, "depthwise_gmacs"),
        act_elements_m=_non_negative(r, "act_elements_m"),
        global_gates=_count(r, "global_gates"),
    )


def _non_negative(r: dict[str, str], column: str) -> float | None:
    v = _f(r.get(column))
    if v is not None and v < 0:
        raise ConfigError(f"catalogue model {r.get('id')!r}: {column}: {v} is negative")
    return v


def _attention_gmacs(r: dict[str, str]) -> float | None:
    """Attention's products are part of a model's matrix products: never more than them."""
    v, gemm = _non_negative(r, "attention_gmacs"), _non_negative(r, "gemm_gmacs")
    if v is not None and v > (gemm or 0.0) + 1e-9:
        raise ConfigError(
            f"catalogue model {r.get('id')!r}: attention_gmacs: {v} is more than gemm_gmacs "
            f"({gemm or 0.0}), which includes it"
        )
    return v


def _layers(r: dict[str, str], column: str = "layers") -> int | None:
    return _count(r, column, least=1)


def _count(r: dict[str, str], column: str, least: int = 0) -> int | None:
    """A whole number >= `least` in `column`, or None when empty."""
    n = _f(r.get(column))
    if n is not None and (n < least or n != int(n)):
        raise ConfigError(
            f"catalogue model {r.get('id')!r}: {column}: {n} is not a count >= {least}"
        )
    return int(n) if n is not None else None


def _kernel_tags(r: dict[str, str]) -> frozenset[str]:
    from edgeplan.projection.kernels import parse_tags

    try:
        return parse_tags(r.get("kernels") or "")
    except ValueError as exc:
        raise ConfigError(f"catalogue model {r.get('id')!r}: kernels: {exc}") from exc


def _published(r: dict[str, str]) -> Published:
    return Published(
        device_id=r["device_id"],
        config=r.get("config", ""),
        model_id=r["model_id"],
        framework=r.get("framework", ""),
        precision=r.get("precision", ""),
        batch=r.get("batch", ""),
        metric=r["metric"],
        value=_f(r.get("value")),
        source=r.get("source", "user file"),
    )


@lru_cache(maxsize=4)
def load_catalogue(user_file: Path | None = None) -> Catalogue:
    """The built-in catalogue; a user CSV (hardware or model-facts columns, keyed by `id`)
    adds or overrides rows."""
    hosting = {r["id"]: r for r in _rows(_builtin("hosting.csv"))}
    hw = {
        r["id"]: _hardware({**r, **_hosting(hosting.get(r["id"]))})
        for r in _rows(_builtin("hardware.csv"))
    }
    models = {r["id"]: _model(r) for r in _rows(_builtin("models.csv"))}
    pub = [_published(r) for r in _rows(_builtin("published_latency.csv"))]
    prices = {r["item"]: r for r in _rows(_builtin("cloud_prices.csv"))}
    rules = {
        r["kind"]: DeployRule(
            r["kind"],
            tuple(r["precisions"].split(";")),
            tuple(r["formats"].split(";")),
            r["compiler"],
            r["note"],
            _f(r.get("weight_cache_mb")) or 0.0,
        )
        for r in _rows(_builtin("deploy_rules.csv"))
    }
    origin = [
        "built-in (project reference set: hardware.csv, models.csv, published_latency.csv, "
        "cloud_prices.csv; hosting.csv)"
    ]
    if user_file is not None:
        try:
            rows = _rows(user_file.read_text())
        except OSError as exc:
            raise ConfigError(f"{user_file}: cannot read catalogue overrides ({exc})") from exc
        if not rows or "id" not in rows[0]:
            raise ConfigError(f"{user_file}: needs an `id` column (hardware or model rows)")
        for r in rows:
            if "kind" in r:
                hw[r["id"]] = _hardware(
                    {**_row_of(hw.get(r["id"])), **{k: v for k, v in r.items() if v}}
                )
            else:
                models[r["id"]] = _model(
                    {**_row_of(models.get(r["id"])), **{k: v for k, v in r.items() if v}}
                )
        origin.append(f"overrides from {user_file}")
    return Catalogue(
        hw,
        _with_depthwise_estimates(_with_activation_estimates(_with_layer_estimates(models))),
        pub,
        prices,
        rules,
        origin,
    )


def _task_medians(
    counted: list[ModelFacts], value: Callable[[ModelFacts], float], median: Callable[..., float]
) -> Callable[[str], float]:
    """The median of `value` over the counted models of a task, or over all counted models for
    a task with none: what a model without a count is estimated from."""
    every = median([value(m) for m in counted])
    tasks = {m.task for m in counted}
    by_task = {t: median([value(m) for m in counted if m.task == t]) for t in tasks}
    return lambda task: by_task.get(task, every)


def _with_layer_estimates(models: dict[str, ModelFacts]) -> dict[str, ModelFacts]:
    """Models without a counted layer count get the median count of the counted models of the
    same task (of all counted models when their task has none), marked as an estimate."""
    counted = [m for m in models.values() if m.layers]
    if not counted:
        return models
    of_task = _task_medians(counted, lambda m: m.layers or 0, statistics.median_low)
    return {
        k: m if m.layers else replace(m, layers_estimate=int(of_task(m.task)))
        for k, m in models.items()
    }


def _with_depthwise_estimates(models: dict[str, ModelFacts]) -> dict[str, ModelFacts]:
    """Depthwise-tagged models without counted depthwise MACs get the median depthwise share of
    the counted depthwise-tagged models of the same task (of all of them when their task has
    none), marked as an estimate."""
    counted = [
        m for m in models.values() if m.depthwise_gmacs and m.gmacs and "depthwise" in m.kernels
    ]
    if not counted:
        return models
    of_task = _task_medians(
        counted, lambda m: (m.depthwise_gmacs or 0.0) / (m.gmacs or 1.0), statistics.median
    )
    return {
        k: replace(m, depthwise_share_estimate=min(1.0, of_task(m.task)))
        if m.depthwise_gmacs is None and "depthwise" in m.kernels
        else m
        for k, m in models.items()
    }


def _with_activation_estimates(models: dict[str, ModelFacts]) -> dict[str, ModelFacts]:
    """Models without counted activations get their GMACs times the median activation elements
    per GMAC of the counted models of the same task (of all counted models when their task has
    none), marked as an estimate."""
    counted = [m for m in models.values() if m.act_elements_m and m.gmacs]
    if not counted:
        return models
    of_task = _task_medians(
        counted, lambda m: (m.act_elements_m or 0.0) / (m.gmacs or 1.0), statistics.median
    )
    return {
        k: replace(m, act_elements_estimate=m.gmacs * of_task(m.task))
        if m.act_elements_m is None and m.gmacs
        else m
        for k, m in models.items()
    }


def _row_of(obj: object) -> dict[str, str]:
    if obj is None:
        return {}
    return {
        k: "" if v is None else ";".join(sorted(v)) if isinstance(v, frozenset) else str(v)
        for k, v in obj.__dict__.items()
    }
