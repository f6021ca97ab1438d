"""Pure planning: records + spec in, plan out. No I/O, no clocks, no unseeded randomness."""

from edgeplan.planning.inputs import Cascade, DeviceCost, PerfPoint, PlanInputs
from edgeplan.planning.plan import make_plan

__all__ = ["Cascade", "DeviceCost", "PerfPoint", "PlanInputs", "make_plan"]
