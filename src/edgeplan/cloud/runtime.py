"""MLServer custom runtime: input `image` (BYTES, an encoded JPEG/PNG frame) -> the model card's
preprocessing -> any edgeplan backend -> the card's decoder -> output `detections` (BYTES, JSON).
Sending the encoded frame keeps the uplink small; the cloud does the rest, exactly like the edge."""

import base64
import json

import cv2
import numpy as np
from mlserver import MLModel
from mlserver.codecs import StringCodec
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput

from edgeplan.backends import BackendOptions
from edgeplan.backends.predict import LoadedModel, load_model


class EdgeplanRuntime(MLModel):
    async def load(self) -> bool:
        params = self.settings.parameters
        extra = (params.extra or {}) if params else {}
        self._model: LoadedModel = load_model(
            params.uri if params else None,  # type: ignore[arg-type]
            extra.get("backend"),
            BackendOptions(threads=extra.get("threads")),
        )
        self.ready = True
        return self.ready

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        outputs = []
        for inp in payload.inputs:
            if inp.name != "image":
                continue
            raw = inp.data.root if hasattr(inp.data, "root") else inp.data
            b64 = (inp.parameters and getattr(inp.parameters, "content_type", None)) == "base64"
            blobs = [base64.b64decode(b) if b64 or isinstance(b, str) else bytes(b) for b in raw]
            results = []
            for blob in blobs:
                frame = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
                if frame is None:
                    results.append(json.dumps({"error": "undecodable image"}))
                    continue
                results.append(json.dumps(self._model.predict(frame)))
            outputs.append(
                ResponseOutput(
                    name="detections",
                    shape=[len(results), 1],
                    datatype="BYTES",
                    data=results,
                    parameters={"content_type": StringCodec.ContentType},
                )
            )
        return InferenceResponse(model_name=self.name, outputs=outputs)
