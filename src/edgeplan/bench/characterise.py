"""`characterise`: every measurement of one model x backend x options on this host, as a record."""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import edgeplan
from edgeplan.backends import BackendOptions, backend_for, get_backend
from edgeplan.backends.common import check_format
from edgeplan.backends.predict import Predictor
from edgeplan.bench.coldstart import measure_cold_start
from edgeplan.bench.concurrency import run_concurrency
from edgeplan.bench.energy import EnergyMeter
from edgeplan.bench.hostsensors import SensorSampler
from edgeplan.bench.inputs import sample_frames
from edgeplan.bench.loadgen import RunSettings, Scenario, find_server_qps, run_scenario
from edgeplan.bench.opprofile import measure_host_peaks, summarise_ops
from edgeplan.bench.pipeline import run_stages
from edgeplan.bench.sustained import analyse_sustained
from edgeplan.data.evaluate import EvalConfig, evaluate
from edgeplan.models.analysis import analyse
from edgeplan.models.card import card_for_session, session_input_hw
from edgeplan.models.files import open_model
from edgeplan.models.preprocess import preprocess
from edgeplan.projection.kernels import kernel_mix
from edgeplan.records.accuracy import Metric
from edgeplan.records.provenance import host_fingerprint, measured
from edgeplan.records.types import CharacterisationRecord, ScenarioResult

Progress = Callable[[str], None]


@dataclass
class CharacteriseConfig:
    """What to measure and for how long. Defaults are a quick look (tens of seconds)."""

    model: Path
    backend: str | None = None
    options: BackendOptions = field(default_factory=BackendOptions)
    card: Path | None = None
    scenarios: tuple[Scenario, ...] = ("SingleStream", "Offline")
    duration_s: float = 10.0
    min_queries: int = 64
    images: Path | None = None
    video: Path | None = None
    multistream_streams: int = 8
    server_latency_bound_ms: float | None = None
    concurrency_streams: int = 0
    concurrency_fps: float = 10.0
    stage_frames: int = 200
    profile_runs: int = 20
    loadgen_samples: int = 16
    data: Path | None = None  # labelled data: accuracy is measured too
    data_limit: int | None = None

    def harness_dict(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("model", "backend", "options", "card"):
            d.pop(k)
        return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def cache_key(
    model_sha: str, backend: str, options: BackendOptions, cfg: CharacteriseConfig
) -> str:
    """Content hash of everything that can change a figure."""
    blob = json.dumps(
        [
            model_sha,
            backend,
            options.as_dict(),
            host_fingerprint().sha256,
            cfg.harness_dict(),
            edgeplan.__version__,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def characterise(
    cfg: CharacteriseConfig, progress: Progress = lambda _m: None
) -> CharacterisationRecord:
    """Run every measurement; raise EdgeplanError subclasses on bad input."""
    model = open_model(cfg.model)
    backend = get_backend(cfg.backend) if cfg.backend else backend_for(model)
    opts = cfg.options
    warnings: list[str] = []
    check_format(backend.name, backend.capabilities, model)

    progress("cold start in a fresh process")
    cold = measure_cold_start(str(model.path), backend.name, opts)

    progress("loading session")
    session = backend.load(model, opts)
    name = session.input_names[0]
    hw = session_input_hw(session)
    static = analyse(model, hw if min(hw) > 0 else None)
    card, card_source = card_for_session(model, session, static, cfg.card)
    if card.inferred:
        warnings.append(
            f"no model card ({model.path.with_suffix('.card.yaml').name}) and no built-in one; "
            "inferred from the graph: colour order and normalisation are guesses"
        )
    warnings += static.notes

    frames, input_desc = sample_frames(
        cfg.images, cfg.video, cfg.loadgen_samples, (card.input.height_px, card.input.width_px)
    )
    samples = [{name: preprocess(f, card.input)} for f in frames]
    if input_desc.startswith("synthetic"):
        warnings.append(
            "LoadGen samples are synthetic frames; give --images or --video for real ones"
        )
    for s in samples[:3]:
        session.run(s)
    t0 = time.perf_counter()
    for s in samples[:5]:
        session.run(s)
    expected_ms = (time.perf_counter() - t0) * 1000 / min(5, len(samples))

    def settings(**kw: object) -> RunSettings:
        base = dict(
            duration_s=cfg.duration_s,
            min_queries=cfg.min_queries,
            streams=cfg.multistream_streams,
            expected_latency_ms=expected_ms,
        )
        return RunSettings(**{**base, **kw})  # type: ignore[arg-type]

    results: list[ScenarioResult] = []
    sustained = None
    meter = EnergyMeter()
    progress(f"SingleStream (LoadGen), {cfg.duration_s:g} s with drift windows")
    with SensorSampler(period_s=max(0.2, cfg.duration_s / 50)) as sensors:
        meter.start()
        single, log = run_scenario(session, samples, "SingleStream", settings())
        energy = meter.report(len(log.latency_ms))
    results.append(single)
    sustained = analyse_sustained(log, sensors)
    if sustained and sustained.windows_disagree:
        warnings.append(
            "SingleStream windows disagree by >25%: the host was noisy; rerun or "
            "compare variants interleaved"
        )
    short = max(2.0, cfg.duration_s / 4)
    offline = None
    for scenario in cfg.scenarios:
        if scenario == "SingleStream":
            continue
        progress(f"{scenario} (LoadGen), {short:g} s")
        if scenario == "Server":
            upper = offline.throughput_fps if offline else 1000.0 / expected_ms
            bound = cfg.server_latency_bound_ms or 4 * single.latency.latency_ms_p99  # type: ignore[union-attr]
            res = find_server_qps(
                session,
                samples,
                settings(duration_s=short, latency_bound_ms=bound),
                qps_upper=upper * 1.1,
                progress=progress,
            )
        else:
            res, _ = run_scenario(session, samples, scenario, settings(duration_s=short))
            offline = res if scenario == "Offline" else offline
        results.append(res)

    progress("pipeline stages: decode -> preprocess -> infer -> postprocess")
    stages, stage_desc, skipped = run_stages(
        Predictor(session, card),
        images=cfg.images,
        video=cfg.video,
        frames=cfg.stage_frames,
        duration_s=max(2.0, cfg.duration_s / 2),
    )
    if skipped:
        warnings.append(f"{skipped} corrupt frames/images skipped in the stage run")

    concurrency = None
    if cfg.concurrency_streams > 0:
        progress(f"{cfg.concurrency_streams} streams at {cfg.concurrency_fps:g} fps")
        concurrency = run_concurrency(
            session,
            samples,
            cfg.concurrency_streams,
            cfg.concurrency_fps,
            max(2.0, cfg.duration_s / 2),
        )

    progress("per-op profile")
    timings = backend.profile_ops(model, opts, samples[0], cfg.profile_runs)
    top_ops, bottleneck, reason = summarise_ops(
        timings, static, measure_host_peaks(), stages["infer"].latency_ms_p50
    )

    accuracy: tuple[Metric, ...] = ()
    accuracy_dataset = None
    if cfg.data is not None:
        progress(f"accuracy on {cfg.data}")
        acc = evaluate(
            EvalConfig(
                model=cfg.model,
                data=cfg.data,
                backend=backend.name,
                options=opts,
                card=cfg.card,
                limit=cfg.data_limit,
            )
        )
        accuracy = acc.metrics
        accuracy_dataset = f"{acc.dataset_name} (sha256 {acc.dataset_sha256[:16]})"
        if acc.skipped:
            warnings.append(f"accuracy: {acc.skipped} items skipped ({acc.problems[0]})")

    lat = single.latency
    assert lat is not None
    throughput, tsource = (
        (offline.throughput_fps, "Offline (LoadGen)")
        if offline
        else (single.throughput_fps, "SingleStream QPS (LoadGen)")
    )
    key = cache_key(model.sha256, backend.name, opts, cfg)
    prov = measured(
        backend=backend.name,
        backend_options={**opts.as_dict(), "applied": session.applied_options},
        model_sha256=model.sha256,
        model_path=str(model.path),
        harness={
            **cfg.harness_dict(),
            "loadgen_input": input_desc,
            "card": card.model_dump(mode="json"),
            "card_source": card_source,
        },
        notes=tuple(warnings),
    )
    return CharacterisationRecord(
        record_id=hashlib.sha256(f"{key}{prov.timestamp_utc}".encode()).hexdigest()[:16],
        cache_key=key,
        model_sha256=model.sha256,
        model_path=str(model.path),
        model_format=model.format,
        backend=backend.name,
        precision=str(session.applied_options.get("inference_precision", opts.precision)),
        threads=opts.threads,
        load_ms=cold.load_ms,
        first_inference_ms=cold.first_inference_ms,
        latency_ms_p50=lat.latency_ms_p50,
        latency_ms_p90=lat.latency_ms_p90,
        latency_ms_p95=lat.latency_ms_p95,
        latency_ms_p99=lat.latency_ms_p99,
        throughput_fps=throughput,
        throughput_source=tsource,
        peak_rss_mib=cold.peak_rss_mib,
        model_rss_delta_mib=cold.model_rss_delta_mib,
        cold_start=cold,
        scenarios=tuple(results),
        stages=stages,
        stage_input=stage_desc,
        sustained=sustained,
        concurrency=concurrency,
        energy=energy,
        top_ops=tuple(top_ops),
        bottleneck=bottleneck,
        bottleneck_reason=reason,
        static=static.summary()
        | {"by_op_type": static.by_op_type(), "by_kernel": kernel_mix(static.ops)},
        accuracy=accuracy,
        accuracy_dataset=accuracy_dataset,
        warnings=tuple(warnings),
        provenance=prov,
    )


def record_json(record: CharacterisationRecord) -> dict[str, object]:
    """The record as the `--json` file: every required key at the top level."""
    data = record.model_dump(mode="json")
    data["stages"] = {
        k: {"latency_ms_p50": v["latency_ms_p50"], "latency_ms_p99": v["latency_ms_p99"], **v}
        for k, v in data["stages"].items()
    }
    return data


__all__ = ["CharacteriseConfig", "cache_key", "characterise", "np", "record_json"]
