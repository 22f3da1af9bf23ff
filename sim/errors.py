"""Typed errors of ``sim``: every one is a ``ValueError`` that names the problem and the fix."""


class SimError(ValueError):
    """Base class of sim's errors."""
