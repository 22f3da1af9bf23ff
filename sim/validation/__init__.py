"""The mean-field theory against finite random networks (Poole et al. 2016, Figs. 1-4).

Modules: ``validate`` (the simulation and the theory, row by row: ``sim.validate``),
``verdict`` (the hypothesis test of each row), ``report`` (the rows as a report: Markdown,
JSON, CSV, plot), ``memory`` (the memory check done before any network is drawn) and
``errors``.  ``sim.validation.validate`` is the module; the function is ``sim.validate``.
"""
from .errors import TooLargeError, ValidationError
from .memory import check_memory, memory_estimate
from .report import ValidationReport
from .verdict import ValidationRow

__all__ = ["TooLargeError", "ValidationError", "ValidationReport", "ValidationRow", "check_memory", "memory_estimate"]
