"""Exact activation regions and linear regions on lines and planes (Hanin & Rolnick 2019).

For a network with piecewise-linear phi with thresholds theta_1 < ... < theta_K (the
kinks of phi), every unit z of every layer 1..D is in one of K + 1 *states* at an
input x: the number of thresholds its pre-activation h_z(x) exceeds (ReLU and leaky
ReLU: off/on; hard tanh: -1 / linear / +1 saturation).  The *activation pattern* is
the vector of all states and an *activation region* is a connected set of inputs with
one pattern (HR Def. 1); these are convex for any piecewise-linear phi (HR Lemma 1),
so that on a line they are intervals and in a plane convex polygons.  A *linear
region* is a connected set on which the network function is one affine map (HR
Def. 2): neighbouring activation regions with equal maps merge, so there are never
more linear than activation regions (HR Lemma 3).

Counting is exact, without sampling: the regions are built layer by layer.  Inside a
region of layers 1..l-1 the pre-activations of layer l are affine (HR Lemma 4), so
the region is cut by straight threshold sets: points on a line (1D) or lines (2D).
Arithmetic is float64 with relative tolerances: a vertex within ``rtol`` (relative to
the size of the terms of h) of a threshold lies on it and belongs to both sides, and
pieces that come out degenerate (zero length or area) are dropped and counted in
``n_degenerate``.

The network function is x^D = phi(h^D), the post-activations of the last layer; with
``readout=True`` the last weight layer is a linear read-out h^D instead: its units
are not counted as neurons and the function is h^D (a linear read-out adds no
regions).

Modules: ``piecewise`` (phi as affine pieces), ``line`` (regions along a segment or
polyline, the 1D sweep), ``plane`` (regions in a plane section, polygon cutting),
``_line_kernels`` and ``_plane_kernels`` (their Numba kernels), ``errors``.
"""
from .errors import RegionsError
from .line import ActivationRegions1D, LinearRegions1D, activation_regions_1d, activation_regions_path
from .piecewise import PiecewiseLinear, piecewise_linear
from .plane import ActivationRegions2D, LinearRegions2D, PlaneSection, activation_regions_2d, plane_through_points

__all__ = [
    "ActivationRegions1D",
    "ActivationRegions2D",
    "LinearRegions1D",
    "LinearRegions2D",
    "PiecewiseLinear",
    "PlaneSection",
    "RegionsError",
    "activation_regions_1d",
    "activation_regions_2d",
    "activation_regions_path",
    "piecewise_linear",
    "plane_through_points",
]
