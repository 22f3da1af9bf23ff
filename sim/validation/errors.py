"""The errors of ``sim.validate``."""
from __future__ import annotations

from ..errors import SimError


class ValidationError(SimError):
    """``validate`` cannot run with these arguments."""


class TooLargeError(ValidationError):
    """The networks asked for would not fit in memory."""

