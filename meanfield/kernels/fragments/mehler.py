"""Method 3 of docs/derivations.md Sec. 7: Mehler's series of the C-map at equal variances, with
its certified truncation bound (the coefficients come from :mod:`.hermite` or a table).

A series is a :class:`meanfield.codes.MehlerSeries` (a_0..a_N, T_N, error bound of T_N, error
bound of each a_n).
"""
import math

import numpy as np
from numba import njit

from ...codes import Kind, MehlerSeries, Moment, Status
from .gk15 import expect1w
from .hermite import hermite_coefficients
from .tables import tab_locate, tab_values


@njit(cache=True)
def mehler_gap(S, c, omc):
    """(sum_n (1 - c^n) a_n^2 + T_N, certified error bound) = E[(phi(u1)-phi(u2))^2]/2.

    1 - c^n by the recurrence x_n = c x_{n-1} + (1 - c): no cancellation near c = 1.
    """
    coef, tail, tail_err, dcoef = S
    nmax = coef.size - 1
    val = tail
    dev = 0.0
    x = 0.0
    for n in range(1, nmax + 1):
        x = c * x + omc
        val += x * coef[n] * coef[n]
        dev += abs(x * coef[n])
    return val, abs(c) ** (nmax + 1) * (tail + tail_err) + tail_err + 2.0 * dcoef * dev


@njit(cache=True)
def mehler_chi(S, q, c):
    """(E[phi'(u1) phi'(u2)], certified error bound) = sum_m m c^(m-1) a_m^2 / q."""
    coef, tail, tail_err, dcoef = S
    nmax = coef.size - 1
    val = 0.0
    dev = 0.0
    cp = 1.0
    for m in range(1, nmax + 1):
        w = m * cp
        val += w * coef[m] * coef[m]
        dev += abs(w * coef[m])
        cp *= c
    ac = abs(c)
    # max over m > N of m |c|^(m-1): at m = N+1 when the sequence already decreases there
    if ac == 0.0:
        bound = 0.0
    elif (nmax + 1) * math.log(ac) < -1.0:
        bound = (nmax + 1) * ac ** nmax
    else:
        bound = np.inf
    return val / q, (bound * (tail + tail_err) + 2.0 * dcoef * dev) / q


@njit(cache=True)
def tab_serves_series(T, q, nmax, rtol):
    """Does table T hold a_0..a_nmax at q for this rtol?"""
    p, _x, _err = tab_locate(T.hermite, q, rtol)
    return p >= 0 and nmax + 1 <= T.hermite.coef.shape[2]


@njit(cache=True)
def mehler_series(P, W, T, q, nmax, rtol):
    """The series S of phi(sqrt(q) z) to order nmax, and a status (Status.NOT_CONVERGED if the
    Parseval tail comes out negative beyond the coefficients' errors).

    From table T where it serves q (with the panels' error bounds), else by
    hermite_coefficients and adaptive quadrature of E[phi^2].
    """
    coef = np.empty(nmax + 1)
    p, x, err = tab_locate(T.moments, q, rtol)
    if p >= 0:
        tab_values(T.moments, p, x, Moment.PHI2, Moment.PHI2 + 1, coef)
        e2 = coef[0]
        e2_err = err * abs(e2)
    else:
        # E[phi^2] enters the tail T_N = E[phi^2] - sum a_n^2 additively, and near the
        # critical line c* needs T_N to ~1e-15 E[phi^2]: integrate it that tightly
        e2, e2_err, _vabs, st = expect1w(P, W, Kind.PHI2, 0.0, math.sqrt(q), 0.0, 0.0, 1e-15, 1e-16, 0.0)
        if st == 1:
            e2, e2_err, _vabs, st = expect1w(P, W, Kind.PHI2, 0.0, math.sqrt(q), 0.0, 0.0, 0.01 * rtol, 1e-15, 0.0)
        if st != Status.OK:
            return MehlerSeries(coef, 0.0, 0.0, 0.0), st
    p, x, err = tab_locate(T.hermite, q, rtol)
    if p >= 0 and nmax + 1 <= T.hermite.coef.shape[2]:
        tab_values(T.hermite, p, x, np.int64(0), nmax + 1, coef)
        dcoef = err * math.sqrt(abs(e2))
    else:
        hermite_coefficients(P, W, q, nmax, coef)
        dcoef = 0.0
    # sum a_n^2 is then off by at most 2 dcoef sum |a_n|
    abs_sum = 0.0
    for n in range(nmax + 1):
        abs_sum += abs(coef[n])
    tail_err = e2_err + 2.0 * dcoef * abs_sum + 2e-16 * abs(e2)
    tail = e2
    for n in range(nmax + 1):
        tail -= coef[n] * coef[n]
    if tail < -tail_err - 1e-13 * e2:   # the coefficients were not integrated accurately
        return MehlerSeries(coef, 0.0, 0.0, 0.0), Status.NOT_CONVERGED
    return MehlerSeries(coef, max(tail, 0.0), tail_err, dcoef), Status.OK
