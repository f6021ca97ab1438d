"""Which computer drives an accelerator (one rule, for projection and for cost)."""

from edgeplan.catalogue.load import Catalogue
from edgeplan.spec.fleet import HardwareChoice


def host_of(h: HardwareChoice, cat: Catalogue) -> str | None:
    """The computer that drives an accelerator: `hardware[].host`, else the catalogue's default
    host for it; None for a device that needs none."""
    hw = cat.device(h.id)
    if h.host:
        cat.device(h.host)  # a clear error for an unknown id
        return h.host
    return hw.default_host if hw.requires_host else None
