"""Counting bounds for activation regions, activation patterns and trajectory length.

Every function states its source and its assumptions.  Counts are exact Python
integers (``math.comb``); asymptotic statements of the form O(f) are returned as f
itself (constant 1) and say so.

Sources
-------
HR   Hanin & Rolnick, *Deep ReLU networks have surprisingly few activation patterns*
     (NeurIPS 2019): eq. (4), Theorem 5, Remark 1.
RPK  Raghu, Poole, Kleinberg, Ganguli & Sohl-Dickstein, *On the expressive power of
     deep neural networks* (ICML 2017), summarised in the survey (Theorem 1) and the
     lecture slides (activation-pattern bounds, width for a fixed number of neurons).
P    Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli, *Exponential expressivity in deep
     neural networks through transient chaos* (NeurIPS 2016), Theorem 1.
M    Montufar, Pascanu, Cho & Bengio, *On the number of linear regions of deep neural
     networks* (NeurIPS 2014), Theorem 4.
S    Serra, Tjandraatmadja & Ramalingam, *Bounding and counting linear regions of deep
     neural networks* (ICML 2018), Theorem 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from .errors import MeanFieldError


class BoundError(MeanFieldError):
    """A bound was asked for outside its assumptions (e.g. negative sizes)."""


def _nonneg_int(name: str, value) -> int:
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 0
    except (TypeError, ValueError, OverflowError):   # None, "x", nan, inf: not integers either
        ok = False
    if not ok:
        raise BoundError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _positive_int(name: str, value) -> int:
    value = _nonneg_int(name, value)
    if value == 0:
        raise BoundError(f"{name} must be at least 1, got 0")
    return value


def _widths(widths) -> list[int]:
    widths = [_positive_int("every hidden width", n) for n in widths]
    if not widths:
        raise BoundError("need at least one hidden layer width")
    return widths


def hyperplane_regions(m: int, n: int) -> int:
    """Regions of m hyperplanes in general position in R^n (HR eq. 4; Zaslavsky).

        #regions = sum_{i=0}^{n} C(m, i)   (~ m^n / n! for m >> n, = 2^m for m <= n).

    This is the exact number of activation regions of a one-hidden-layer ReLU net with
    m neurons and input dimension n whenever the hyperplanes are in general position,
    which holds with probability one for random weights and biases with a density
    (HR Sec. 2.2).  With zero biases all hyperplanes pass through the origin and the
    central arrangement has fewer regions (see :func:`central_arrangement_regions`).

    Parameters
    ----------
    m : int
        Number of hyperplanes (hidden neurons), >= 0.
    n : int
        Dimension of the space (input dimension n_in), >= 0.

    Returns
    -------
    int
        The exact number of connected components of R^n minus the hyperplanes.

    Raises
    ------
    BoundError
        If m or n is not a non-negative integer.
    """
    m, n = _nonneg_int("m", m), _nonneg_int("n", n)
    return sum(math.comb(m, i) for i in range(n + 1))


def central_arrangement_regions(m: int, n: int) -> int:
    """Regions of m generic hyperplanes through the origin of R^n (Cover/Zaslavsky).

        #regions = 2 sum_{i=0}^{n-1} C(m - 1, i)

    For n = 2 this is 2m: m lines through one point cut the plane into 2m sectors (the
    zero-bias case, HR App. D).  Assumes the normals are in general position.

    Parameters
    ----------
    m : int
        Number of hyperplanes through the origin (hidden neurons with zero bias), >= 1.
    n : int
        Dimension of the space (input dimension n_in), >= 1.

    Returns
    -------
    int
        The exact number of regions (cones) of the central arrangement.

    Raises
    ------
    BoundError
        If m or n is not an integer >= 1.
    """
    m, n = _positive_int("m", m), _positive_int("n", n)
    return 2 * sum(math.comb(m - 1, i) for i in range(n))


def hanin_rolnick_bound(n_neurons: int, n_in: int, T: float = 1.0, volume: float = 1.0) -> float:
    """Theorem 5 of HR: expected number of activation regions in a cube of given volume.

        E[#regions in C] / vol(C) <= (T #neurons)^{n_in} / n_in!   if #neurons >= n_in,
                                     2^{#neurons}                   otherwise.

    Assumptions (HR Theorem 5): ReLU network, no tied weights, output dimension 1;
    weights with a joint density; biases with conditional densities bounded by
    C_bias^k; gradient moments sup_x E||grad z(x)||^m <= C_grad^m; cube side above
    delta_0.  T depends on C_grad and C_bias and is not given by the paper: it is a
    parameter here (T = 1 reproduces the heuristic of Remark 1 per unit volume).

    Parameters
    ----------
    n_neurons : int
        Total number of hidden neurons of the network (all layers), >= 0.
    n_in : int
        Input dimension, >= 1.
    T : float, optional
        The constant T of Theorem 5, > 0 (default 1).  It only enters the case
        n_neurons >= n_in.
    volume : float, optional
        Volume of the cube C, > 0 (default 1: the bound per unit volume).

    Returns
    -------
    float
        The right-hand side of Theorem 5 times ``volume``: an upper bound on the
        expected number of non-empty activation regions in C.

    Raises
    ------
    BoundError
        If n_neurons is not a non-negative integer, n_in not an integer >= 1, or T or
        volume is not positive.
    """
    n_neurons, n_in = _nonneg_int("n_neurons", n_neurons), _positive_int("n_in", n_in)
    if not (T > 0 and volume > 0):
        raise BoundError(f"T and volume must be positive, got T={T}, volume={volume}")
    if n_neurons >= n_in:
        return volume * (T * n_neurons) ** n_in / math.factorial(n_in)
    return volume * 2.0 ** n_neurons


def hanin_rolnick_heuristic(n_neurons: int, n_in: int) -> float:
    """HR Remark 1 / Sec. 3.3: total number of activation regions ~ #neurons^{n_in} / n_in!.

    The depth-1 value of eq. (4) to leading order; HR argue (Sec. 3.3, He
    initialisation Var W = 2/fan-in) that any depth gives about the same count, e.g.
    96^2 / 2 = 4608 for depth 3 x width 32 in a 2D cross-section (HR Figs. 5, 6).
    A heuristic, not a bound.

    Parameters
    ----------
    n_neurons : int
        Total number of hidden neurons of the network (all layers), >= 0.
    n_in : int
        Input dimension (2 for a 2D cross-section), >= 1.

    Returns
    -------
    float
        n_neurons^{n_in} / n_in!, the predicted number of activation regions.

    Raises
    ------
    BoundError
        If n_neurons is not a non-negative integer or n_in not an integer >= 1.
    """
    n_neurons, n_in = _nonneg_int("n_neurons", n_neurons), _positive_int("n_in", n_in)
    return n_neurons ** n_in / math.factorial(n_in)


def raghu_pattern_bound(k: int, n: int, m: int, phi: str = "relu") -> int:
    """RPK upper bound on the number of activation patterns, as stated (slides, Theorem).

    A fully connected network with n hidden layers of width k and inputs in R^m has
    O(k^{mn}) activation patterns with ReLU and O((2k)^{mn}) with hard tanh (two
    thresholds per unit give 2k hyperplanes per layer).  Returned without the
    constant, i.e. k^{mn} or (2k)^{mn}; see :func:`layerwise_arrangement_bound` for a
    non-asymptotic version of the same argument.

    Parameters
    ----------
    k : int
        Width of every hidden layer, >= 1.
    n : int
        Number of hidden layers, >= 1.
    m : int
        Input dimension, >= 1.
    phi : str, optional
        ``'relu'`` (default), ``'leaky_relu'`` (same count as ReLU), or ``'hard_tanh'``
        (alias ``'hardtanh'``).

    Returns
    -------
    int
        k^{mn} for ReLU and leaky ReLU, (2k)^{mn} for hard tanh (the O() constant is 1).

    Raises
    ------
    BoundError
        If k, n or m is not an integer >= 1, or phi is none of the names above.
    """
    k, n, m = _positive_int("k", k), _positive_int("n", n), _positive_int("m", m)
    return _per_unit_cuts(phi, k) ** (m * n)


def _per_unit_cuts(phi: str, k: int) -> int:
    if phi in ("relu", "leaky_relu"):
        return k
    if phi in ("hard_tanh", "hardtanh"):
        return 2 * k
    raise BoundError(f"activation-pattern bounds are stated for 'relu', 'leaky_relu' and "
                     f"'hard_tanh'; got {phi!r}")


def layerwise_arrangement_bound(widths, n_in: int, phi: str = "relu") -> int:
    """prod_l sum_{i<=n_in} C(c N_l, i): the argument behind RPK's bound, without O().

    Inside an activation region of layers 1..l-1 the units of layer l cut the region
    by hyperplanes (HR Lemma 4), c N_l of them (c = 1 for ReLU and leaky ReLU, 2 for
    hard tanh), so each region splits into at most eq. (4) pieces.  A rigorous upper
    bound on the number of activation regions for any weights.

    Parameters
    ----------
    widths : sequence of int
        Hidden layer widths N_1, ..., N_L, each >= 1 (at least one layer).
    n_in : int
        Input dimension, >= 1.
    phi : str, optional
        ``'relu'`` (default), ``'leaky_relu'`` or ``'hard_tanh'`` (alias ``'hardtanh'``);
        sets c.

    Returns
    -------
    int
        prod_l sum_{i=0}^{n_in} C(c N_l, i), exact.

    Raises
    ------
    BoundError
        If widths is empty or holds a width that is not an integer >= 1, n_in is not
        an integer >= 1, or phi is none of the names above.
    """
    n_in = _positive_int("n_in", n_in)
    total = 1
    for width in _widths(widths):
        total *= hyperplane_regions(_per_unit_cuts(phi, width), n_in)
    return total


def montufar_lower_bound(widths, n_in: int) -> int:
    """M Theorem 4: maximal number of linear regions of a deep ReLU net, from below.

        max_theta #linear regions >= ( prod_{l=1}^{L-1} floor(N_l / n_0)^{n_0} )
                                      * sum_{j=0}^{n_0} C(N_L, j)

    for L hidden layers of widths N_l >= n_0 = n_in.  A statement about the best
    weights, not about random ones (random nets are far below it, HR).

    Parameters
    ----------
    widths : sequence of int
        Hidden layer widths N_1, ..., N_L, each >= n_in.
    n_in : int
        Input dimension n_0, >= 1.

    Returns
    -------
    int
        The right-hand side above, exact.

    Raises
    ------
    BoundError
        If widths is empty or holds a width that is not an integer >= 1, n_in is not
        an integer >= 1, or some width is below n_in.
    """
    widths, n_in = _widths(widths), _positive_int("n_in", n_in)
    if min(widths) < n_in:
        raise BoundError(f"Montufar et al.'s bound needs every width >= n_in = {n_in}; got {widths}")
    total = hyperplane_regions(widths[-1], n_in)
    for width in widths[:-1]:
        total *= (width // n_in) ** n_in
    return total


def serra_upper_bound(widths, n_in: int) -> int:
    """S Theorem 1: maximal number of linear regions of a ReLU net, from above.

        max_theta #regions <= sum_{(j_1..j_L) in J} prod_l C(N_l, j_l),
        J = {0 <= j_l <= min(n_0, N_1 - j_1, ..., N_{l-1} - j_{l-1}, N_l)}.

    Tight for one hidden layer (then it is eq. 4).  The sum is enumerated exactly, so
    keep L * n_in modest (the number of terms is at most (n_in + 1)^L).

    Parameters
    ----------
    widths : sequence of int
        Hidden layer widths N_1, ..., N_L, each >= 1 (at least one layer).
    n_in : int
        Input dimension n_0, >= 1.

    Returns
    -------
    int
        The right-hand side above, exact.

    Raises
    ------
    BoundError
        If widths is empty or holds a width that is not an integer >= 1, n_in is not
        an integer >= 1, or (n_in + 1)^L exceeds 5,000,000 terms.
    """
    widths, n_in = _widths(widths), _positive_int("n_in", n_in)
    if (n_in + 1) ** len(widths) > 5_000_000:
        raise BoundError(f"Serra et al.'s sum has up to (n_in+1)^L = {(n_in + 1) ** len(widths)} terms; "
                         f"use fewer layers or a smaller n_in")
    total = 0
    for js in product(range(n_in + 1), repeat=len(widths)):
        cap, term = n_in, 1
        for width, j in zip(widths, js):
            if j > min(cap, width):
                term = 0
                break
            term *= math.comb(width, j)
            cap = min(cap, width - j)
        total += term
    return total


def raghu_growth_factor(sigma_w: float, sigma_b: float, k: int) -> float:
    """Per-layer factor of RPK Theorem 1 (hard tanh, W ~ N(0, sigma_w^2/k), b ~ N(0, sigma_b^2)).

        sigma_w / (sigma_w^2 + sigma_b^2)^{1/4} * sqrt(k) / sqrt(sqrt(sigma_w^2 + sigma_b^2) + k)

    Parameters
    ----------
    sigma_w : float
        Weight standard deviation (W_ij ~ N(0, sigma_w^2 / k)), > 0.
    sigma_b : float
        Bias standard deviation, >= 0.
    k : int
        Width of every hidden layer, >= 1.

    Returns
    -------
    float
        The factor above; the lower bound grows like factor^d with depth d.

    Raises
    ------
    BoundError
        If k is not an integer >= 1, sigma_w <= 0 or sigma_b < 0.
    """
    k = _positive_int("k", k)
    if not (sigma_w > 0 and sigma_b >= 0):
        raise BoundError(f"need sigma_w > 0 and sigma_b >= 0, got {sigma_w}, {sigma_b}")
    s = math.hypot(sigma_w, sigma_b)
    return sigma_w / math.sqrt(s) * math.sqrt(k) / math.sqrt(s + k)


def raghu_trajectory_lower_bound(sigma_w: float, sigma_b: float, k: int, depth: int,
                                 input_length: float = 1.0) -> float:
    """RPK Theorem 1: E[l(z^(d))] >= O(factor^d) l(x(t)), returned as factor^d * l(x).

    Assumes a hard-tanh network of width k with i.i.d. Gaussian weights and biases and
    any 1D input trajectory x(t); the O() hides a constant, so compare growth *rates*
    (Raghu Fig. 2 c, d) rather than absolute lengths.

    Parameters
    ----------
    sigma_w : float
        Weight standard deviation (W_ij ~ N(0, sigma_w^2 / k)), > 0.
    sigma_b : float
        Bias standard deviation, >= 0.
    k : int
        Width of every hidden layer, >= 1.
    depth : int
        Layer d whose image of the trajectory is measured, >= 0 (0: the input).
    input_length : float, optional
        Arc length l(x(t)) of the input trajectory (default 1).

    Returns
    -------
    float
        :func:`raghu_growth_factor` ^ depth * input_length (the O() constant is 1).

    Raises
    ------
    BoundError
        If depth is not a non-negative integer, k not an integer >= 1, sigma_w <= 0,
        sigma_b < 0 or input_length not a finite number >= 0.
    """
    depth = _nonneg_int("depth", depth)
    try:
        length = float(input_length)
    except (TypeError, ValueError):
        length = math.nan
    if isinstance(input_length, bool) or not (math.isfinite(length) and length >= 0):
        raise BoundError(f"input_length is the arc length of the input trajectory, a finite number >= 0; "
                         f"got {input_length!r}")
    return raghu_growth_factor(sigma_w, sigma_b, k) ** depth * length


def shallow_length_bound(N1: int, s: int, R: float) -> float:
    """P Theorem 1: a one-hidden-layer network maps a curve to length L^E <= N1 (1 + s) R.

    Assumes phi monotone non-decreasing with dynamic range R = max phi - min phi and an
    input curve none of whose 1D projections of the velocity changes sign more than s
    times (s = 1 for a circle), for any W^1, b^1.  For tanh (R = 2) on a circle this is
    4 N1; Poole et al. quote it in normalised form as growing only like sqrt(N1), in
    contrast with the exponential growth with depth.

    Parameters
    ----------
    N1 : int
        Width of the hidden layer, >= 1.
    s : int
        Most sign changes of any 1D projection of the curve's velocity, >= 0.
    R : float
        Dynamic range max phi - min phi of the nonlinearity, finite and >= 0.

    Returns
    -------
    float
        N1 (1 + s) R, an upper bound on the Euclidean length L^E of the image curve.

    Raises
    ------
    BoundError
        If N1 is not an integer >= 1, s not a non-negative integer, or R is negative
        or not finite (an unbounded phi such as ReLU).
    """
    N1, s = _positive_int("N1", N1), _nonneg_int("s", s)
    if not (R >= 0 and math.isfinite(R)):
        raise BoundError(f"Poole et al.'s bound needs a bounded phi (finite range R), got R={R}")
    return N1 * (1 + s) * float(R)


@dataclass(frozen=True)
class OptimalWidth:
    """Result of :func:`optimal_width_fixed_neurons`.

    Attributes
    ----------
    k_continuous : float
        Maximiser of the bound over real k (e for ReLU, e/2 for hard tanh).
    k_integer : int
        Best integer width (ties go to the smaller width).
    log_bound : dict
        k -> log of the bound c k^{m N / k} for the integer widths compared.
    """

    k_continuous: float
    k_integer: int
    log_bound: dict


def optimal_width_fixed_neurons(n_neurons: int, m: int, phi: str = "relu") -> OptimalWidth:
    """Slides: with N neurons in layers of width k (depth N/k), maximise k^{m N / k}.

    log of the RPK bound is (m N / k) log(c k); d/dk = m N (1 - log(c k)) / k^2 = 0 gives
    c k = e, i.e. k = e for ReLU (c = 1) and k = e/2 for hard tanh (c = 2).  Among
    integers, ReLU is best at k = 3 (3^{1/3} > 2^{1/2}), and the bound decreases for
    every k >= 3 (slides: "When k >= 3, APs decrease when k increases").

    Parameters
    ----------
    n_neurons : int
        Total number of hidden neurons N, >= 1; integer widths 1..N are compared.
    m : int
        Input dimension, >= 1.
    phi : str, optional
        ``'relu'`` (default, c = 1), ``'leaky_relu'`` (c = 1) or ``'hard_tanh'``
        (alias ``'hardtanh'``, c = 2).

    Returns
    -------
    OptimalWidth
        ``k_continuous`` = e / c, ``k_integer`` the best integer width (ties to the
        smaller), ``log_bound`` {k: (m N / k) log(c k)} for k = 1..N.

    Raises
    ------
    BoundError
        If n_neurons or m is not an integer >= 1, or phi is none of the names above.
    """
    n_neurons, m = _positive_int("n_neurons", n_neurons), _positive_int("m", m)
    c = _per_unit_cuts(phi, 1)
    logs = {k: m * n_neurons / k * math.log(c * k) for k in range(1, n_neurons + 1)}
    best = max(logs, key=lambda k: (round(logs[k], 12), -k))
    return OptimalWidth(math.e / c, best, logs)
