"""`edgeplan plan`, end to end: resolve the fleet's models and data, measure on this host
(cached), project onto devices not owned, plan, and write plan.json + reports + agent configs."""
