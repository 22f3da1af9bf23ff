"""The error of the activation-region counters."""
from __future__ import annotations

from ..errors import SimError


class RegionsError(SimError):
    """Activation regions cannot be counted for these arguments."""
