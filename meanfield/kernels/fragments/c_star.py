"""The fixed point c* of the C-map and its slope chi_c there (Poole eq. 6, Fig. 2C).

The C-map's gap D(c) = 1 - c' = sw2 E[(phi(u1) - phi(u2))^2] / (2q), three ways, chosen by the
types of two arguments: S, a Mehler series or None, and nested, None or True.  Numba drops the
branches that `is None` rules out, so a kernel compiles only the ways it uses (grids of smooth
phi never compile the nested two-dimensional quadrature).
"""
import numpy as np
from numba import njit

from ...codes import Kind, Method, NestedField, Order, Status
from .gk15 import workspace
from .integrands import ROT_MIN_RTOL
from .mehler import mehler_chi, mehler_gap, mehler_series
from .nested2d import GAP, PRODUCT, _expect2_independent, expect2
from .roots import _illinois, _secant_point
from .rotated import expect_rotated
from .taylor_gap import TAYLOR_MAX_OMC, _gap_taylor


@njit(cache=True)
def _gap(P, S, nested, sw2, q, c, omc, rtol):
    """(D(c), error bound, status): from the Mehler series S (certified bound); if S is None,
    by the certified expansion near c = 1, else in rotated coordinates (smooth phi); or, if
    nested is True, by nested adaptive quadrature (any phi)."""
    if S is not None:
        v, b = mehler_gap(S, c, omc)
        return sw2 * v / q, sw2 * b / q, Status.OK
    if nested is None:
        W = workspace()
        if c == 0.0:
            v, e, st = _expect2_independent(P, W, Order.PHI, Order.PHI, GAP, q, q, rtol)
            return sw2 * v / q, sw2 * e / q, st
        if omc < TAYLOR_MAX_OMC and P.smooth3:
            v, e, ok = _gap_taylor(P, W, q, omc, rtol)
            if ok:
                return sw2 * v / q, sw2 * e / q, Status.OK
        v, e, st = expect_rotated(P, W, Kind.ROT_GAP, q, omc, rtol)
        return sw2 * v / q, sw2 * e / q, st
    v, e, st = expect2(P, Order.PHI, Order.PHI, GAP, q, q, c, omc, rtol)
    return sw2 * v / q, sw2 * e / q, st


@njit(cache=True)
def _c_star_bracket(P, S, nested, sw2, q, rtol, guess):
    """A bracket (e_lo, H(e_lo) > 0, e_hi, H(e_hi) < 0) of e = 1 - c*, and a status.

    From a good guess of e (5% either side) if given (guess > 0) and it brackets; else
    from e = 1 downwards by factors of 100.  A bracket of zero width is the answer
    itself: e = 1 (c* = 0) or e = 0 (marginal, c* = 1 to rounding).
    """
    if guess > 0.0:
        e_lo = 0.95 * guess
        e_hi = min(1.0, 1.05 * guess)
        h_lo, _err, st1 = _gap(P, S, nested, sw2, q, 1.0 - e_lo, e_lo, rtol)
        h_hi, _err, st2 = _gap(P, S, nested, sw2, q, 1.0 - e_hi, e_hi, rtol)
        if st1 == Status.OK and st2 == Status.OK and h_lo - e_lo > 0.0 and h_hi - e_hi < 0.0:
            return e_lo, h_lo - e_lo, e_hi, h_hi - e_hi, Status.OK
    e_hi = 1.0
    h_hi, _err, st = _gap(P, S, nested, sw2, q, 0.0, 1.0, rtol)
    if st != Status.OK:
        return np.nan, np.nan, np.nan, np.nan, st
    h_hi -= 1.0
    if h_hi >= 0.0:
        return 1.0, h_hi, 1.0, h_hi, Status.OK         # c* = 0: the map sends c = 0 to >= 0
    e_lo = 1e-2
    while True:
        h_lo, _err, st = _gap(P, S, nested, sw2, q, 1.0 - e_lo, e_lo, rtol)
        if st != Status.OK:
            return np.nan, np.nan, np.nan, np.nan, st
        h_lo -= e_lo
        if h_lo > 0.0:
            return e_lo, h_lo, e_hi, h_hi, Status.OK
        e_hi = e_lo
        h_hi = h_lo
        e_lo *= 1e-2
        if e_lo < 1e-14:
            # marginal (chi1 = 1 within rounding): the fixed point lies within 1e-14 of 1
            return 0.0, 0.0, 0.0, 0.0, Status.OK


@njit(cache=True)
def _c_star_search(P, S, nested, sw2, q, rtol, guess):
    """Root e = 1 - c* of H(e) = D(1 - e) - e in (0, 1] (chaotic phase); (c*, 1 - c*, status).

    H > 0 just below c = 1 (slope chi1 > 1 there), H(1) = -c'(0) <= 0.  Bracketed
    secant (Illinois) steps from the bracket of _c_star_bracket (guess: a good estimate
    of 1 - c*, or 0).  S, nested: the way D is evaluated, as in _gap.
    """
    e_lo, h_lo, e_hi, h_hi, st = _c_star_bracket(P, S, nested, sw2, q, rtol, guess)
    if st != Status.OK:
        return np.nan, np.nan, st
    if e_lo == e_hi:                 # the bracket is a point: c* = 1 - e_lo
        return 1.0 - e_lo, e_lo, Status.OK
    side = np.int64(0)
    e = 0.5 * (e_lo + e_hi)
    for _it in range(200):
        e = _secant_point(e_lo, h_lo, e_hi, h_hi)
        h, _err, st = _gap(P, S, nested, sw2, q, 1.0 - e, e, rtol)
        if st != Status.OK:
            return np.nan, np.nan, st
        h -= e
        e_lo, h_lo, e_hi, h_hi, side = _illinois(e, h, e_lo, h_lo, e_hi, h_hi, side)
        if e_hi - e_lo <= 1e-13 * e_hi or h == 0.0:
            return 1.0 - e, e, Status.OK
    return 1.0 - e, e, Status.NOT_CONVERGED


MEHLER_ORDERS = (64, 256, 1024)


@njit(cache=True)
def c_star_and_chi(P, W, T, sw2, q, chi1, rtol):
    """The fixed point c* of the C-map at q and its slope chi_c there (Poole et al. 2016, eq. 6,
    Fig. 2C).

    Ordered phase (chi1 <= 1): c* = 1, chi_c = chi1.  Chaotic phase: the root of
    D(1 - e) = e, D the gap 1 - c' (docs/derivations.md eq. D5), by the Mehler series
    (method 3 of docs/derivations.md Sec. 7) with N = 64, 256, then 1024 terms; accepted when
    the certified error of c*, |dD| / (1 - chi_c), is below rtol max(c*, 1 - c*) and that of
    chi_c (its series bound plus its change over that error of c*) below rtol chi_c.  Otherwise
    (a slowly converging series: c* near 1, kinks) adaptive quadrature of D to rtol relative, in
    rotated coordinates for smooth phi (method 6, rtol >= 1e-11); c* is then good to about
    rtol (1 - c*) / (1 - chi_c), which near the critical line is rtol in absolute terms.  Where
    neither serves, the caller finishes with :func:`c_star_nested` (method 2).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    sw2 : float
        sigma_w^2, the weight variance.
    q : float
        The squared length q11 = q22 = q of both inputs, normally q* (> 0).
    chi1 : float
        sw2 E[phi'(sqrt(q) z)^2], the slope of the C-map at c = 1 (Poole et al. 2016, eq. 7).
    rtol : float
        Relative tolerance of c* and chi_c.

    Returns
    -------
    c_star : float
        The stable fixed point c* of the C-map.
    one_minus_c_star : float
        1 - c*, to full relative accuracy near c* = 1.
    chi_c : float
        The slope of the C-map at c*, sw2 E[phi'(u1) phi'(u2)] (docs/derivations.md eq. D6),
        whose -1/log is the depth scale xi_c (eq. S2).
    status : Status
        Status.OK, or Status.NEEDS_NESTED if the nested quadrature must decide
        (:func:`c_star_nested`), with c_star then the best guess of 1 - c* (0 if none) and NaN
        for the other values (:class:`meanfield.codes.Status`).
    method : Method
        How the result was computed (:class:`meanfield.codes.Method`): ORDERED, SERIES,
        ROTATED, or NESTED (with Status.NEEDS_NESTED).
    """
    if chi1 <= 1.0:
        return 1.0, 0.0, chi1, Status.OK, Method.ORDERED
    guess = 0.0           # 1 - c* from the longest series, certified or not
    for nmax in MEHLER_ORDERS:
        S, st = mehler_series(P, W, T, q, nmax, rtol)
        if st != Status.OK:
            break
        cs, omc, st = _c_star_search(P, S, None, sw2, q, rtol, guess)
        if st != Status.OK:
            continue
        guess = omc
        _d, dbound = mehler_gap(S, cs, omc)
        x, xbound = mehler_chi(S, q, cs)
        chic = sw2 * x
        if not chic < 1.0:
            continue
        # c* is the fixed point of a map with slope chi_c, so an error dD of the map
        # moves it by dD / (1 - chi_c); chi_c moves with it by at most what the series
        # gives over [c* - dc, c* + dc]
        dc = sw2 * dbound / q / (1.0 - chic)
        if dc <= rtol * max(omc, cs):
            xp, _b = mehler_chi(S, q, min(cs + dc, 1.0))
            xm, _b = mehler_chi(S, q, cs - dc)
            if sw2 * (xbound + max(abs(xp - x), abs(xm - x))) <= rtol * abs(chic):
                return cs, omc, chic, Status.OK, Method.SERIES
    if P.n_kinks == 0 and rtol >= ROT_MIN_RTOL:
        cs, omc, st = _c_star_search(P, None, None, sw2, q, rtol, guess)
        if st == Status.OK and omc == 0.0:
            return cs, omc, chi1, Status.OK, Method.ROTATED
        if st == Status.OK:
            v, _e, st = expect_rotated(P, W, Kind.ROT_CHI, q, omc, rtol)
            if st == Status.OK:
                return cs, omc, sw2 * v, Status.OK, Method.ROTATED
    return guess, np.nan, np.nan, Status.NEEDS_NESTED, Method.NESTED


@njit(cache=True)
def c_star_nested(P, sw2, q, chi1, rtol, guess):
    """c_star_and_chi by nested adaptive quadrature (method 2), where it returned Status.NEEDS_NESTED
    (with its guess of 1 - c* in place of c*).  A separate entry point, so that grids of smooth
    phi, which rarely need it, do not pay for compiling the two-dimensional quadrature.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    sw2 : float
        sigma_w^2, the weight variance.
    q : float
        The squared length of both inputs, normally q* (> 0).
    chi1 : float
        The slope of the C-map at c = 1 (Poole et al. 2016, eq. 7); returned as chi_c when
        c* = 1.
    rtol : float
        Relative tolerance of the quadrature.
    guess : float
        An estimate of 1 - c* (the c_star output of :func:`c_star_and_chi` with
        Status.NEEDS_NESTED), or 0 for none.

    Returns
    -------
    c_star : float
        The stable fixed point c* of the C-map.
    one_minus_c_star : float
        1 - c*, to full relative accuracy near c* = 1.
    chi_c : float
        The slope of the C-map at c*, sw2 E[phi'(u1) phi'(u2)] (docs/derivations.md eq. D6),
        whose -1/log is the depth scale xi_c (eq. S2).
    status : Status
        Status.OK, or the failure of the root search (c* and 1 - c* NaN) or of the quadrature
        of chi_c (:class:`meanfield.codes.Status`).
    method : Method
        Method.NESTED (:class:`meanfield.codes.Method`).
    """
    cs, omc, st = _c_star_search(P, None, True, sw2, q, rtol, guess)
    if st != Status.OK:
        return cs, omc, np.nan, st, Method.NESTED
    if omc == 0.0:
        return cs, omc, chi1, Status.OK, Method.NESTED
    v, _e, st = expect2(P, Order.DPHI, Order.DPHI, PRODUCT, q, q, cs, omc, rtol)
    return cs, omc, sw2 * v, st, Method.NESTED


@njit(cache=True, nogil=True)
def c_star_nested_block(P, sw2, q, chi1, rtol, guess, out, i0, i1):
    """c_star_nested for points i0..i1-1 into out[i, NestedField] = c*, 1 - c*, chi_c, status
    (without the GIL: meanfield.kernels.run_blocks runs blocks in threads).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    sw2, q, chi1, guess : numpy.ndarray of shape (n,)
        Per point: sigma_w^2, the squared length, chi1 and the guess of 1 - c*, as for
        :func:`c_star_nested`.
    rtol : float
        Relative tolerance.
    out : numpy.ndarray of shape (n, len(NestedField))
        Output, in the layout :class:`meanfield.codes.NestedField`; the status as the float of
        a :class:`meanfield.codes.Status` value.
    i0, i1 : int
        The block: points i0..i1-1.
    """
    for i in range(i0, i1):
        cs, omc, chic, st, _method = c_star_nested(P, sw2[i], q[i], chi1[i], rtol, guess[i])
        out[i, NestedField.C_STAR] = cs
        out[i, NestedField.ONE_MINUS_C] = omc
        out[i, NestedField.CHI_C] = chic
        out[i, NestedField.STATUS] = np.int64(st)   # a Status member is not cast to float implicitly
