"""The cloud tier: one model served over the Open Inference Protocol (KServe v2 REST) with the
edge's own Predictor, so the same container runs as a KServe/Seldon custom predictor."""
