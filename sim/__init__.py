"""Finite-width random networks that check the predictions of ``meanfield``.

``sim`` builds on ``meanfield``; ``meanfield`` never imports ``sim``.
Sub-packages ``sim.data`` (data sets), ``sim.training`` (JAX training), ``sim.sweeps``
(Dask grids) and ``sim.experiments`` are imported lazily (``import sim`` works without
JAX or Dask) and are reached as attributes.
"""
import importlib as _importlib

from .errors import SimError
from .network import Network, RandomNetwork
from .manifolds import Curve, CurveError, circle, great_circle, segment
from .propagate import LayerCurve, propagate, propagate_iter
from .measure import (CurveGeometry, autocorrelation, correlation, curvature, gauss_map_length, measure_curve,
                      pca_spectrum, perturbation_growth, squared_length)
from .validate import ValidationReport, ValidationRow, validate
from .shallow import activation_lengths, check_theorem1, optimised_shallow_network, sign_changes
from .expressivity import network_expressivity, regression_error
from .boundary import BoundaryError, boundary_curvatures, principal_curvatures
from .weight_chaos import simulate_weight_chaos, weight_correlation
from .regions import (ActivationRegions1D, ActivationRegions2D, PlaneSection, RegionsError, activation_regions_1d,
                      activation_regions_2d, activation_regions_path, piecewise_linear, plane_through_points)
from .trajectory import (Dichotomies, PatternsAlong, TrajectoryLength, Transitions, dichotomies, patterns_along,
                         length_growth_upper_bound, theorem1_lower_bound, theorem1_rate, trajectory_length,
                         transitions)

__all__ = ["SimError", "Network", "RandomNetwork",
           "Curve", "CurveError", "circle", "great_circle", "segment",
           "LayerCurve", "propagate", "propagate_iter",
           "CurveGeometry", "autocorrelation", "correlation", "curvature", "gauss_map_length", "measure_curve",
           "pca_spectrum", "perturbation_growth", "squared_length",
           "ValidationReport", "ValidationRow", "validate",
           "activation_lengths", "check_theorem1", "optimised_shallow_network", "sign_changes",
           "network_expressivity", "regression_error",
           "BoundaryError", "boundary_curvatures", "principal_curvatures",
           "simulate_weight_chaos", "weight_correlation",
           "ActivationRegions1D", "ActivationRegions2D", "PlaneSection", "RegionsError", "activation_regions_1d",
           "activation_regions_2d", "activation_regions_path", "piecewise_linear", "plane_through_points",
           "Dichotomies", "PatternsAlong", "TrajectoryLength", "Transitions", "dichotomies", "patterns_along",
           "length_growth_upper_bound", "theorem1_lower_bound", "theorem1_rate", "trajectory_length",
           "transitions"]


def __getattr__(name):
    # sub-packages load on first use so that importing sim stays light
    if name in ("data", "training", "sweeps", "experiments"):
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
