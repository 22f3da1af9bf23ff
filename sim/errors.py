"""The base class of every error ``sim`` raises on purpose.

``SimError`` derives from ``ValueError`` so that callers (and the ``meanfield`` CLI,
which turns ``ValueError`` into a one-line message and exit status 2) catch sim's
errors with the package's other input errors.
"""
from __future__ import annotations


class SimError(ValueError):
    """Base of sim's typed errors (CurveError, RegionsError, BoundaryError, DataError, SweepError, ...)."""
