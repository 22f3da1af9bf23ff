"""Weight chaos: how fast a deep network moves in function space when one layer's weights move.

Poole et al. 2016, SM App. F.  A one-parameter family of networks shares every weight
and bias except layer ``layer``, whose weights are

    W^layer(tau) = sqrt(1 - tau^2) W0 + tau W1,

with W0, W1 independent and of the usual variance sigma_w^2 / N.  Two members tau1, tau2
have weights with correlation rho = sqrt(1 - tau1^2) sqrt(1 - tau2^2) + tau1 tau2.  On a
fixed input circle at q*, the function-space correlation

    c^l(tau1, tau2) = < h^l(theta; tau1) . h^l(theta; tau2) / (|h^l(theta; tau1)| |h^l(theta; tau2)|) >_theta

is 1 below the moved layer and then follows the mean-field recursion of App. F
(``meanfield.MeanField.weight_chaos(rho, layer, depth)``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.curves import circle
from ..geometry.measure import correlation
from ..geometry.propagate import propagate_iter
from .network import Network, NetworkError, RandomNetwork


def weight_correlation(tau1: float, tau2: float) -> float:
    """rho = sqrt(1 - tau1^2) sqrt(1 - tau2^2) + tau1 tau2 for the family above (Poole et al. 2016, SM App. F).

    Parameters
    ----------
    tau1, tau2 : float
        The family parameters of the two networks, each in [-1, 1].

    Returns
    -------
    float
        The correlation rho between the two networks' weights W^layer(tau1), W^layer(tau2).

    Raises
    ------
    NetworkError
        If a tau lies outside [-1, 1].
    """
    for t in (tau1, tau2):
        if not -1 <= t <= 1:
            raise NetworkError(f"tau must lie in [-1, 1], got {t}")
    return float(np.sqrt(1 - tau1 ** 2) * np.sqrt(1 - tau2 ** 2) + tau1 * tau2)


@dataclass(frozen=True)
class WeightChaosResult:
    """Function-space correlation per layer (arrays over layers 1..depth).

    Attributes
    ----------
    layer : numpy.ndarray of int
        1..depth.
    rho : float
        Weight correlation of the two networks (:func:`weight_correlation`).
    moved_layer : int
        The layer whose weights differ.
    c : numpy.ndarray
        c^l(tau1, tau2), the correlation averaged over the circle's points.
    c_std : numpy.ndarray
        Its spread over the points.
    """

    layer: np.ndarray
    rho: float
    moved_layer: int
    c: np.ndarray
    c_std: np.ndarray


def weight_family(phi, widths, sigma_w: float, sigma_b: float, layer: int, taus, seed) -> list[Network]:
    """Networks of the App. F family for each tau in ``taus`` (shared W0, W1 and biases).

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity.
    widths : sequence of int
        [N0, N1, ..., ND].
    sigma_w, sigma_b : float
        Standard deviations of weights (times sqrt(N_{l-1})) and biases.
    layer : int
        The moved layer, in 1..D.
    taus : iterable of float
        Family parameters, each in [-1, 1]; W^layer(tau) = sqrt(1 - tau^2) W0 + tau W1.
    seed : int or numpy.random.Generator
        Draws the base network (including W0) and W1.

    Returns
    -------
    list of Network
        One network per tau, identical except for layer ``layer``'s weights.

    Raises
    ------
    NetworkError
        If ``layer`` is outside 1..D or a tau outside [-1, 1].
    """
    base = RandomNetwork(phi, widths, sigma_w, sigma_b, seed=seed)
    if not 1 <= layer <= base.depth:
        raise NetworkError(f"layer must be in 1..{base.depth}, got {layer}")
    rng = np.random.default_rng((np.random.default_rng(seed).integers(2 ** 63), layer))
    w0 = base.weights[layer - 1]
    w1 = rng.standard_normal(w0.shape) * (sigma_w / np.sqrt(w0.shape[1]))
    nets = []
    for tau in taus:
        if not -1 <= tau <= 1:
            raise NetworkError(f"tau must lie in [-1, 1], got {tau}")
        weights = list(base.weights)
        weights[layer - 1] = np.sqrt(1 - tau ** 2) * w0 + tau * w1
        nets.append(Network(base.phi, weights, base.biases))
    return nets


def simulate_weight_chaos(phi, sigma_w: float, sigma_b: float, q_star: float, *, width: int, depth: int,
                          layer: int, tau1: float, tau2: float, n_points: int = 100,
                          seed=0) -> WeightChaosResult:
    """Correlation c^l(tau1, tau2) of two family members on a circle (App. F).

    For ``layer >= 2`` the circle is placed in h^1 at q* (Poole Sec. 4), as in
    ``MeanField.weight_chaos``.  For ``layer = 1`` it must be an input: it is put in x^0
    with squared length per unit q0 = (q* - sigma_b^2) / sigma_w^2, so that h^1 is at q*
    on average, and the same recursion applies.

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity.
    sigma_w, sigma_b : float
        Weight and bias standard deviations.
    q_star : float
        The fixed point q* of the length map (Poole eq. 3) at which to place the circle;
        must exceed sigma_b^2.
    width : int
        N, the width of every layer (and of the input).
    depth : int
        Number of layers D.
    layer : int
        The moved layer, in 1..D.
    tau1, tau2 : float
        Family parameters of the two networks, in [-1, 1].
    n_points : int
        Samples of the circle.
    seed : int
        Seeds the networks and the circle's plane.

    Returns
    -------
    WeightChaosResult
        c^l and its spread over the circle for l = 1..depth, with rho and the moved layer;
        compare with ``meanfield.MeanField.weight_chaos(rho, layer, depth)``.

    Raises
    ------
    NetworkError
        If ``q_star <= sigma_b^2``, ``layer`` is outside 1..D, a tau outside [-1, 1], or
        ``layer = 1`` with ``sigma_w <= 0``.
    """
    if q_star <= sigma_b ** 2:
        raise NetworkError(f"q* = {q_star} must exceed sigma_b^2 = {sigma_b ** 2} to place the circle at q*")
    if layer == 1 and not sigma_w > 0:
        raise NetworkError(f"layer = 1 needs sigma_w > 0 to place the input so that h^1 is at q* "
                           f"(with sigma_w = {sigma_w}, h^1 = b ignores the input); use layer >= 2 or sigma_w > 0")
    nets = weight_family(phi, [width] * (depth + 1), sigma_w, sigma_b, layer, (tau1, tau2), seed)
    if layer == 1:
        curve = circle(width, (q_star - sigma_b ** 2) / sigma_w ** 2, n_points, seed=(seed, 1), layer=0)
    else:
        curve = circle(width, q_star, n_points, seed=(seed, 1))
    means, stds = [], []
    for a, b in zip(propagate_iter(nets[0], curve, order=0), propagate_iter(nets[1], curve, order=0)):
        c = correlation(a.position, b.position)
        means.append(np.mean(c))
        stds.append(np.std(c))
    return WeightChaosResult(np.arange(1, depth + 1), weight_correlation(tau1, tau2), layer,
                             np.array(means), np.array(stds))
