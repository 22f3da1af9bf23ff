"""Method 1 of docs/derivations.md Sec. 7: E[g(m + s z)], z ~ N(0, 1), by globally adaptive
Gauss-Kronrod (7/15) quadrature in z on [-Z, Z].

* initial panel edges at the kinks of g (mapped to z), at the scale points (t - m)/s for
  t in +-{1/4, ..., 64} (so that features of width ~1/s in z are resolved even when
  s = sqrt(q) is large) and every 4.5 units of z;
* the panel with the largest |K15 - G7| is bisected until the summed error estimate is below
  max(rtol |I|, atol_scale * int |integrand|);
* Z starts at 9 and grows while the integrand at +-Z is not negligible (heavy or shifted
  tails); beyond ZMAX the integral is reported as divergent (Status.DIVERGENT).
"""
import math

import numpy as np
from numba import njit

from ...codes import Status
from .integrands import g1

XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                0.207784955007898467600689403773245, 0.000000000000000000000000000000000])
WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
               0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
# Geometric, up to where a residual decaying like e^{-|u|} (sigmoid, swish) is below
# rounding: a panel's first GK15 node lies 0.43 % of its width inside, so a boundary layer
# of width 1/s at the start of a much wider panel would go unseen, error estimate included.
SCALES = np.array([0.25, 1.0, 4.0, 16.0, 64.0])
UNIFORM_STEP = 4.5
INV_SQRT_2PI = 0.3989422804014327
Z0 = 9.0
ZMAX = 45.0
MAXPANELS = 400
INNER_RTOL = 0.1   # inner integrals 10x tighter, so their errors don't use up the outer budget
EDGES, FV, PA, PB, PV, PE, PABS = 0, 1, 2, 3, 4, 5, 6   # workspace rows


@njit(cache=True)
def workspace():
    """Scratch memory for one adaptive integration (allocated once, reused).

    Returns
    -------
    numpy.ndarray of shape (7, MAXPANELS)
        Uninitialised float64 rows: panel edges, the 15 node values, and each panel's ends,
        value, error and integral of |g| (rows EDGES, FV, PA, PB, PV, PE, PABS).  One workspace
        serves one integration at a time: a nested integral needs a second one for its inner
        integrals.
    """
    return np.empty((7, MAXPANELS))


@njit(cache=True)
def _add_edge(W, n, z, Z):
    if -Z < z < Z:
        W[EDGES, n] = z
        return n + 1
    return n


@njit(cache=True)
def _edges(P, W, m, s, Z, extra, n_extra):
    """Sorted initial panel edges in z (into W[EDGES]) for features located in u = m + s z.

    Features: the kinks, 0 and +-SCALES in u, extra points in z, and a uniform
    grid in z.  Returns the number of edges.
    """
    n = 0
    W[EDGES, n] = -Z
    n += 1
    t = -Z + UNIFORM_STEP
    while t < Z - 1e-9:
        W[EDGES, n] = t
        n += 1
        t += UNIFORM_STEP
    W[EDGES, n] = Z
    n += 1
    if s > 0.0:
        for i in range(P.n_kinks):
            n = _add_edge(W, n, (P.kinks[i] - m) / s, Z)
        n = _add_edge(W, n, -m / s, Z)
        for sc in SCALES:
            n = _add_edge(W, n, (sc - m) / s, Z)
            n = _add_edge(W, n, (-sc - m) / s, Z)
    for i in range(n_extra):
        n = _add_edge(W, n, extra[i], Z)
    # insertion sort (n is small), then drop near-duplicates
    for i in range(1, n):
        v = W[EDGES, i]
        j = i - 1
        while j >= 0 and W[EDGES, j] > v:
            W[EDGES, j + 1] = W[EDGES, j]
            j -= 1
        W[EDGES, j + 1] = v
    k = 1
    for i in range(1, n):
        if W[EDGES, i] - W[EDGES, k - 1] > 1e-12 * Z:
            W[EDGES, k] = W[EDGES, i]
            k += 1
    W[EDGES, k - 1] = Z
    return k


@njit(cache=True)
def _combine(fv):
    """GK15 sum, QUADPACK error estimate and sum of |f| from 15 values (pairs, then centre).

    The error estimate is that of QUADPACK's qk15 (Piessens et al. 1983):
    resasc * min(1, (200 |K15 - G7| / resasc)^1.5).
    """
    resk = WGK[7] * fv[14]
    resg = WG[3] * fv[14]
    resabs = WGK[7] * abs(fv[14])
    for j in range(7):
        pair = fv[2 * j] + fv[2 * j + 1]
        resk += WGK[j] * pair
        resabs += WGK[j] * (abs(fv[2 * j]) + abs(fv[2 * j + 1]))
        if j % 2 == 1:
            resg += WG[j // 2] * pair
    mean = 0.5 * resk
    asc = WGK[7] * abs(fv[14] - mean)
    for j in range(7):
        asc += WGK[j] * (abs(fv[2 * j] - mean) + abs(fv[2 * j + 1] - mean))
    err = abs(resk - resg)
    if asc != 0.0 and err != 0.0:
        err = asc * min(1.0, (200.0 * err / asc) ** 1.5)
    return resk, err, resabs


@njit(cache=True)
def _node(i, c, h):
    """z of the i-th GK15 node on the panel centred at c with half-width h."""
    if i == 14:
        return c
    return c + (2 * (i % 2) - 1) * h * XGK[i // 2]


@njit(cache=True)
def _weight(i):
    return WGK[7] if i == 14 else WGK[i // 2]


@njit(cache=True)
def _gk15_1d(P, W, kind, m, s, p1, p2, a, b):
    """(K15, error estimate, K15 of |g|) of g(m + s z) pdf(z) on [a, b]."""
    c = 0.5 * (a + b)
    h = 0.5 * (b - a)
    for i in range(15):
        z = _node(i, c, h)
        W[FV, i] = g1(P, kind, m + s * z, z, p1, p2) * math.exp(-0.5 * z * z)
    resk, err, resabs = _combine(W[FV])
    scale = h * INV_SQRT_2PI
    return resk * scale, err * scale, resabs * scale


@njit(cache=True)
def _store(W, i, a, b, v, e, ab):
    W[PA, i] = a
    W[PB, i] = b
    W[PV, i] = v
    W[PE, i] = e
    W[PABS, i] = ab


@njit(cache=True)
def _totals(W, n):
    """Sum of panel values, errors and |values|, and the panel with the largest error."""
    tot = 0.0
    err = 0.0
    tabs = 0.0
    worst = 0
    for i in range(n):
        tot += W[PV, i]
        err += W[PE, i]
        tabs += W[PABS, i]
        if W[PE, i] > W[PE, worst]:
            worst = i
    return tot, err, tabs, worst


@njit(cache=True)
def _adapt_1d(P, W, kind, m, s, p1, p2, n_edges, rtol, atol_scale, atol):
    """Globally adaptive GK15 over the panels in W[EDGES]; returns (I, err, Iabs, status)."""
    n = n_edges - 1
    for i in range(n):
        a = W[EDGES, i]
        b = W[EDGES, i + 1]
        v, e, ab = _gk15_1d(P, W, kind, m, s, p1, p2, a, b)
        _store(W, i, a, b, v, e, ab)
    while True:
        tot, err, tabs, worst = _totals(W, n)
        if not math.isfinite(tot):
            return np.nan, np.inf, np.nan, Status.NONFINITE
        if err <= max(rtol * abs(tot), atol_scale * tabs, atol):
            return tot, err, tabs, Status.OK
        a = W[PA, worst]
        b = W[PB, worst]
        mid = 0.5 * (a + b)
        if n + 1 > MAXPANELS or mid <= a or mid >= b:
            return tot, err, tabs, Status.NOT_CONVERGED
        v1, e1, ab1 = _gk15_1d(P, W, kind, m, s, p1, p2, a, mid)
        v2, e2, ab2 = _gk15_1d(P, W, kind, m, s, p1, p2, mid, b)
        _store(W, worst, a, mid, v1, e1, ab1)
        _store(W, n, mid, b, v2, e2, ab2)
        n += 1


@njit(cache=True)
def _tail_negligible(P, kind, m, s, p1, p2, Z, total_abs, tol, atol):
    """Is the mass of g(m + s z) pdf(z) beyond |z| = Z below tol * total?  (Mills ratio.)"""
    for sign in (-1.0, 1.0):
        z = sign * Z
        f = abs(g1(P, kind, m + s * z, z, p1, p2)) * math.exp(-0.5 * z * z) * INV_SQRT_2PI
        if not math.isfinite(f):
            return False
        # a slowly varying g has tail mass about f / Z; a g growing faster than the
        # Gaussian decays (f_out > f) is not negligible however small f is
        zo = z + sign
        f_out = abs(g1(P, kind, m + s * zo, zo, p1, p2)) * math.exp(-0.5 * zo * zo) * INV_SQRT_2PI
        if not math.isfinite(f_out) or f_out > f:
            return False
        if f / Z > max(tol * total_abs, atol, 1e-300):
            return False
    return True


@njit(cache=True)
def expect1w(P, W, kind, m, s, p1, p2, rtol, atol_scale, atol):
    """E[g(m + s z)], z ~ N(0, 1), by globally adaptive Gauss-Kronrod (7/15) in workspace W.

    Method 1 of docs/derivations.md Sec. 7: initial panels at the kinks of phi, u = 0 and the
    scale points u = +-(1/4 ... 64) mapped to z, and every 4.5 in z; the panel with the largest
    error is bisected until the summed QUADPACK estimate is below
    max(rtol |I|, atol_scale E|g|, atol); the domain |z| <= Z grows from 9 while the integrand
    at its ends is not negligible, up to ZMAX = 45.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace (from :func:`workspace`), overwritten.
    kind : Kind
        The integrand g (:class:`meanfield.codes.Kind`, see :func:`g1`).
    m, s : float
        Mean and standard deviation of the argument u = m + s z of g (s >= 0; s = sqrt(q)).
    p1, p2 : float
        Parameters of the integrand (see :func:`g1`); 0 for the plain kinds.
    rtol : float
        Relative tolerance of the result.
    atol_scale : float
        Tolerance relative to E|g| (e.g. 1e-15), for integrals that cancel to nearly 0.
    atol : float
        Absolute tolerance (0 for none).

    Returns
    -------
    value : float
        The expectation (NaN if the integrand is not finite).
    error : float
        QUADPACK's error estimate of ``value`` (inf if the integrand is not finite).
    abs_value : float
        E|g(m + s z)|, the scale of the integral.
    status : Status
        Status.OK; Status.NOT_CONVERGED if the bisection ran out of panels (MAXPANELS) or of
        floating-point resolution before reaching the tolerance;
        Status.NONFINITE if the integrand is not finite; Status.DIVERGENT if the integrand
        still matters at |z| = ZMAX (:class:`meanfield.codes.Status`).
    """
    Z = Z0
    extra = np.empty(0)
    while True:
        n_edges = _edges(P, W, m, s, Z, extra, extra.size)
        v, err, vabs, status = _adapt_1d(P, W, kind, m, s, p1, p2, n_edges, rtol, atol_scale, atol)
        if status == Status.NONFINITE:
            return v, err, vabs, status
        if _tail_negligible(P, kind, m, s, p1, p2, Z, vabs, 0.1 * rtol, 0.1 * atol):
            return v, err, vabs, status
        if Z >= ZMAX:
            return v, err, vabs, Status.DIVERGENT
        Z = min(ZMAX, Z + 6.0)


@njit(cache=True)
def expect1(P, kind, m, s, rtol, atol_scale):
    """E[g(m + s z)], z ~ N(0, 1), with its own workspace: :func:`expect1w` without p1, p2, atol.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    kind : Kind
        The integrand g (:class:`meanfield.codes.Kind`); not the rotated or DIFF2 kinds,
        whose parameters are 0 here.
    m, s : float
        Mean and standard deviation of the argument u = m + s z.
    rtol : float
        Relative tolerance.
    atol_scale : float
        Tolerance relative to E|g|.

    Returns
    -------
    value : float
        The expectation.
    error : float
        Its error estimate.
    status : Status
        As for :func:`expect1w` (:class:`meanfield.codes.Status`).
    """
    v, err, _vabs, status = expect1w(P, workspace(), kind, m, s, 0.0, 0.0, rtol, atol_scale, 0.0)
    return v, err, status

