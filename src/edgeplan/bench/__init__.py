"""The characterisation harness: cold start, LoadGen scenarios, stages, drift, memory, energy."""
