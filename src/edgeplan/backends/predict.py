"""The one place a model is run on a frame: the card's preprocessing -> the backend session ->
the card's decoder, timed per stage or not. Evaluation, the harness, the agent, updates and the
cloud tier all go through `Predictor`; loading (format -> backend -> session -> card) is
`load_model`."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeplan.backends.base import BackendOptions, Session
from edgeplan.backends.registry import backend_for, get_backend
from edgeplan.models.analysis import analyse
from edgeplan.models.card import card_for_session, session_input_hw
from edgeplan.models.decoders import Decoded, get_decoder
from edgeplan.models.files import ModelFile, open_model
from edgeplan.models.preprocess import preprocess
from edgeplan.spec.modelcard import ModelCard

STAGES = ("preprocess", "infer", "postprocess")


@dataclass
class Predictor:
    """A session and the card that says how frames go in and outputs come out."""

    session: Session
    card: ModelCard

    def inputs(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """The session's input feed for one decoded BGR frame."""
        return {self.session.input_names[0]: preprocess(frame, self.card.input)}

    def _named(self, dets: Decoded, hw: tuple[int, int]) -> Decoded:
        """Each detection gets its class name from the card, where the card has labels, and its
        box is kept inside the frame (whatever the decoder)."""
        labels = self.card.labels
        h, w = hw
        for d in dets:
            if not isinstance(d, dict):
                continue
            i = d.get("label")
            if labels and isinstance(i, int) and 0 <= i < len(labels):  # label_offset applied
                d.setdefault("name", labels[i])
            box = d.get("box_xyxy")
            if isinstance(box, list) and len(box) == 4:
                x1, y1, x2, y2 = box
                d["box_xyxy"] = [min(max(x1, 0.0), w), min(max(y1, 0.0), h),
                                 min(max(x2, 0.0), w), min(max(y2, 0.0), h)]  # fmt: skip
        return dets

    def _outputs(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Channels-last outputs (a converter's layout) back to channels-first for decoders."""
        if not self.card.outputs_channels_last:
            return out
        return {k: np.moveaxis(v, -1, 1) if v.ndim >= 3 else v for k, v in out.items()}

    def predict(self, frame: np.ndarray) -> Decoded:
        """Decoded output for one frame (boxes in frame pixels, labels and names, scores...)."""
        out = self._outputs(self.session.run(self.inputs(frame)))
        hw = frame.shape[:2]
        return self._named(get_decoder(self.card.decoder)(out, self.card, hw), hw)

    def timed(self, frame: np.ndarray) -> tuple[Decoded, dict[str, float]]:
        """`predict`, with the milliseconds of each stage (preprocess, infer, postprocess)."""
        t0 = time.perf_counter()
        x = self.inputs(frame)
        t1 = time.perf_counter()
        out = self._outputs(self.session.run(x))
        t2 = time.perf_counter()
        hw = frame.shape[:2]
        dets = self._named(get_decoder(self.card.decoder)(out, self.card, hw), hw)
        t3 = time.perf_counter()
        ms = ((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
        return dets, dict(zip(STAGES, ms, strict=True))


@dataclass
class LoadedModel(Predictor):
    """A model ready to predict: its file, backend name, and where its card came from."""

    file: ModelFile
    backend: str
    card_source: str


def load_model(
    path: Path | str,
    backend: str | None = None,
    options: BackendOptions | None = None,
    card: Path | None = None,
    card_overrides: dict[str, Any] | None = None,
) -> LoadedModel:
    """Open, load on a backend (default: the first installed one that takes the format) and
    find its card (given, beside the model, built in, or inferred from the graph)."""
    mf = open_model(path)
    be = get_backend(backend) if backend else backend_for(mf)
    session = be.load(mf, options or BackendOptions())
    hw = session_input_hw(session)
    static = analyse(mf, hw if min(hw) > 0 else None)
    found, source = card_for_session(mf, session, static, card)
    if card_overrides:
        found = found.model_copy(update=card_overrides)
    return LoadedModel(session=session, card=found, file=mf, backend=be.name, card_source=source)
