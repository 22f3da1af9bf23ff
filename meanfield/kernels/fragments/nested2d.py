"""Method 2 of docs/derivations.md Sec. 7: two-dimensional expectations E[A(u1) B(u2)].

Adaptive GK15 in z1 with an adaptive inner integral over z2 given z1 (u2 | u1 is Gaussian), so
kinks of B are split exactly in the inner integral; the inner error is added to the outer
panel's.  At c = 0 the integral factorises into one-dimensional ones.
"""
import math

import numpy as np
from numba import njit

from ...codes import Kind, Status
from .gk15 import (
    EDGES,
    FV,
    INNER_RTOL,
    INV_SQRT_2PI,
    MAXPANELS,
    PA,
    PB,
    Z0,
    _combine,
    _edges,
    _node,
    _store,
    _totals,
    _weight,
    expect1w,
    workspace,
)
from .integrands import deriv, kind_of_order, square_kind_of_order, worse_status
from .phi_call import phi
from .taylor_gap import TAYLOR_MAX_OMC, _gap_taylor

#: the two modes of expect2: E[(phi(u1) - phi(u2))^2]/2, or E[A(u1) B(u2)].  np.bool_, not Python
#: bools: Numba compiles a separate copy of a function for every Python literal it is passed.
GAP, PRODUCT = np.bool_(True), np.bool_(False)


@njit(cache=True)
def _outer_f(P, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, z1, rtol, atol):
    """Outer integrand at z1 (without the Gaussian weight): (value, error, |.| scale, status).

    diff=False: A(u1) E[B(u2) | u1].  diff=True: E[(phi(u2) - phi(u1))^2 | u1] / 2,
    integrated as such (never as a difference of large terms).  u2 | u1 is
    Gaussian with mean sq22 c z1 and standard deviation sq22 sc, so the inner
    integral is a one-dimensional expectation whose kinks are split exactly.
    """
    u1 = sq11 * z1
    mu = sq22 * c * z1
    sig = sq22 * sc
    if not diff:
        a = deriv(P, kind_a, u1)
        if a == 0.0:
            return 0.0, 0.0, 0.0, Status.OK
        if sig == 0.0:
            v = deriv(P, kind_b, mu)
            return a * v, 0.0, abs(a * v), Status.OK
        v, e, vabs, st = expect1w(P, Wi, kind_of_order(kind_b), mu, sig, 0.0, 0.0, INNER_RTOL * rtol, 1e-15,
                                  INNER_RTOL * atol / abs(a))
        return a * v, abs(a) * e, abs(a) * vabs, st
    p1 = phi(P, u1)
    if sig == 0.0:
        d = phi(P, mu) - p1
        return 0.5 * d * d, 0.0, 0.5 * d * d, Status.OK
    v, e, vabs, st = expect1w(P, Wi, Kind.DIFF2, mu, sig, p1, 0.0, INNER_RTOL * rtol, 1e-15, 2.0 * INNER_RTOL * atol)
    return 0.5 * v, 0.5 * e, 0.5 * vabs, st


@njit(cache=True)
def _gk15_2d(P, Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, b, rtol, atol):
    """One outer GK15 panel; inner error estimates are added to the panel's error."""
    cc = 0.5 * (a + b)
    h = 0.5 * (b - a)
    inner_err = 0.0
    resabs = 0.0
    status = Status.OK
    for i in range(15):
        z = _node(i, cc, h)
        f, fe, fabs, st = _outer_f(P, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, z, rtol, atol)
        status = worse_status(status, st)
        wz = math.exp(-0.5 * z * z)
        Wo[FV, i] = f * wz
        inner_err += _weight(i) * fe * wz
        resabs += _weight(i) * fabs * wz
    resk, err, _ = _combine(Wo[FV])
    scale = h * INV_SQRT_2PI
    if not math.isfinite(resk):
        status = Status.NONFINITE
    return resk * scale, (err + inner_err) * scale, resabs * scale, status



@njit(cache=True)
def _scale2(P, W, kind_a, kind_b, diff, sq11, sq22, omc):
    """Size of the 2D result, for absolute tolerances of the inner integrals.

    Product mode: sqrt(E[A^2] E[B^2]) (Cauchy-Schwarz bound).  Difference mode:
    min(E[phi^2] of both, (1 - c) sqrt(q11 q22) sqrt(E[phi'^2] E[phi'^2])), the size of
    E[(phi(u1) - phi(u2))^2]/2 for nearby points, so 1 - c' keeps relative accuracy.
    """
    r = 1e-3
    if not diff:
        a, _e, _aa, _st = expect1w(P, W, square_kind_of_order(kind_a), 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
        b, _e, _ab, _st = expect1w(P, W, square_kind_of_order(kind_b), 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
        return math.sqrt(abs(a * b))
    p1, _e, _a1, _st = expect1w(P, W, Kind.PHI2, 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
    p2, _e, _a2, _st = expect1w(P, W, Kind.PHI2, 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
    d1, _e, _a3, _st = expect1w(P, W, Kind.DPHI2, 0.0, sq11, 0.0, 0.0, r, 1e-15, 0.0)
    d2, _e, _a4, _st = expect1w(P, W, Kind.DPHI2, 0.0, sq22, 0.0, 0.0, r, 1e-15, 0.0)
    return min(0.5 * (p1 + p2), omc * sq11 * sq22 * math.sqrt(d1 * d2))


@njit(cache=True)
def _expect2_independent(P, W, kind_a, kind_b, diff, q11, q22, rtol):
    """c = 0: u1, u2 independent, so the double integral factorises into 1D ones."""
    s1 = math.sqrt(q11)
    s2 = math.sqrt(q22)
    if not diff:
        a, ea, aa, sta = expect1w(P, W, kind_of_order(kind_a), 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
        b, eb, ab, stb = expect1w(P, W, kind_of_order(kind_b), 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
        return a * b, abs(a) * eb + abs(b) * ea + ea * eb + 1e-16 * aa * ab, worse_status(sta, stb)
    # E[(phi(u1) - phi(u2))^2]/2 = (E phi(u1)^2 + E phi(u2)^2)/2 - E phi(u1) E phi(u2)
    m1, e1, _a1, st1 = expect1w(P, W, Kind.PHI, 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    m2, e2, _a2, st2 = expect1w(P, W, Kind.PHI, 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    p1, f1, _b1, st3 = expect1w(P, W, Kind.PHI2, 0.0, s1, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    p2, f2, _b2, st4 = expect1w(P, W, Kind.PHI2, 0.0, s2, 0.0, 0.0, INNER_RTOL * rtol, 1e-15, 0.0)
    v = 0.5 * (p1 + p2) - m1 * m2
    err = 0.5 * (f1 + f2) + abs(m1) * e2 + abs(m2) * e1 + 1e-16 * (p1 + p2)
    return v, err, worse_status(worse_status(st1, st2), worse_status(st3, st4))


@njit(cache=True)
def expect2(P, kind_a, kind_b, diff, q11, q22, c, omc, rtol):
    """E[A(u1) B(u2)] (or E[(phi(u1)-phi(u2))^2]/2 if diff) for u ~ N(0, [[q11, r], [r, q22]]).

    Method 2 of docs/derivations.md Sec. 7, the integral of Poole et al. 2016, eq. (5) with
    u1 = sqrt(q11) z1, u2 = sqrt(q22) (c z1 + sqrt(1 - c^2) z2), r = c sqrt(q11 q22): adaptive
    GK15 in z1, each node's inner integral over u2 | u1 adaptive to a 10 times tighter tolerance
    and its error added to the outer panel's.  At c = 0 it factorises into one-dimensional
    integrals.  In difference mode at q11 = q22 and 1 - c < 1e-3, for phi whose third derivative
    has no Dirac delta, the certified expansion of method 4 is tried first.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    kind_a, kind_b : Order
        A = phi^(kind_a), B = phi^(kind_b) (:class:`meanfield.codes.Order`); ignored if ``diff``.
    diff : numpy.bool_
        GAP (True): the gap E[(phi(u1) - phi(u2))^2]/2 (docs/derivations.md eq. D5), integrated
        as such, never as a difference; PRODUCT (False): E[A(u1) B(u2)].
    q11, q22 : float
        Variances of u1 and u2 (>= 0).
    c : float
        Correlation of u1 and u2, in [-1, 1].
    omc : float
        1 - c, passed separately so that the conditional width sqrt(q22 (1-c)(1+c)) keeps full
        relative accuracy near c = 1.
    rtol : float
        Relative tolerance.

    Returns
    -------
    value : float
        The expectation (NaN if the integrand is not finite).
    error : float
        Its error estimate (outer QUADPACK estimate plus the inner ones), or the certified bound
        of method 4.
    status : Status
        The worst status of all integrals (:class:`meanfield.codes.Status`): Status.OK,
        NOT_CONVERGED, NONFINITE or DIVERGENT.
    """
    Wo = workspace()
    Wi = workspace()
    if diff and q11 == q22 and omc < TAYLOR_MAX_OMC and P.smooth3:
        v, bound, ok = _gap_taylor(P, Wi, q11, omc, rtol)
        if ok:
            return v, bound, Status.OK
    if c == 0.0:
        return _expect2_independent(P, Wo, kind_a, kind_b, diff, q11, q22, rtol)
    sq11 = math.sqrt(q11)
    sq22 = math.sqrt(q22)
    sc = math.sqrt(max(omc, 0.0) * (2.0 - omc))
    sig = sq22 * sc
    atol = rtol * _scale2(P, Wi, kind_a, kind_b, diff, sq11, sq22, omc)
    # outer breakpoints: kinks of A at k/sq11, and where the inner mean crosses a
    # kink (the inner integral changes over a width ~ sig there)
    extra = np.empty(6 * P.n_kinks)
    ne = np.int64(0)
    for i in range(P.n_kinks):
        k = P.kinks[i]
        if sq11 > 0.0:
            extra[ne] = k / sq11
            ne += 1
        if c != 0.0 and sq22 > 0.0:
            for off in (0.0, -2.0, 2.0, -8.0, 8.0):
                extra[ne] = (k + off * sig) / (sq22 * c)
                ne += 1
    n = _edges(P, Wo, 0.0, sq11, Z0, extra, ne) - 1
    status = Status.OK
    for i in range(n):
        a = Wo[EDGES, i]
        b = Wo[EDGES, i + 1]
        v, e, ab, st = _gk15_2d(P, Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, b, rtol, atol)
        status = worse_status(status, st)
        _store(Wo, i, a, b, v, e, ab)
    while True:
        tot, err, tabs, worst = _totals(Wo, n)
        if status == Status.NONFINITE or not math.isfinite(tot):
            return np.nan, np.inf, Status.NONFINITE
        if err <= max(rtol * abs(tot), 1e-15 * tabs, 0.1 * atol):
            return tot, err, status
        a = Wo[PA, worst]
        b = Wo[PB, worst]
        mid = 0.5 * (a + b)
        if n + 1 > MAXPANELS or mid <= a or mid >= b:
            return tot, err, worse_status(status, Status.NOT_CONVERGED)
        v1, e1, ab1, st1 = _gk15_2d(P, Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, a, mid, rtol, atol)
        v2, e2, ab2, st2 = _gk15_2d(P, Wo, Wi, kind_a, kind_b, diff, sq11, sq22, c, sc, mid, b, rtol, atol)
        status = worse_status(status, worse_status(st1, st2))
        _store(Wo, worst, a, mid, v1, e1, ab1)
        _store(Wo, n, mid, b, v2, e2, ab2)
        n += 1


