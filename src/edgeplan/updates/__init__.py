"""Model updates that cannot break a site: signed bundles, staged trial, atomic swap, rollback."""
