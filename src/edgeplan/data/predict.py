"""Run a model over a dataset's images with the card's preprocessing and decoder, streaming."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from edgeplan.backends import BackendOptions, Session, backend_for, get_backend
from edgeplan.data.samples import ReadReport
from edgeplan.models.analysis import analyse
from edgeplan.models.card import card_for_session, session_input_hw
from edgeplan.models.decoders import Decoded, get_decoder
from edgeplan.models.files import ModelFile, open_model
from edgeplan.models.preprocess import preprocess
from edgeplan.spec.modelcard import ModelCard

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model ready to predict: file, backend name, session, card and where the card came from."""

    file: ModelFile
    backend: str
    session: Session
    card: ModelCard
    card_source: str

    def predict(self, frame: Any) -> Decoded:
        x = preprocess(frame, self.card.input)
        out = self.session.run({self.session.input_names[0]: x})
        return get_decoder(self.card.decoder)(out, self.card, frame.shape[:2])


def load_model(
    path: Path,
    backend: str | None = None,
    options: BackendOptions | None = None,
    card: Path | None = None,
    card_overrides: dict[str, Any] | None = None,
) -> LoadedModel:
    """Open, load on a backend (default: first that takes the format) and find its card."""
    mf = open_model(path)
    be = get_backend(backend) if backend else backend_for(mf)
    session = be.load(mf, options or BackendOptions())
    hw = session_input_hw(session)
    static = analyse(mf, hw if min(hw) > 0 else None)
    found, source = card_for_session(mf, session, static, card)
    if card_overrides:
        found = found.model_copy(update=card_overrides)
    return LoadedModel(mf, be.name, session, found, source)


def frames(
    samples: Iterator[Any], report: ReadReport, limit: int | None
) -> Iterator[tuple[Any, Any]]:
    """(sample, decoded BGR frame) pairs; unreadable images are reported, skipped and counted."""
    n = 0
    for sample in samples:
        if limit is not None and n >= limit:
            return
        frame = cv2.imread(str(sample.path), cv2.IMREAD_COLOR)
        if frame is None:
            report.skip(str(sample.path), "unreadable or corrupt image")
            continue
        n += 1
        yield sample, frame


Progress = Callable[[int], None]
