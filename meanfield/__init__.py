"""Mean-field theory of deep random networks (Poole et al. 2016 and successors).

Any nonlinearity -> symbolic derivation -> compiled, accurate Gaussian quadrature
-> fixed points, chi1/chi2, depth scales, curvature, critical lines, phase diagrams.
"""
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from .closed_forms import KnownKernel, known_kernel
from .codes import Evaluation
from .critical import CriticalLine, CriticalPoint, critical_line, critical_points, critical_sigma_w
from .derivation import Derivation, derive  # a module of another name: importing it never rebinds derive
from .errors import (
    DivergentIntegralError,
    MeanFieldError,
    MultipleCriticalPointsError,
    NoCriticalPointError,
    NoFixedPointError,
    NotConvergedError,
    UndefinedQuantityError,
)
from .expression import ExpressionError, parse_expression
from .fast_path import ClosedForm, closed_form_of
from .layer_batch import LayerMap, layer_map  # a module of another name: importing it never rebinds layer_map
from .mean_field import Curvature, DepthScales, FixedPoint, FixedPoints, MeanField
from .nonlinearity import Nonlinearity, registry_names
from .phase import PhaseDiagram, phase_diagram

try:  # one source of the version: pyproject.toml, through the installed package's metadata
    __version__ = _version("meanfield")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"


__all__ = [
    "Nonlinearity", "registry_names", "parse_expression", "MeanField", "FixedPoint", "DepthScales",
    "FixedPoints", "Curvature", "critical_sigma_w", "critical_points", "CriticalPoint", "critical_line",
    "CriticalLine", "phase_diagram", "PhaseDiagram", "NoCriticalPointError", "MultipleCriticalPointsError",
    "derive", "MeanFieldError", "NoFixedPointError", "UndefinedQuantityError", "DivergentIntegralError",
    "NotConvergedError", "ExpressionError",
    "Derivation", "known_kernel", "KnownKernel", "__version__",
    "Evaluation", "ClosedForm", "closed_form_of", "layer_map", "LayerMap",
]
