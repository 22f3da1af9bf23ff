"""Mean-field theory of deep random networks (Poole et al. 2016 and successors).

Any nonlinearity -> symbolic derivation -> compiled, accurate Gaussian quadrature
-> fixed points, chi1/chi2, depth scales, curvature, critical lines, phase diagrams.
"""
from .critical import CriticalLine, CriticalPoint, critical_line, critical_points, critical_sigma_w
from .errors import (DivergentIntegralError, MeanFieldError, MultipleCriticalPointsError, NoCriticalPointError,
                     NoFixedPointError, NotConvergedError, UndefinedQuantityError)
from .expression import ExpressionError, parse_expression
from .mean_field import Curvature, DepthScales, FixedPoint, FixedPoints, MeanField
from .nonlinearity import Nonlinearity, registry_names
from .phase import PhaseDiagram, phase_diagram


def derive(phi, *args, **kwargs):
    """The symbolic derivation of the mean-field maps for ``phi`` (see :mod:`meanfield.derive`)."""
    from .derive import derive as _derive
    return _derive(phi, *args, **kwargs)


__all__ = [
    "Nonlinearity", "registry_names", "parse_expression", "MeanField", "FixedPoint", "DepthScales",
    "FixedPoints", "Curvature", "critical_sigma_w", "critical_points", "CriticalPoint", "critical_line",
    "CriticalLine", "phase_diagram", "PhaseDiagram", "NoCriticalPointError", "MultipleCriticalPointsError",
    "derive", "MeanFieldError", "NoFixedPointError", "UndefinedQuantityError", "DivergentIntegralError",
    "NotConvergedError", "ExpressionError",
]
