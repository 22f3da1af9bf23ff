"""Finite-width random networks that check the predictions of ``meanfield``.

``sim`` builds on ``meanfield``; ``meanfield`` never imports ``sim``.  Its rooms:

* ``sim.networks``     the random network and its single forward pass; weight chaos
* ``sim.geometry``     input curves, their exact propagation, measured geometry, decision boundaries
* ``sim.validation``   the mean-field predictions against finite networks (``sim.validate``)
* ``sim.regions``      exact activation and linear regions on lines and planes (Hanin & Rolnick)
* ``sim.expressivity`` trajectory length and transitions (Raghu et al.), shallow networks and
  Fourier fits (Poole et al.)
* ``sim.data``, ``sim.training``, ``sim.sweeps``, ``sim.experiments``: data sets, JAX training,
  Dask grids and training experiments, imported lazily (``import sim`` works without JAX or
  Dask) and reached as attributes
* ``sim.cli``          the ``meanfield`` subcommands validate, regions, train, experiment, sweep

Every error ``sim`` raises on purpose derives from :class:`sim.errors.SimError`.
"""
import importlib as _importlib

from .errors import SimError
from .expressivity import (
    Dichotomies,
    FourierFit,
    PatternsAlong,
    ShallowCheck,
    TrajectoryLength,
    Transitions,
    activation_lengths,
    check_poole_theorem1,
    dichotomies,
    length_growth_upper_bound,
    network_expressivity,
    optimised_shallow_network,
    patterns_along,
    poole_shallow_length_bound,
    raghu_theorem1_rate,
    regression_error,
    sign_changes,
    trajectory_length,
    transitions,
)
from .geometry import (
    BoundaryCurvatures,
    BoundaryError,
    Curve,
    CurveError,
    CurveGeometry,
    LayerCurve,
    PCASpectrum,
    autocorrelation,
    boundary_curvatures,
    circle,
    correlation,
    gauss_map_length,
    great_circle,
    measure_curve,
    measured_curvature,
    pca_spectrum,
    perturbation_growth,
    principal_curvatures,
    propagate,
    propagate_iter,
    segment,
    squared_length,
)
from .networks import (
    LayerJet,
    Network,
    NetworkError,
    RandomNetwork,
    WeightChaosResult,
    simulate_weight_chaos,
    weight_correlation,
)
from .regions import (
    ActivationRegions1D,
    ActivationRegions2D,
    LinearRegions1D,
    LinearRegions2D,
    PiecewiseLinear,
    PlaneSection,
    RegionsError,
    activation_regions_1d,
    activation_regions_2d,
    activation_regions_path,
    piecewise_linear,
    plane_through_points,
)
from .validation import TooLargeError, ValidationError, ValidationReport, ValidationRow
from .validation.validate import validate

__all__ = [
    "ActivationRegions1D",
    "ActivationRegions2D",
    "BoundaryCurvatures",
    "BoundaryError",
    "Curve",
    "CurveError",
    "CurveGeometry",
    "Dichotomies",
    "FourierFit",
    "LayerCurve",
    "LayerJet",
    "LinearRegions1D",
    "LinearRegions2D",
    "Network",
    "NetworkError",
    "PCASpectrum",
    "PatternsAlong",
    "PiecewiseLinear",
    "PlaneSection",
    "RandomNetwork",
    "RegionsError",
    "ShallowCheck",
    "SimError",
    "TooLargeError",
    "TrajectoryLength",
    "Transitions",
    "ValidationError",
    "ValidationReport",
    "ValidationRow",
    "WeightChaosResult",
    "activation_lengths",
    "activation_regions_1d",
    "activation_regions_2d",
    "activation_regions_path",
    "autocorrelation",
    "boundary_curvatures",
    "check_poole_theorem1",
    "circle",
    "correlation",
    "dichotomies",
    "gauss_map_length",
    "great_circle",
    "length_growth_upper_bound",
    "measure_curve",
    "measured_curvature",
    "network_expressivity",
    "optimised_shallow_network",
    "patterns_along",
    "pca_spectrum",
    "perturbation_growth",
    "piecewise_linear",
    "plane_through_points",
    "poole_shallow_length_bound",
    "principal_curvatures",
    "propagate",
    "propagate_iter",
    "raghu_theorem1_rate",
    "regression_error",
    "segment",
    "sign_changes",
    "simulate_weight_chaos",
    "squared_length",
    "trajectory_length",
    "transitions",
    "validate",
    "weight_correlation",
]


def __getattr__(name):
    # sub-packages load on first use so that importing sim stays light
    if name in ("data", "training", "sweeps", "experiments", "cli"):
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
