"""Measurements on finite networks that the mean-field theory predicts (Poole et al. 2016).

Per point:   q = h.h / N (eq. 2), q12 and c12 (eq. 4), the growth of a random
perturbation through the Jacobian J^l = W^l diag(phi'(h^{l-1})) (Sec. 3, whose mean
is chi1, eq. 7), the Euclidean metric g_E = v.v and the extrinsic curvature

    kappa = (v.v)^{-3/2} sqrt((v.v)(a.a) - (v.a)^2)              (Sec. 4)

renormalised as g_E_bar = g_E / N and kappa_bar^2 = N kappa^2 (the quantities of
eq. 8).  Per curve: the Euclidean length L_E = int sqrt(g_E) dtheta, the length
L_G of its image under the Gauss map theta -> v/|v| (Fig. 4B), the autocorrelation
c(dtheta) of Fig. 3B and the PCA spectrum of Fig. 3A.  ``measure_curve`` runs a
curve through a network and summarises every layer.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..errors import SimError
from .curves import Curve
from .propagate import propagate_iter

# ----------------------------------------------------------------------------- points

def squared_length(h) -> np.ndarray:
    """q = (1/N) sum_i h_i^2 for each row of h (Poole et al. 2016, eq. 2).

    Parameters
    ----------
    h : array_like of shape (..., N)
        Pre-activations (or any points), one point per row; N is the width.

    Returns
    -------
    numpy.ndarray of shape (...)
        The squared length per neuron of each point.
    """
    h = np.asarray(h)
    return np.einsum("...i,...i->...", h, h) / h.shape[-1]


def overlap(h_a, h_b) -> np.ndarray:
    """q12 = (1/N) sum_i h_a,i h_b,i, row by row (Poole et al. 2016, eq. 4).

    Parameters
    ----------
    h_a, h_b : array_like of shape (..., N)
        Two sets of points of the same width N, paired row by row.

    Returns
    -------
    numpy.ndarray of shape (...)
        The overlap per neuron of each pair.
    """
    h_a, h_b = np.asarray(h_a), np.asarray(h_b)
    return np.einsum("...i,...i->...", h_a, h_b) / h_a.shape[-1]


def correlation(h_a, h_b) -> np.ndarray:
    """c12 = q12 / sqrt(q11 q22), row by row (Poole et al. 2016, eqs. 4-5).

    Parameters
    ----------
    h_a, h_b : array_like of shape (..., N)
        Two sets of points of the same width N, paired row by row.

    Returns
    -------
    numpy.ndarray of shape (...)
        The correlation of each pair, in [-1, 1] (NaN where a point is zero).
    """
    return overlap(h_a, h_b) / np.sqrt(squared_length(h_a) * squared_length(h_b))


def perturbation_growth(network, layer: int, h_prev, *, n_perturbations: int | None = None,
                        seed=None) -> np.ndarray:
    """Growth |J u|^2 / |u|^2 of a perturbation u of h^{layer-1} through one layer.

    J^l = W^l diag(phi'(h^{l-1})) is the Jacobian of h^l with respect to h^{l-1}
    (Poole Sec. 3); averaged over u, weights and points at length q* its mean is
    chi1 (eq. 7).

    Parameters
    ----------
    network : sim.Network
        The network whose weights W^l are used.
    layer : int
        l in 2..D (the layer the perturbation arrives in).
    h_prev : (n, N_{l-1}) array
        The points h^{l-1} at which J is taken.
    n_perturbations : int or None
        None (default) returns the exact average over isotropic random directions,
        E_u |J u|^2/|u|^2 = |J|_F^2 / N_{l-1} = (1/N_{l-1}) sum_j phi'(h_j)^2 |W_:j|^2,
        which has no sampling noise.  An integer draws that many Gaussian u per point
        and returns their mean growth (the literal definition).
    seed : int or numpy.random.Generator, optional
        For the random perturbations (unused when ``n_perturbations`` is None).

    Returns
    -------
    numpy.ndarray of shape (n,)
        One growth factor per point.

    Raises
    ------
    SimError
        If ``layer`` is not in 2..D.
    """
    if not 2 <= layer <= network.depth:
        raise SimError(f"layer must be in 2..{network.depth} (the Jacobian of h^l w.r.t. h^(l-1)), "
                         f"got {layer}")
    w = network.weights[layer - 1]
    h_prev = np.asarray(h_prev, dtype=network.dtype)
    d = np.asarray(network.activation_slope(h_prev), dtype=np.float64)
    n_in = w.shape[1]
    if n_perturbations is None:
        column_norms2 = np.einsum("ij,ij->j", w, w)
        return (d * d) @ column_norms2 / n_in
    rng = np.random.default_rng(seed)
    growth = np.zeros(h_prev.shape[0])
    for _ in range(int(n_perturbations)):
        u = rng.standard_normal(h_prev.shape)
        ju = (d * u) @ w.T
        growth += squared_length(ju) * ju.shape[1] / (squared_length(u) * n_in)
    return growth / int(n_perturbations)


def metric(velocity) -> np.ndarray:
    """Euclidean metric g_E = v.v at each point (Poole et al. 2016, Sec. 4).

    Parameters
    ----------
    velocity : array_like of shape (..., N)
        Tangent vectors v = dh/dtheta of a curve, one per row.

    Returns
    -------
    numpy.ndarray of shape (...)
        g_E(theta), the squared local stretch (not divided by N; see :func:`normalised_metric`).
    """
    v = np.asarray(velocity)
    return np.einsum("...i,...i->...", v, v)


def measured_curvature(velocity, acceleration) -> np.ndarray:
    """Extrinsic curvature kappa = (v.v)^{-3/2} sqrt((v.v)(a.a) - (v.a)^2) (Poole et al. 2016, Sec. 4).

    Computed as sqrt(g_G / g_E) with g_G = |a_perp|^2 / |v|^2 (:func:`gauss_metric`), a_perp
    the component of a orthogonal to v: equal in exact arithmetic, and never the square
    root of a negative rounding error.

    Parameters
    ----------
    velocity : array_like of shape (..., N)
        Tangent vectors v = dh/dtheta, one per row.
    acceleration : array_like of shape (..., N)
        Second derivatives a = d^2h/dtheta^2 at the same points.

    Returns
    -------
    numpy.ndarray of shape (...)
        kappa(theta), not renormalised (see :func:`normalised_curvature2`).
    """
    return np.sqrt(gauss_metric(velocity, acceleration) / metric(velocity))


def normalised_metric(velocity) -> np.ndarray:
    """g_E_bar = g_E / N (the quantity of Poole et al. 2016, eq. 8).

    Parameters
    ----------
    velocity : array_like of shape (..., N)
        Tangent vectors v = dh/dtheta, one per row.

    Returns
    -------
    numpy.ndarray of shape (...)
        The Euclidean metric per neuron, g_E(theta) / N.
    """
    return metric(velocity) / np.shape(velocity)[-1]


def normalised_curvature2(velocity, acceleration) -> np.ndarray:
    """kappa_bar^2 = N kappa^2 (the quantity of Poole et al. 2016, eq. 8).

    Parameters
    ----------
    velocity : array_like of shape (..., N)
        Tangent vectors v = dh/dtheta, one per row.
    acceleration : array_like of shape (..., N)
        Second derivatives a = d^2h/dtheta^2 at the same points.

    Returns
    -------
    numpy.ndarray of shape (...)
        The per-point renormalised squared curvature N kappa(theta)^2.
    """
    return np.shape(velocity)[-1] * measured_curvature(velocity, acceleration) ** 2


def gauss_metric(velocity, acceleration) -> np.ndarray:
    """Gauss metric g_G = |d v_hat / d theta|^2 = kappa^2 g_E = |a_perp|^2 / |v|^2 (Poole et al. 2016, Sec. 4).

    Parameters
    ----------
    velocity : array_like of shape (..., N)
        Tangent vectors v = dh/dtheta, one per row.
    acceleration : array_like of shape (..., N)
        Second derivatives a = d^2h/dtheta^2 at the same points.

    Returns
    -------
    numpy.ndarray of shape (...)
        g_G(theta), the squared speed of the unit tangent v/|v| (the metric on the Grassmannian).
    """
    v, a = np.asarray(velocity), np.asarray(acceleration)
    vv = np.einsum("...i,...i->...", v, v)
    a_perp = a - (np.einsum("...i,...i->...", v, a) / vv)[..., None] * v
    return np.einsum("...i,...i->...", a_perp, a_perp) / vv


def curve_curvature2(velocity, acceleration) -> float:
    """Curve-level kappa_bar^2 = N <g_G>_theta / <g_E>_theta, the estimator compared with eq. (8).

    The ratio of the theta-averaged Gauss and Euclidean metrics is the squared
    curvature for which the Grassmannian and Euclidean lengths of the theory,
    L_G = 2 pi sqrt(kappa_bar^2 g_E_bar) and L_E = 2 pi sqrt(g_E_bar), hold together.
    Both metrics are sums over N neurons and self-average; the mean of the per-point
    ratio N kappa^2 = N g_G / g_E^2 instead carries a Jensen bias of order depth / N
    (its denominator fluctuates), and in the chaotic phase a mean over theta of
    per-point ratios of heavy-tailed quantities converges slowly.

    Parameters
    ----------
    velocity : array_like of shape (n, N)
        Tangent vectors v = dh/dtheta at the n samples of the curve.
    acceleration : array_like of shape (n, N)
        Second derivatives a = d^2h/dtheta^2 at the same samples.

    Returns
    -------
    float
        N <g_G>_theta / <g_E>_theta, to compare with kappa_bar^2 of eq. (8).
    """
    v = np.asarray(velocity)
    return float(v.shape[-1] * np.mean(gauss_metric(velocity, acceleration)) / np.mean(metric(velocity)))


# ----------------------------------------------------------------------------- curves

def _integrate(theta, f, closed: bool) -> float:
    """int f dtheta: periodic rectangle rule for closed uniform curves, else trapezoid."""
    if closed:
        return float(np.mean(f) * 2 * np.pi)
    return float(np.trapezoid(f, theta))


def euclidean_length(theta, velocity, *, closed: bool) -> float:
    """L_E = int sqrt(g_E(theta)) dtheta (Poole et al. 2016, Sec. 4).

    Parameters
    ----------
    theta : array_like of shape (n,)
        Curve parameter at the samples (used by the trapezoid rule of open curves).
    velocity : array_like of shape (n, N)
        Tangent vectors v = dh/dtheta at the samples.
    closed : bool
        True for a closed curve sampled uniformly on [0, 2 pi) (periodic rectangle rule);
        False for an open curve (trapezoid rule over ``theta``).

    Returns
    -------
    float
        The Euclidean length, not normalised by sqrt(N).
    """
    return _integrate(theta, np.sqrt(metric(velocity)), closed)


def grassmannian_length(theta, velocity, acceleration, *, closed: bool) -> float:
    """L_G = int sqrt(g_G) dtheta with g_G = kappa^2 g_E (Poole et al. 2016, Sec. 4), from v and a.

    Parameters
    ----------
    theta : array_like of shape (n,)
        Curve parameter at the samples (used by the trapezoid rule of open curves).
    velocity : array_like of shape (n, N)
        Tangent vectors v = dh/dtheta at the samples.
    acceleration : array_like of shape (n, N)
        Second derivatives a = d^2h/dtheta^2 at the samples.
    closed : bool
        True for a closed curve sampled uniformly on [0, 2 pi) (periodic rectangle rule);
        False for an open curve (trapezoid rule over ``theta``).

    Returns
    -------
    float
        The Grassmannian length (invariant to rescaling the curve).
    """
    g_g = measured_curvature(velocity, acceleration) ** 2 * metric(velocity)
    return _integrate(theta, np.sqrt(g_g), closed)


def gauss_map_length(velocity, *, closed: bool) -> float:
    """Length of the image of the curve under the Gauss map theta -> v/|v| (Fig. 4B).

    Measured directly on the Grassmannian G_{1,N} (the sphere with antipodes
    identified): the sum of the geodesic distances arccos|v_k . v_{k+1}| between the
    unit tangents of consecutive samples.  It converges to L_G as the sampling is
    refined and uses the velocities only, so it checks ``grassmannian_length``.

    Parameters
    ----------
    velocity : array_like of shape (n, N)
        Tangent vectors v = dh/dtheta at consecutive samples of the curve.
    closed : bool
        If True, the last sample is joined back to the first.

    Returns
    -------
    float
        Sum of the geodesic distances between consecutive unit tangents.
    """
    v = np.asarray(velocity)
    unit = v / np.linalg.norm(v, axis=-1, keepdims=True)
    nxt = np.roll(unit, -1, axis=0) if closed else unit[1:]
    cos = np.abs(np.einsum("ij,ij->i", unit[: len(nxt)], nxt))
    return float(np.sum(np.arccos(np.clip(cos, 0.0, 1.0))))


def autocorrelation(h, *, q_norm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """c(dtheta) = <q(theta, theta + dtheta)>_theta / q_norm for a closed, uniform curve.

    Poole Fig. 3B: c_12^l(dtheta) = int dtheta q^l(theta, theta + dtheta) / q*.  Computed
    for every shift at once with the FFT along theta (Wiener-Khinchin).

    Parameters
    ----------
    h : (n, N) array
        The curve in some layer, sampled at theta_k = 2 pi k / n.
    q_norm : float, optional
        Normaliser; the mean squared length of the samples by default (so c(0) = 1).

    Returns
    -------
    dtheta : numpy.ndarray of shape (n,)
        The shifts 2 pi k / n.
    c : numpy.ndarray of shape (n,)
        The autocorrelation at each shift.
    """
    h = np.asarray(h, dtype=np.float64)
    n, width = h.shape
    spectrum = np.fft.rfft(h, axis=0)
    power = np.sum(spectrum.real ** 2 + spectrum.imag ** 2, axis=1)
    q12 = np.fft.irfft(power, n=n) / (n * width)
    if q_norm is None:
        q_norm = q12[0]
    return 2 * np.pi * np.arange(n) / n, q12 / q_norm


@dataclass(frozen=True)
class PCASpectrum:
    """Principal components of a sampled curve (Poole Fig. 3A).

    Attributes
    ----------
    explained : (k,) array
        Fraction of the variance along each principal component, decreasing, sum 1.
    projection : (n, 3) array
        The centred curve projected on the first three principal components.
    """

    explained: np.ndarray
    projection: np.ndarray


def pca_spectrum(h) -> PCASpectrum:
    """PCA of the points of a curve: variance fractions and 3D projection (Poole et al. 2016, Fig. 3A).

    Parameters
    ----------
    h : array_like of shape (n, N)
        The n samples of the curve in some layer.

    Returns
    -------
    PCASpectrum
        ``explained`` (variance fraction per component, decreasing, sum 1) and ``projection``
        (the centred curve on the first three components; zero-padded if fewer exist).
    """
    h = np.asarray(h, dtype=np.float64)
    centred = h - h.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    var = s ** 2
    k = min(3, len(s))
    projection = np.zeros((h.shape[0], 3))
    projection[:, :k] = u[:, :k] * s[:k]
    return PCASpectrum(var / var.sum(), projection)


# ----------------------------------------------------------------------------- summary

@dataclass(frozen=True)
class CurveGeometry:
    """Per-layer summary of a curve pushed through a network (arrays indexed by layer).

    Means and standard deviations are over the samples theta, except ``kappa2``, which
    is the curve-level estimator :func:`curve_curvature2` (``kappa2_std`` is the spread of
    the per-point N kappa^2).  ``chi1`` is the mean
    perturbation growth into layer l (NaN at layer 1, which has no Jacobian from the
    curve's side).  L_E is normalised as L_E / sqrt(N) (Poole Sec. 4); L_G needs no
    normalisation (it is invariant to rescaling the curve).

    Attributes
    ----------
    layer : numpy.ndarray of int
        Layer index l, from 1.
    width : numpy.ndarray of int
        N_l, the width of layer l.
    q, q_std : numpy.ndarray
        Mean and spread over theta of the squared length per neuron (Poole eq. 2).
    chi1, chi1_std : numpy.ndarray
        Mean and spread of the perturbation growth into layer l (eq. 7; NaN at layer 1).
    g_E, g_E_std : numpy.ndarray
        Mean and spread of the normalised Euclidean metric g_E_bar (eq. 8).
    kappa2 : numpy.ndarray
        Curve-level kappa_bar^2 (:func:`curve_curvature2`, eq. 8).
    kappa2_std : numpy.ndarray
        Spread over theta of the per-point N kappa^2.
    L_E : numpy.ndarray
        Euclidean length divided by sqrt(N_l).
    L_G : numpy.ndarray
        Grassmannian length from v and a (:func:`grassmannian_length`).
    L_G_gauss : numpy.ndarray
        Grassmannian length from the unit tangents alone (:func:`gauss_map_length`).
    """

    layer: np.ndarray
    width: np.ndarray
    q: np.ndarray
    q_std: np.ndarray
    chi1: np.ndarray
    chi1_std: np.ndarray
    g_E: np.ndarray
    g_E_std: np.ndarray
    kappa2: np.ndarray
    kappa2_std: np.ndarray
    L_E: np.ndarray
    L_G: np.ndarray
    L_G_gauss: np.ndarray


def _progress(msg: str, enabled: bool) -> None:
    if enabled:
        print(f"\r{msg}", end="", file=sys.stderr, flush=True)


def measure_curve(network, curve: Curve, *, progress: bool = False,
                  hook=None) -> CurveGeometry:
    """Propagate ``curve`` (position, velocity, acceleration) and measure every layer.

    Parameters
    ----------
    network : sim.Network
        The network to run the curve through.
    curve : sim.Curve
        The input curve (its velocity and acceleration are propagated exactly, in forward mode).
    progress : bool
        Print a one-line layer counter on stderr.
    hook : callable, optional
        Called as hook(layer_curve) for every layer, e.g. to keep the autocorrelation
        or PCA of chosen layers without storing them all.

    Returns
    -------
    CurveGeometry
        One entry per layer: q, chi1, g_E_bar, kappa_bar^2 and the lengths L_E, L_G.
    """
    rows = {k: [] for k in CurveGeometry.__dataclass_fields__}
    previous = None
    for state in propagate_iter(network, curve, order=2):
        l = state.layer
        _progress(f"measure_curve: layer {l}/{network.depth}", progress)
        if hook is not None:
            hook(state)
        q = squared_length(state.position)
        g = normalised_metric(state.velocity)
        k2 = normalised_curvature2(state.velocity, state.acceleration)
        if previous is None:
            chi = np.array([np.nan])
        else:
            chi = perturbation_growth(network, l, previous)
        previous = state.position
        rows["layer"].append(l)
        rows["width"].append(state.position.shape[1])
        for name, values in (("q", q), ("chi1", chi), ("g_E", g), ("kappa2", k2)):
            rows[name].append(np.mean(values))
            rows[name + "_std"].append(np.std(values))
        rows["kappa2"][-1] = curve_curvature2(state.velocity, state.acceleration)
        rows["L_E"].append(euclidean_length(curve.theta, state.velocity, closed=curve.closed)
                           / np.sqrt(state.position.shape[1]))
        rows["L_G"].append(grassmannian_length(curve.theta, state.velocity, state.acceleration,
                                               closed=curve.closed))
        rows["L_G_gauss"].append(gauss_map_length(state.velocity, closed=curve.closed))
    _progress("\n", progress)
    return CurveGeometry(**{k: np.asarray(v) for k, v in rows.items()})
