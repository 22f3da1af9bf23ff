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
    """The gap E[(phi(u1)-phi(u2))^2]/2 = sum_n (1 - c^n) a_n^2 + T_N from Mehler's series.

    The gap of the C-map (Poole et al. 2016, eq. 5; docs/derivations.md eq. D5), method 3 of
    docs/derivations.md Sec. 7.  1 - c^n by the recurrence x_n = c x_{n-1} + (1 - c): no
    cancellation near c = 1.  The truncated terms are taken as 1 - c^n = 1 (tail T_N), off by at
    most |c|^(N+1) T_N.

    Parameters
    ----------
    S : MehlerSeries
        The series of phi(sqrt(q) z) (:class:`meanfield.codes.MehlerSeries`, from
        :func:`mehler_series`).
    c : float
        Correlation of u1 and u2, in [-1, 1].
    omc : float
        1 - c, passed separately for accuracy near c = 1.

    Returns
    -------
    value : float
        The gap E[(phi(u1)-phi(u2))^2]/2.
    bound : float
        Certified error bound: truncation |c|^(N+1) (T_N + its error), the tail's error, and
        the coefficients' errors.
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
    """E[phi'(u1) phi'(u2)] = sum_m m c^(m-1) a_m^2 / q from Mehler's series (Stein's identity).

    Times sw2, the slope of the C-map at c (docs/derivations.md eq. D6), at c = 1 the chi1 of
    Poole et al. 2016, eq. 7; method 3 of docs/derivations.md Sec. 7.

    Parameters
    ----------
    S : MehlerSeries
        The series of phi(sqrt(q) z) (:class:`meanfield.codes.MehlerSeries`, from
        :func:`mehler_series`).
    q : float
        The variance of u1 and u2 (> 0).
    c : float
        Their correlation, in [-1, 1].

    Returns
    -------
    value : float
        E[phi'(u1) phi'(u2)].
    bound : float
        Certified error bound: the tail, bounded by max_(m > N) m |c|^(m-1) times T_N, plus the
        coefficients' errors; inf where m |c|^(m-1) still grows at m = N + 1 (c near 1).
    """
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
    """Does table T hold a_0..a_nmax at q for this rtol?

    Parameters
    ----------
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    q : float
        The variance.
    nmax : int
        The highest order N needed.
    rtol : float
        The caller's relative tolerance (see :func:`tab_locate`).

    Returns
    -------
    bool
        True if T's Hermite part serves q at rtol and has at least nmax + 1 rows.
    """
    p, _x, _err = tab_locate(T.hermite, q, rtol)
    return p >= 0 and nmax + 1 <= T.hermite.coef.shape[2]


@njit(cache=True)
def mehler_series(P, W, T, q, nmax, rtol):
    """Mehler's series of phi(sqrt(q) z) to order nmax, with its Parseval tail (method 3 of
    docs/derivations.md Sec. 7).

    E[phi^2] and a_0..a_nmax come from table T where it serves q (with the panels' error
    bounds), else by adaptive quadrature of E[phi^2] (to 1e-15) and :func:`hermite_coefficients`.
    The tail T_N = E[phi^2] - sum_(n <= N) a_n^2 >= 0 (Parseval) certifies the truncation.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    q : float
        The variance (> 0).
    nmax : int
        The order N.
    rtol : float
        The caller's relative tolerance (decides whether T serves q).

    Returns
    -------
    series : MehlerSeries
        :class:`meanfield.codes.MehlerSeries` (coef a_0..a_N, tail T_N, tail_err, dcoef); coef,
        tail 0 and errors 0 on failure.
    status : Status
        Status.OK; the quadrature's failure for E[phi^2]; or Status.NOT_CONVERGED if the
        tail comes out negative beyond the coefficients' errors (they were not integrated
        accurately).
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
        if st == Status.NOT_CONVERGED:
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
