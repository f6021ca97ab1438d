"""The cloud tier: an MLServer runtime serving any edgeplan backend over the Open Inference
Protocol (KServe v2), so the same service runs on KServe or Seldon at scale."""
