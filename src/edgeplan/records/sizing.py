"""Sizing records: how each variant of a model was made (its lineage: parent sha256, pass,
configuration, calibration data sha256), what it measured, and whether it held the floor, so
`plan`, the report and `records show` can say how a deployed variant came to be."""

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgeplan.records.provenance import Provenance, measured

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class SizedVariant(BaseModel):
    """One variant the search built and measured (or could not)."""

    model_config = _FROZEN

    label: str
    backend: str
    path: str
    lineage: tuple[dict[str, Any], ...] = Field(
        description="Each step: pass, config, parent sha256, calibration sha256 when it used one."
    )
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    accuracy: float | None
    accuracy_ci95: tuple[float, float] | None
    speedup_vs_parent: float | None
    accepted: bool
    reason: str = ""
    under: dict[str, float] = Field(
        default_factory=dict, description="Accuracy under each declared deployment condition."
    )
    measured_on: str = Field("", description="Farm node id, when a Ray worker measured it.")


class SizingRecord(BaseModel):
    """`edgeplan optimise`: the target, every variant with its lineage, and the choice."""

    model_config = _FROZEN

    kind: Literal["sizing"] = "sizing"
    record_id: str
    cache_key: str
    model_sha256: str
    model_path: str
    backend: str = Field(description="The chosen variant's backend ('' when none held).")
    latency_ms_p99_target: float
    accuracy_floor: float
    conditions: tuple[str, ...] = ()
    dataset_path: str
    eval_images: int
    calibration_images: int
    variants: tuple[SizedVariant, ...]
    chosen: str | None = Field(description="'label on backend' of the choice, if any.")
    target_met: bool
    pareto: tuple[str, ...]
    messages: tuple[str, ...] = ()
    provenance: Provenance


def sizing_record(
    result: dict[str, Any], model_sha256: str, model_path: str, dataset: str, device: str = ""
) -> SizingRecord:
    """A record of an `optimise` result (search.summarise's dict)."""
    keep = set(SizedVariant.model_fields)
    variants = tuple(
        SizedVariant.model_validate({k: v for k, v in t.items() if k in keep})
        for t in result["variants"]
    )
    chosen = result["chosen"]
    target = result["target"]
    key = hashlib.sha256(
        f"sizing|{model_sha256}|{target}|{dataset}|{sorted(result.get('conditions', []))}".encode()
    ).hexdigest()
    prov = measured(
        model_sha256=model_sha256,
        model_path=model_path,
        harness={"farm_device": device} if device else {},
    )
    return SizingRecord(
        record_id=hashlib.sha256(f"{key}{prov.timestamp_utc}".encode()).hexdigest()[:16],
        cache_key=key,
        model_sha256=model_sha256,
        model_path=model_path,
        backend=chosen["backend"] if chosen else "",
        latency_ms_p99_target=target["latency_ms_p99"],
        accuracy_floor=target["accuracy_floor"],
        conditions=tuple(result.get("conditions", ())),
        dataset_path=dataset,
        eval_images=result["eval_images"],
        calibration_images=result["calibration_images"],
        variants=variants,
        chosen=f"{chosen['label']} on {chosen['backend']}" if chosen else None,
        target_met=result["target_met"],
        pareto=tuple(result["pareto"]),
        messages=tuple(result["messages"]),
        provenance=prov,
    )


def describe_lineage(lineage: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    """`int8-static(method=Percentile, ...) of 31cb14c017fc, calibration 4e9e6ab06199 > ...`:
    each step's pass, configuration, parent (sha256 prefix) and calibration data."""
    steps = []
    for st in lineage:
        config = ", ".join(f"{k}={x}" for k, x in st.get("config", {}).items())
        text = f"{st['pass']}({config}) of {str(st.get('parent', ''))[:12]}"
        if st.get("calibration_sha256"):
            text += f", calibration {str(st['calibration_sha256'])[:12]}"
        steps.append(text)
    return " > ".join(steps) or "the model itself"
