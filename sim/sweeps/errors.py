"""Errors of the sweep engine (all :class:`sim.errors.SimError`, hence ``ValueError``)."""
from ..errors import SimError


class SweepError(SimError):
    """Bad sweep input: unknown parameters, an empty grid, an unreachable scheduler, a bad task."""


class StoreError(SweepError):
    """A store that cannot be used: not a sweep store, another task, or another base seed."""


class StoreVersionError(StoreError):
    """A store written with an incompatible store schema version."""
