"""The mean-field theory against finite random networks (Poole et al. 2016, Figs. 1-4).

``sim.validation.validate`` is the module; the function is ``sim.validate``.
"""
from .validate import TooLargeError, ValidationError, ValidationReport, ValidationRow

__all__ = ["TooLargeError", "ValidationError", "ValidationReport", "ValidationRow"]
