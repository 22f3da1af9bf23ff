"""One-dimensional input manifolds with exact derivatives (Poole et al. 2016, Sec. 4).

A ``Curve`` is a sampled curve theta -> position(theta) together with its exact
velocity d/dtheta and acceleration d^2/dtheta^2, so that ``sim.propagate`` can push
all three through a network by the chain rule.  A curve lives either in the input
space x^0 (``layer=0``) or directly in the pre-activations h^1 of the first layer
(``layer=1``), which is where Poole et al. place their circle:

    h^1(theta) = sqrt(N_1 q) [u^0 cos(theta) + u^1 sin(theta)],

with u^0, u^1 orthonormal, so that every point has squared length per neuron q
(eq. 2) and neighbouring points have correlation cos(dtheta).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimError


class CurveError(SimError):
    """A curve cannot be built from the given arguments."""


@dataclass(frozen=True)
class Curve:
    """A sampled 1D manifold with exact first and second derivatives.

    Attributes
    ----------
    theta : (n,) array
        Intrinsic coordinate of the samples.
    position, velocity, acceleration : (n, N) arrays
        x(theta), dx/dtheta and d^2x/dtheta^2 at the samples.
    layer : int
        0 if the curve is an input x^0, 1 if it is given as pre-activations h^1.
    closed : bool
        True when theta samples one full period uniformly (the last point is not
        repeated); lengths are then integrated with the periodic rectangle rule.
    """

    theta: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray
    layer: int
    closed: bool

    @property
    def width(self) -> int:
        """N, the dimension of the space the curve lives in."""
        return self.position.shape[1]

    def __len__(self) -> int:
        return self.theta.shape[0]


def _check_points(n_points: int, minimum: int = 2) -> int:
    n_points = int(n_points)
    if n_points < minimum:
        raise CurveError(f"n_points must be at least {minimum}, got {n_points}")
    return n_points


def _check_layer(layer: int) -> int:
    if layer not in (0, 1):
        raise CurveError(f"layer must be 0 (input x^0) or 1 (pre-activations h^1), got {layer}")
    return layer


def orthonormal_pair(width: int, seed) -> np.ndarray:
    """Two random orthonormal vectors u^0, u^1 in R^width (the plane of the circle, Poole et al. 2016, Sec. 4).

    Parameters
    ----------
    width : int
        Dimension of the space, >= 2.
    seed : int or numpy.random.Generator
        Draws the plane (QR of a Gaussian matrix, so its distribution is uniform).

    Returns
    -------
    numpy.ndarray of shape (2, width)
        u^0 and u^1 as rows.

    Raises
    ------
    CurveError
        If ``width < 2``.
    """
    if width < 2:
        raise CurveError(f"a circle needs width >= 2, got {width}")
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((width, 2)))
    return basis.T


def circle(width: int, q: float, n_points: int, seed, *, layer: int = 1) -> Curve:
    """The circle of Sec. 4, h(theta) = sqrt(N q) [u^0 cos(theta) + u^1 sin(theta)].

    Parameters
    ----------
    width : int
        Ambient dimension N (N_1 when ``layer=1``, N_0 when ``layer=0``).
    q : float
        Squared length per neuron of every point, (1/N) h.h = q (Poole eq. 2).
    n_points : int
        Uniform samples theta_k = 2 pi k / n_points, k = 0..n_points-1.
    seed : int or Generator
        Draws the plane (u^0, u^1).
    layer : {1, 0}
        1 places the circle in the pre-activations h^1 as in the paper; 0 makes it
        a network input x^0.

    Returns
    -------
    Curve
        A closed curve of ``n_points`` samples with exact velocity and acceleration.

    Raises
    ------
    CurveError
        If ``n_points < 3``, ``q`` is not finite and positive, ``width < 2`` or ``layer``
        is not 0 or 1.

    Notes
    -----
    Velocity and acceleration are exact: v = sqrt(N q)[-u^0 sin + u^1 cos], a = -h.
    Its normalised metric and curvature are g_E/N = q and N kappa^2 = 1/q, the
    initial conditions of Poole eq. (8).
    """
    n_points = _check_points(n_points, 3)
    if not (np.isfinite(q) and q > 0):
        raise CurveError(f"q is a squared length per neuron and must be > 0, got {q}")
    u = orthonormal_pair(int(width), seed)
    theta = 2 * np.pi * np.arange(n_points) / n_points
    radius = np.sqrt(width * q)
    cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
    position = radius * (cos * u[0] + sin * u[1])
    velocity = radius * (-sin * u[0] + cos * u[1])
    return Curve(theta, position, velocity, -position, _check_layer(layer), closed=True)


def great_circle(x_a, x_b, n_points: int, *, layer: int = 0) -> Curve:
    """Great-circle interpolation from x_a to x_b (Raghu et al. 2017, trajectory inputs).

    With e0 = x_a/|x_a| and e1 the unit component of x_b orthogonal to x_a, the curve is

        x(t) = r(t) [e0 cos(t) + e1 sin(t)],   t in [0, alpha],

    where alpha is the angle between x_a and x_b and the radius r(t) moves linearly
    from |x_a| to |x_b| (constant when the norms agree, giving an arc of a sphere).

    Parameters
    ----------
    x_a, x_b : array_like
        The end points (flattened), of the same size, nonzero and not (anti)parallel.
    n_points : int
        Number of samples, uniform in t, endpoints included; >= 2.
    layer : {0, 1}
        0 (default) makes the curve a network input x^0; 1 places it in h^1.

    Returns
    -------
    Curve
        An open curve with ``theta`` = t in [0, alpha] and exact velocity and acceleration.

    Raises
    ------
    CurveError
        If ``n_points < 2``, the shapes differ, an end point is zero, the end points are
        (anti)parallel (use :func:`segment`), or ``layer`` is not 0 or 1.
    """
    n_points = _check_points(n_points)
    x_a = np.asarray(x_a, dtype=np.float64).ravel()
    x_b = np.asarray(x_b, dtype=np.float64).ravel()
    if x_a.shape != x_b.shape:
        raise CurveError(f"x_a and x_b must have the same shape, got {x_a.shape} and {x_b.shape}")
    r_a, r_b = np.linalg.norm(x_a), np.linalg.norm(x_b)
    if r_a == 0 or r_b == 0:
        raise CurveError("great-circle interpolation needs nonzero endpoints")
    e0 = x_a / r_a
    perp = x_b / r_b - e0 * (e0 @ x_b / r_b)
    sin_alpha = np.linalg.norm(perp)
    if sin_alpha < 1e-12:
        raise CurveError("x_a and x_b are (anti)parallel: the great circle through them is not unique; "
                         "use sim.segment instead")
    e1 = perp / sin_alpha
    alpha = np.arctan2(sin_alpha, e0 @ x_b / r_b)
    t = np.linspace(0.0, alpha, n_points)[:, None]
    r = r_a + (r_b - r_a) * t / alpha
    dr = (r_b - r_a) / alpha
    e = np.cos(t) * e0 + np.sin(t) * e1
    de = -np.sin(t) * e0 + np.cos(t) * e1
    position = r * e
    velocity = dr * e + r * de
    acceleration = 2 * dr * de - r * e
    return Curve(t.ravel(), position, velocity, acceleration, _check_layer(layer), closed=False)


def segment(x_a, x_b, n_points: int, *, layer: int = 0) -> Curve:
    """The straight segment x(t) = x_a + t (x_b - x_a), t in [0, 1] (zero acceleration).

    Parameters
    ----------
    x_a, x_b : array_like
        The end points (flattened), of the same size.
    n_points : int
        Number of samples, uniform in t, endpoints included; >= 2.
    layer : {0, 1}
        0 (default) makes the curve a network input x^0; 1 places it in h^1.

    Returns
    -------
    Curve
        An open curve with ``theta`` = t, velocity x_b - x_a and zero acceleration.

    Raises
    ------
    CurveError
        If ``n_points < 2``, the shapes differ, or ``layer`` is not 0 or 1.
    """
    n_points = _check_points(n_points)
    x_a = np.asarray(x_a, dtype=np.float64).ravel()
    x_b = np.asarray(x_b, dtype=np.float64).ravel()
    if x_a.shape != x_b.shape:
        raise CurveError(f"x_a and x_b must have the same shape, got {x_a.shape} and {x_b.shape}")
    t = np.linspace(0.0, 1.0, n_points)
    direction = x_b - x_a
    position = x_a + t[:, None] * direction
    velocity = np.broadcast_to(direction, position.shape).copy()
    return Curve(t, position, velocity, np.zeros_like(position), _check_layer(layer), closed=False)
