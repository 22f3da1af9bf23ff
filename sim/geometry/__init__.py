"""Curves, their exact propagation through a network, and measured geometry (Poole et al. 2016, Secs. 3-6).

Modules: ``curves`` (input curves: circle, great circle, segment), ``propagate`` (forward-mode
position, velocity and acceleration per layer), ``measure`` (measured length, correlation,
metric, curvature, Gauss-map length, PCA per layer) and ``boundary`` (principal curvatures of a
decision boundary, Sec. 6).
"""
from .boundary import BoundaryCurvatures, BoundaryError, boundary_curvatures, find_boundary_point, principal_curvatures
from .curves import Curve, CurveError, circle, great_circle, orthonormal_pair, segment
from .measure import (
    CurveGeometry,
    PCASpectrum,
    autocorrelation,
    correlation,
    gauss_map_length,
    measure_curve,
    measured_curvature,
    pca_spectrum,
    perturbation_growth,
    squared_length,
)
from .propagate import LayerCurve, propagate, propagate_iter

__all__ = [
    "BoundaryCurvatures",
    "BoundaryError",
    "Curve",
    "CurveError",
    "CurveGeometry",
    "LayerCurve",
    "PCASpectrum",
    "autocorrelation",
    "boundary_curvatures",
    "circle",
    "correlation",
    "find_boundary_point",
    "gauss_map_length",
    "great_circle",
    "measure_curve",
    "measured_curvature",
    "orthonormal_pair",
    "pca_spectrum",
    "perturbation_growth",
    "principal_curvatures",
    "propagate",
    "propagate_iter",
    "segment",
    "squared_length",
]
