"""Typed errors of ``sim.training``."""
from ..errors import SimError


class TrainingError(SimError):
    """Bad training input (configuration, data shapes, schedule) or a training run gone wrong."""


class MissingDependencyError(TrainingError):
    """JAX or optax is not installed."""


class DivergedError(TrainingError):
    """The training loss became NaN or infinite."""
