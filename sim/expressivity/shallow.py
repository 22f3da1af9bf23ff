"""Shallow networks cannot achieve exponential expressivity (Poole et al. 2016, Theorem 1, SM App. C).

For x^1 = phi(W^1 x^0 + b^1) with phi monotone non-decreasing of dynamic range R, and an
input curve none of whose 1D projections of dx^0/dtheta changes sign more than s times,

    L^E(x^1) <= N_1 (1 + s) R        for every W^1, b^1.

Each hidden unit's pre-activation w.x^0(theta) + b is monotone on each of the at most
s + 1 pieces of the curve, so phi of it moves by at most R per piece (App. C).  This
module measures s numerically, the length of the activation curves x^l = phi(h^l) of
any network, and builds shallow networks deliberately optimised to be long.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from meanfield.nonlinearity import as_nonlinearity

from ..errors import SimError
from ..geometry.curves import Curve
from ..geometry.measure import euclidean_length
from ..geometry.propagate import propagate_iter
from ..networks.network import Network
from .sign_changes import count_sign_changes


def sign_changes(curve: Curve, *, n_directions: int = 2000, seed=0) -> int:
    """s of Theorem 1: the most sign changes of any 1D projection w . dx/dtheta.

    The maximum over w is taken over the principal directions of the velocities and
    ``n_directions`` random unit vectors in their span (the projections outside the
    span vanish), so it is exact for curves in a low-dimensional subspace such as the
    circle and a lower estimate otherwise.  For a closed curve the count is made so
    that the curve splits into s + 1 monotone pieces: k cyclic sign changes give k
    pieces, i.e. s = k - 1 (s = 1 for the circle, as in Poole Sec. 5).

    Parameters
    ----------
    curve : sim.Curve
        The input curve; only its velocities and ``closed`` flag are used.
    n_directions : int
        Number of random directions w tried besides the principal ones.
    seed : int or numpy.random.Generator
        Draws the random directions.

    Returns
    -------
    int
        s, the largest sign-change count found (0 for a curve with zero velocity).
    """
    v = np.asarray(curve.velocity, dtype=np.float64)
    _, sv, vt = np.linalg.svd(v, full_matrices=False)
    rank = int(np.sum(sv > sv[0] * 1e-10)) if sv.size and sv[0] > 0 else 0
    if rank == 0:
        return 0
    basis = vt[:rank]
    rng = np.random.default_rng(seed)
    w = np.vstack([np.eye(rank), rng.standard_normal((n_directions, rank))]) @ basis
    changes = count_sign_changes(v @ w.T, closed=curve.closed)
    k = int(changes.max())
    return max(k - 1, 0) if curve.closed else k


def activation_lengths(network, curve: Curve) -> np.ndarray:
    """L^E of the activation curves x^l(theta) = phi(h^l(theta)), l = 1..D (unnormalised).

    dx^l/dtheta = phi'(h^l) dh^l/dtheta exactly (forward mode, sim.propagate).

    Parameters
    ----------
    network : sim.Network
        The network.
    curve : sim.Curve
        The curve, in x^0 or h^1 (``curve.layer``).

    Returns
    -------
    numpy.ndarray of shape (D,)
        L^E(x^l) for l = 1..D, not divided by sqrt(N_l) (Theorem 1 bounds the raw length).

    Raises
    ------
    CurveError
        If the curve's width does not match the network.
    """
    out = []
    for state in propagate_iter(network, curve, order=1):
        dx = network.activation_slope(state.position) * state.velocity
        out.append(euclidean_length(curve.theta, dx, closed=curve.closed))
    return np.array(out)


def poole_shallow_length_bound(N1: int, s: int, R: float) -> float:
    """N1 (1 + s) R, from ``meanfield.bounds.shallow_length_bound`` (Poole et al. 2016, Theorem 1).

    Parameters
    ----------
    N1 : int
        Width of the single hidden layer, >= 1.
    s : int
        Most sign changes of a 1D projection of the input velocity (:func:`sign_changes`), >= 0.
    R : float
        Dynamic range max phi - min phi, finite.

    Returns
    -------
    float
        The bound on L^E(x^1), for every W^1, b^1.

    Raises
    ------
    meanfield.bounds.BoundError
        If N1 < 1, s < 0 or R is not finite and >= 0.
    """
    from meanfield.bounds import shallow_length_bound

    return shallow_length_bound(N1, s, R)


def _shallow_length(params: np.ndarray, phi, curve: Curve, n_hidden: int) -> float:
    n_in = curve.width
    w = params[: n_hidden * n_in].reshape(n_hidden, n_in)
    b = params[n_hidden * n_in:]
    dx = phi.dphi(curve.position @ w.T + b) * (curve.velocity @ w.T)
    return euclidean_length(curve.theta, dx, closed=curve.closed)


def optimised_shallow_network(phi, curve: Curve, n_hidden: int, *, gain: float = 10.0,
                              maxiter: int = 50) -> Network:
    """A one-hidden-layer network built to make L^E(x^1) as long as possible.

    The extremal case of App. C: unit i projects the curve on the direction at angle
    pi i / N1 in the curve's top principal plane, scaled by ``gain`` and centred on the
    curve, so that the units switch one after the other and each sweeps (nearly) the
    full range R of phi on each of the curve's monotone pieces; on a circle this
    approaches N1 (1 + s) R as the gain grows.  All weights and biases are then
    improved jointly by BFGS on L^E (numerical gradients: keep N0 and N1 small).

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity.
    curve : sim.Curve
        The input curve; must be given as an input x^0 (``curve.layer == 0``).
    n_hidden : int
        N1, the number of hidden units.
    gain : float
        Scale of the initial weights relative to the curve's radius (larger: sharper switches).
    maxiter : int
        BFGS iterations; 0 keeps the hand-built initial network.  The optimised
        parameters are kept only if they are longer.

    Returns
    -------
    Network
        A one-layer network [N0, N1] (x^1 = phi(W^1 x^0 + b^1)).

    Raises
    ------
    SimError
        If the curve is not an input curve.
    """
    if curve.layer != 0:
        raise SimError("optimised_shallow_network needs an input curve (layer=0), not one placed in h^1")
    nl = as_nonlinearity(phi)
    n_hidden = int(n_hidden)
    x = np.asarray(curve.position)
    mean = x.mean(axis=0)
    _, sv, vt = np.linalg.svd(x - mean, full_matrices=False)
    plane = vt[:2] if len(sv) > 1 and sv[1] > sv[0] * 1e-10 else np.vstack([vt[0], vt[0]])
    half_width = sv[0] / np.sqrt(2 * len(x))  # radius of a circle with this spread
    angles = np.pi * np.arange(n_hidden) / n_hidden
    w = (np.cos(angles)[:, None] * plane[0] + np.sin(angles)[:, None] * plane[1]) * (gain / half_width)
    b = -w @ mean
    p0 = np.concatenate([w.ravel(), b])
    def length(p):
        return _shallow_length(p, nl, curve, n_hidden)
    if maxiter > 0:
        res = minimize(lambda p: -length(p), p0, method="BFGS", options={"maxiter": int(maxiter)})
        if np.isfinite(res.fun) and -res.fun > length(p0):
            p0 = res.x
    n_in = curve.width
    return Network(nl, [p0[: n_hidden * n_in].reshape(n_hidden, n_in)], [p0[n_hidden * n_in:]])


@dataclass(frozen=True)
class ShallowCheck:
    """Theorem 1 on one curve: lengths of shallow networks against the bound (Poole et al. 2016).

    Attributes
    ----------
    s : int
        Measured sign changes of the curve (:func:`sign_changes`).
    R : float
        Dynamic range of phi.
    bound : float
        N1 (1 + s) R.
    random_lengths : numpy.ndarray
        L^E(x^1) of one random network per sigma_w.
    optimised_length : float
        L^E(x^1) of :func:`optimised_shallow_network` (NaN if not run).
    """

    s: int
    R: float
    bound: float
    random_lengths: np.ndarray
    optimised_length: float

    @property
    def holds(self) -> bool:
        """True when no shallow network exceeds the bound."""
        return bool(np.all(self.random_lengths <= self.bound) and self.optimised_length <= self.bound)


def check_poole_theorem1(phi, curve: Curve, n_hidden: int, *, sigma_ws=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
                   sigma_b: float = 0.3, seed=0, optimise: bool = True) -> ShallowCheck:
    """Lengths of random and optimised shallow networks on ``curve`` against N1 (1 + s) R.

    Random networks use W ~ N(0, sigma_w^2 / N0), b ~ N(0, sigma_b^2) for each sigma_w in
    ``sigma_ws``; s is measured with :func:`sign_changes`.  phi must be monotone with a
    finite range (the hypotheses of Theorem 1).

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        A monotone nonlinearity with finite range (e.g. tanh).
    curve : sim.Curve
        The input curve (``layer=0``).
    n_hidden : int
        N1, the number of hidden units.
    sigma_ws : sequence of float
        Weight standard deviations of the random networks, one network each.
    sigma_b : float
        Bias standard deviation of the random networks.
    seed : int
        Seeds the random networks and the direction search of :func:`sign_changes`.
    optimise : bool
        Also build and measure :func:`optimised_shallow_network` (slow for large N0, N1).

    Returns
    -------
    ShallowCheck
        s, R, the bound and the measured lengths; ``holds`` says whether all stay below it.

    Raises
    ------
    SimError
        If phi is not monotone or has unbounded range, or the curve is not an input curve.
    """
    from ..networks.network import RandomNetwork

    nl = as_nonlinearity(phi)
    if not nl.is_monotone or not np.isfinite(nl.range):
        raise SimError(f"Theorem 1 needs a monotone phi with bounded range; {nl.name} has "
                         f"monotone={nl.is_monotone}, range={nl.range}")
    if curve.layer != 0:
        raise SimError("Theorem 1 is about input curves: build the curve with layer=0")
    s = sign_changes(curve, seed=seed)
    bound = poole_shallow_length_bound(n_hidden, s, nl.range)
    widths = [curve.width, int(n_hidden)]
    randoms = np.array([activation_lengths(RandomNetwork(nl, widths, sw, sigma_b, seed=(seed, i)), curve)[0]
                        for i, sw in enumerate(sigma_ws)])
    opt = (activation_lengths(optimised_shallow_network(nl, curve, n_hidden), curve)[0]
           if optimise else float("nan"))
    return ShallowCheck(s, float(nl.range), float(bound), randoms, float(opt))
