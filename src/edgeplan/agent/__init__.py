"""The edge runtime: sources, motion gate, fallback chain, durable outbox, sinks, metrics, API."""
