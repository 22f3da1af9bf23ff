"""Raghu et al.'s expressivity measures along an input trajectory and across networks.

* Trajectory length per layer (Raghu et al. Theorem 1, Fig. 2): the arc length of the
  image z^(d)(t) of an input curve x(t) in layer d, for any phi; the theorem's growth
  rate (``raghu_theorem1_rate``, its O() constant set to 1: a rate, not a bound) and a
  rigorous upper bound on the expected per-layer growth (``length_growth_upper_bound``).
* Transitions (Fig. 3): how often the units of a layer change sign along the curve;
  exact for piecewise-linear phi, where each pre-activation is linear between the
  breakpoints of ``sim.activation_regions_1d``.
* Activation patterns along a trajectory: the distinct patterns met by the curve.
* Dichotomies: the distinct sign labellings of a fixed input set by one output unit
  across independently drawn random networks.

Curves are sampled polylines: a ``sim.Curve`` (``sim.geometry``) or an array of
points (n, N0).  Lengths are polyline lengths of the images of the samples, which
converge from below as the sampling is refined; counts along the curve are exact for
the polyline through the samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meanfield.bounds import raghu_trajectory_lower_bound
from meanfield.nonlinearity import as_nonlinearity

from ..networks.network import RandomNetwork
from ..regions import RegionsError, activation_regions_path, piecewise_linear
from .sign_changes import count_sign_changes


def _points(net, curve) -> np.ndarray:
    pts = getattr(curve, "position", curve)
    if getattr(curve, "layer", 0) != 0:
        raise RegionsError("the curve must live in input space (layer=0)")
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != net.widths[0] or pts.shape[0] < 2:
        raise RegionsError(f"the curve must be (n >= 2, {net.widths[0]}) points, got shape {pts.shape}")
    return pts


def _polyline_length(z: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(z, axis=0), axis=1).sum())


@dataclass(frozen=True)
class TrajectoryLength:
    """Arc length of the image of a curve in every layer.

    Attributes
    ----------
    layer : (D + 1,) int array
        0 (the input) .. D.
    length_h : (D + 1,) array
        Length of the pre-activations h^d(t) (entry 0: the input curve x(t)).
    length_x : (D + 1,) array
        Length of the post-activations z^(d) = phi(h^d) (entry 0: the input curve).
    """

    layer: np.ndarray
    length_h: np.ndarray
    length_x: np.ndarray

    def growth_ratio(self, which: str = "x") -> np.ndarray:
        """l(z^(d+1)) / l(z^(d)) for d = 1..D-1 (Raghu et al. 2017, Fig. 2 c, d).

        Parameters
        ----------
        which : {"x", "h"}
            "x" uses the post-activation lengths ``length_x``; anything else the
            pre-activation lengths ``length_h``.

        Returns
        -------
        numpy.ndarray of shape (D - 1,)
            Per-layer growth factors, to compare with :func:`raghu_theorem1_rate` and
            :func:`length_growth_upper_bound`.
        """
        length = self.length_x if which == "x" else self.length_h
        return length[2:] / length[1:-1]

    def plot(self, ax=None, *, which: str = "x", label=None):
        """Length against layer on a log axis (Raghu et al. 2017, Fig. 2 a, b).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        which : {"x", "h"}
            "x" plots ``length_x``; anything else ``length_h``.
        label : str, optional
            Legend label of the line.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding ``ax``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(5, 4))
        else:
            fig = ax.figure
        ax.semilogy(self.layer, self.length_x if which == "x" else self.length_h, "o-", label=label)
        ax.set_xlabel("layer d")
        ax.set_ylabel("trajectory length")
        return fig


def trajectory_length(net, curve) -> TrajectoryLength:
    """Trajectory length per layer for any phi (Raghu et al. Theorem 1 and Fig. 2).

    For piecewise-linear phi the image of every polyline segment is itself linear
    between the breakpoints of its activation regions, so the samples are refined by
    those breakpoints and the lengths are exact for the input polyline (a coarse
    sampling of a deep network's image would miss most of its kinks).  For smooth
    phi the image polyline of the samples is used: refine the curve to converge.

    Parameters
    ----------
    net : sim.Network
        The network.
    curve : sim.Curve or array_like of shape (n, N0)
        The input trajectory x(t) as samples of a polyline, n >= 2; a ``Curve`` must live
        in input space (``layer=0``).

    Returns
    -------
    TrajectoryLength
        Lengths of the images in h^d and z^(d) = phi(h^d) for d = 0..D (entry 0: the input).

    Raises
    ------
    RegionsError
        If the curve is not in input space or not of shape (n >= 2, N0), or (piecewise-linear
        phi) the polyline is not valid for :func:`sim.activation_regions_path`.
    """
    pts = _points(net, curve)
    if net.phi.is_piecewise_linear:
        pts = _linear_pieces(net, pts)[1]
    hs = net.forward(pts)
    lh = [_polyline_length(pts)] + [_polyline_length(h) for h in hs]
    lx = [lh[0]] + [_polyline_length(np.asarray(net.activation(h), dtype=np.float64)) for h in hs]
    return TrajectoryLength(np.arange(len(lh)), np.array(lh), np.array(lx))


def raghu_theorem1_rate(sigma_w: float, sigma_b: float, k: int, depth: int, input_length: float) -> np.ndarray:
    """factor^d l(x) for d = 0..depth, with factor the per-layer rate of Raghu et al.'s Theorem 1.

    The theorem states E[l(z^(d))] >= O(factor^d) l(x) for hard tanh with

        factor = sigma_w / (sigma_w^2 + sigma_b^2)^(1/4) * sqrt(k) / sqrt(sqrt(sigma_w^2 + sigma_b^2) + k)

    and an unstated constant inside O(); here that constant is set to 1.  This is the
    asymptotic *rate*, not a bound: measured hard-tanh growth ratios lie 5-10% below
    it (notebooks/raghu_fig2.ipynb).  For a rigorous bound see
    :func:`length_growth_upper_bound`.

    Parameters
    ----------
    sigma_w : float
        Weight standard deviation (W_ij ~ N(0, sigma_w^2 / k)).
    sigma_b : float
        Bias standard deviation.
    k : int
        Width of the hidden layers.
    depth : int
        Last layer d to evaluate, >= 0.
    input_length : float
        l(x), the length of the input trajectory.

    Returns
    -------
    numpy.ndarray of shape (depth + 1,)
        factor^d l(x) for d = 0..depth.

    Raises
    ------
    meanfield.bounds.BoundError
        If ``depth`` is not a non-negative integer, ``k < 1``, ``sigma_w <= 0`` or ``sigma_b < 0``.
    """
    return np.array([raghu_trajectory_lower_bound(sigma_w, sigma_b, k, d, input_length)
                     for d in range(depth + 1)])


def length_growth_upper_bound(sigma_w: float, k_in: int, k_out: int | None = None) -> float:
    """Rigorous bound on the expected per-layer growth of trajectory length.

    For z^(d+1)(t) = phi(W z^(d)(t) + b) with any 1-Lipschitz phi (hard tanh, ReLU,
    tanh, ...), W_ij ~ N(0, sigma_w^2 / k_in) drawn independently of layers <= d, and
    any biases,

        E[ l(z^(d+1)) / l(z^(d)) ]  <=  c = sigma_w sqrt(2 / k_in) Gamma((k_out + 1)/2) / Gamma(k_out / 2):

    |dz^(d+1)/dt| <= |W dz^(d)/dt| since phi' is in [0, 1], and for a fixed vector u,
    W u ~ N(0, sigma_w^2 |u|^2 / k_in I_{k_out}), whose norm has mean
    sigma_w |u| / sqrt(k_in) E|g| with E|g| = sqrt(2) Gamma((k_out+1)/2) / Gamma(k_out/2)
    (chi distribution).  Integrating over t and conditioning on layers <= d gives the
    bound for the expected ratio and for the ratio of expectations.  Equality holds
    for linear phi (phi' = 1).  c < sigma_w, and c -> sigma_w as k_out -> infinity.

    Parameters
    ----------
    sigma_w : float
        Weight standard deviation, finite and >= 0.
    k_in : int
        Width of layer d (the fan-in), >= 1.
    k_out : int, optional
        Width of layer d + 1, >= 1 (default: ``k_in``).

    Returns
    -------
    float
        The constant c above.

    Raises
    ------
    RegionsError
        If a width is < 1 or sigma_w is negative or not finite.
    """
    k_in = int(k_in)
    k_out = k_in if k_out is None else int(k_out)
    if k_in < 1 or k_out < 1 or not (sigma_w >= 0 and math.isfinite(sigma_w)):
        raise RegionsError(f"need widths k_in, k_out >= 1 and a finite sigma_w >= 0, got {k_in}, {k_out}, {sigma_w}")
    log_chi_mean = 0.5 * math.log(2.0) + math.lgamma((k_out + 1) / 2) - math.lgamma(k_out / 2)
    return float(sigma_w / math.sqrt(k_in) * math.exp(log_chi_mean))


def _path(pts):
    keep = np.concatenate([[True], np.any(pts[1:] != pts[:-1], axis=1)])
    return pts[keep]


def _linear_pieces(net, pts):
    """(regions along the polyline, points between which every layer's map is linear)."""
    res = activation_regions_path(net, _path(pts))
    t = np.union1d(res.edges, np.linspace(0.0, 1.0, res.path.shape[0]))
    return res, res.points(t)


@dataclass(frozen=True)
class Transitions:
    """Sign changes of the units of every layer along a curve.

    Attributes
    ----------
    layer : (D,) int array
        1..D.
    sign_changes : (D,) int array
        Total number of sign changes of h^d's units (summed over units), exact.
    state_changes : (D,) int array
        Total number of state changes (threshold crossings of phi's kinks), exact.
    """

    layer: np.ndarray
    sign_changes: np.ndarray
    state_changes: np.ndarray


def transitions(net, curve, *, level: float = 0.0) -> Transitions:
    """Exact sign changes of every layer along a polyline (Raghu Fig. 3).

    Between consecutive breakpoints of the activation regions each pre-activation is
    linear, so it changes sign there iff its values at the two ends have opposite
    signs (values within 1e-9 of the level, relative, count as touching and are
    skipped).

    Parameters
    ----------
    net : sim.Network
        A network with a piecewise-linear phi.
    curve : sim.Curve or array_like of shape (n, N0)
        The input polyline, n >= 2, in input space.
    level : float
        Count crossings of h = level instead of h = 0.

    Returns
    -------
    Transitions
        Per layer 1..D, the total sign changes and the total state changes (kink
        crossings) of its units along the polyline.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear, or the curve is not a valid input polyline.
    """
    pts = _points(net, curve)
    piecewise_linear(net.phi)          # exactness needs piecewise-linear phi
    widths = net.widths[1:]
    res, x = _linear_pieces(net, pts)
    layer_of_unit = np.repeat(np.arange(len(widths)), widths)
    state_changes = np.bincount(layer_of_unit[res.transition_unit], minlength=len(widths))
    sign_changes = np.zeros(len(widths), np.int64)
    for d, h in enumerate(net.forward(x)):
        dev = h - level
        scale = np.abs(h).max(axis=0) + abs(level)
        sign_changes[d] = count_sign_changes(np.sign(dev) * (np.abs(dev) > 1e-9 * scale)).sum()
    return Transitions(np.arange(1, len(widths) + 1), sign_changes, state_changes)


@dataclass(frozen=True)
class PatternsAlong:
    """Activation patterns met along a curve.

    Attributes
    ----------
    n_pieces : int
        Number of pieces of the polyline with a constant pattern.
    n_patterns : int
        Number of distinct activation patterns met (a closed curve may return to one).
    """

    n_pieces: int
    n_patterns: int


def patterns_along(net, curve) -> PatternsAlong:
    """Exact count of activation patterns along a polyline (Raghu et al. 2017, activation patterns).

    Parameters
    ----------
    net : sim.Network
        A network with a piecewise-linear phi.
    curve : sim.Curve or array_like of shape (n, N0)
        The input polyline, n >= 2, in input space (repeated consecutive points are dropped).

    Returns
    -------
    PatternsAlong
        The number of pieces with constant pattern and of distinct patterns met.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear, or the curve is not a valid input polyline.
    """
    res = activation_regions_path(net, _path(_points(net, curve)))
    return PatternsAlong(res.count, res.n_patterns())


@dataclass(frozen=True)
class Dichotomies:
    """Distinct sign labellings of a fixed input set across random networks.

    Attributes
    ----------
    layer : (D,) int array
        1..D.
    count : (D,) int array
        Distinct labellings sign(h^d_0(x_1..x_s)) of the inputs by unit 0 of layer d
        over ``n_networks`` draws (at most min(n_networks, 2^s)).
    n_inputs : int
        s, the number of inputs labelled.
    n_networks : int
        Number of networks drawn.
    """

    layer: np.ndarray
    count: np.ndarray
    n_inputs: int
    n_networks: int


def dichotomies(phi, widths, sigma_w: float, sigma_b: float, inputs, n_networks: int, seed) -> Dichotomies:
    """Count the dichotomies of ``inputs`` realised by random networks (Raghu et al.).

    Every draw is a ``RandomNetwork(phi, widths, sigma_w, sigma_b, seed=child)`` with
    children of ``seed``; a network truncated at layer d is a depth-d network, so one
    draw gives the labelling at every depth.

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity.
    widths : sequence of int
        [N0, N1, ..., ND].
    sigma_w, sigma_b : float
        Weight and bias standard deviations.
    inputs : array_like of shape (s, N0)
        The fixed input set.
    n_networks : int
        Number of networks to draw, >= 1.
    seed : int or sequence of int
        Entropy of the ``numpy.random.SeedSequence`` whose children seed the networks.

    Returns
    -------
    Dichotomies
        Per layer, the number of distinct labellings met.

    Raises
    ------
    RegionsError
        If ``inputs`` is not of shape (s, N0) or ``n_networks < 1``.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    widths = [int(w) for w in widths]
    if inputs.ndim != 2 or inputs.shape[1] != widths[0]:
        raise RegionsError(f"inputs must be (s, {widths[0]}), got shape {inputs.shape}")
    if int(n_networks) < 1:
        raise RegionsError(f"n_networks must be at least 1, got {n_networks}")
    phi = as_nonlinearity(phi)        # build phi once, not once per draw
    seen = [set() for _ in widths[1:]]
    for child in np.random.SeedSequence(seed).spawn(int(n_networks)):
        net = RandomNetwork(phi, widths, sigma_w, sigma_b, seed=np.random.default_rng(child))
        for d, h in enumerate(net.forward(inputs)):
            seen[d].add(np.packbits(h[:, 0] > 0).tobytes())
    return Dichotomies(np.arange(1, len(widths)), np.array([len(s) for s in seen]), len(inputs), int(n_networks))
