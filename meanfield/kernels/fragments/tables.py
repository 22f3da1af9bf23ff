"""Method 5 of docs/derivations.md Sec. 7: the kernels' side of the Chebyshev tables in t = ln q.

Sampling (``tab_sample_block``, driven by :mod:`meanfield.kernels.tables`), lookup and
evaluation of a :class:`meanfield.codes.Table`, and :func:`moment`: a one-dimensional moment
from the table where it serves q, else by the adaptive quadrature of gk15.
"""
import math

import numpy as np
from numba import njit

from ...codes import Kind, Moment, Status, Table, TablePart
from .gk15 import expect1w, workspace
from .hermite import hermite_coefficients
from .integrands import worse_status

# --- Chebyshev tables in t = ln q ----------------------------------------------
# A grid of phase-diagram points asks for the same one-dimensional expectations at
# thousands of q values.  They are smooth functions of t = ln q (also for kinked phi:
# the Gaussian smooths the kinks), so meanfield.kernels.tables builds, once per grid,
# piecewise Chebyshev interpolants of degree TAB_DEG on panels of ln q, each panel
# accepted only when its last Chebyshev coefficients and the interpolant at two
# points off the nodes (checked against quadrature) agree to TAB_TOL times the scale
# of each function.  A table T = Table(moments, hermite); each TablePart (edges, err, coef)
# holds coef[panel, k, row] and the panel's relative error bound err[panel] (inf: not
# tabulated there):
#   moments, rows 0..3: E[g(sqrt(q) z)] for g = phi^2, phi'^2, phi''^2, phi^2 (z^2 - 1)
#                       (scale E|g|);
#   hermite, rows 0..TAB_HERMITE: Hermite coefficients a_n (scale sqrt(E[phi^2])), for
#                       smooth phi only (for kinked phi a_n(q) oscillates in ln q once n
#                       is large, and the series needs more terms than tabulated anyway).
# A table serves callers whose rtol is at least TAB_USE_RTOL; everything else (and
# q outside the table, panels that failed) goes to the adaptive quadrature.
TAB_DEG = 32
TAB_TOL = 3e-14
TAB_USE_RTOL = 1e-12
TAB_NMOM = len(Moment)
TAB_HERMITE = 256   # 0 (no Hermite part) for phi with kinks: see meanfield.kernels.tables


@njit(cache=True)
def moment_kind(row):
    """The integrand Kind of table row ``row`` (a Moment).

    Parameters
    ----------
    row : Moment
        A row of a table's moments part (:class:`meanfield.codes.Moment`).

    Returns
    -------
    Kind
        Kind.PHI2, DPHI2, D2PHI2 or PHI2_ZZ (:class:`meanfield.codes.Kind`).

    Raises
    ------
    ValueError
        If ``row`` is not a :class:`~meanfield.codes.Moment`.
    """
    if row == Moment.PHI2:
        return Kind.PHI2
    if row == Moment.DPHI2:
        return Kind.DPHI2
    if row == Moment.D2PHI2:
        return Kind.D2PHI2
    if row == Moment.PHI2_ZZ:
        return Kind.PHI2_ZZ
    raise ValueError("unknown table row (meanfield.codes.Moment)")


@njit(cache=True)
def tab_sample(P, q, hermite, vals, scales):
    """The tabulated functions at one q (moments, or Hermite coefficients if ``hermite``) into vals,
    with the scale of each entry.

    Moments: the four E[g(sqrt(q) z)] of :class:`meanfield.codes.Moment` at rtol 1e-14, scale
    E|g|.  Hermite coefficients: a_0..a_{vals.size-1} (:func:`hermite_coefficients`), each with
    scale sqrt(E[phi^2]).  Method 5 of docs/derivations.md Sec. 7.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    q : float
        The variance (> 0).
    hermite : bool
        Sample the Hermite part rather than the moments part.
    vals : numpy.ndarray of shape (rows,)
        Output: the values (rows = len(Moment) for the moments).
    scales : numpy.ndarray of shape (rows,)
        Output: the scale of each value, to which table tolerances are relative.

    Returns
    -------
    Status
        Status.OK, or the failure of a quadrature (:class:`meanfield.codes.Status`; NONFINITE
        if a value is not finite); vals and scales are then incomplete.
    """
    W = workspace()
    s = math.sqrt(q)
    if hermite:
        v, _e, vabs, st = expect1w(P, W, Kind.PHI2, 0.0, s, 0.0, 0.0, 1e-14, 1e-16, 0.0)
        if st != Status.OK or not math.isfinite(v):
            return worse_status(st, Status.NONFINITE)
        hermite_coefficients(P, W, q, vals.size - 1, vals)
        for r in range(vals.size):
            scales[r] = math.sqrt(v)
        return Status.OK
    for r in range(TAB_NMOM):
        v, _e, vabs, st = expect1w(P, W, moment_kind(r), 0.0, s, 0.0, 0.0, 1e-14, 1e-16, 0.0)
        if st != Status.OK or not math.isfinite(v):
            return worse_status(st, Status.NONFINITE)
        vals[r] = v
        scales[r] = vabs
    return Status.OK


@njit(cache=True, nogil=True)
def tab_sample_block(P, q, hermite, vals, scales, status, i0, i1):
    """tab_sample at q[i0:i1] (without the GIL: meanfield.kernels.run_blocks runs blocks in threads).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    q : numpy.ndarray of shape (n,)
        The variances to sample.
    hermite : bool
        Sample the Hermite part rather than the moments part.
    vals : numpy.ndarray of shape (n, rows)
        Output: vals[i] as :func:`tab_sample` writes it.
    scales : numpy.ndarray of shape (n, rows)
        Output: the scale of each value.
    status : numpy.ndarray of int64, shape (n,)
        Output: status[i], the value of a :class:`meanfield.codes.Status`.
    i0, i1 : int
        The block: indices i0..i1-1 (:func:`meanfield.kernels.run_blocks`).
    """
    for i in range(i0, i1):
        status[i] = np.int64(tab_sample(P, q[i], hermite, vals[i], scales[i]))


@njit(cache=True)
def tab_locate(T, q, rtol):
    """Where q lies in table part T = (edges, err, coef), or (-1, 0, inf) when T does not serve q.

    T does not serve q when rtol < TAB_USE_RTOL = 1e-12, q <= 0, t = ln q lies outside the
    table, or its panel was not tabulated (err inf).

    Parameters
    ----------
    T : TablePart
        One part of a table (:class:`meanfield.codes.TablePart`), e.g. ``Table.moments``.
    q : float
        The variance.
    rtol : float
        The caller's relative tolerance.

    Returns
    -------
    panel : int
        Index of the panel holding ln q, or -1.
    x : float
        ln q mapped to [-1, 1] on that panel (0 if none).
    err : float
        The panel's relative error bound, relative to each row's scale (inf if none).
    """
    edges, err, _coef = T
    n = edges.size - 1
    if rtol < TAB_USE_RTOL or not q > 0.0:
        return -1, 0.0, np.inf
    t = math.log(q)
    if not (edges[0] <= t <= edges[n]):
        return -1, 0.0, np.inf
    lo = 0
    hi = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= t:
            lo = mid
        else:
            hi = mid
    if not err[lo] < np.inf:
        return -1, 0.0, np.inf
    a = edges[lo]
    b = edges[lo + 1]
    return lo, (2.0 * t - a - b) / (b - a), err[lo]


@njit(cache=True)
def tab_values(T, p, x, r0, r1, out):
    """Rows r0..r1-1 of table part T on panel p at x into out[0:r1-r0] (sum_k c_k T_k(x)).

    Parameters
    ----------
    T : TablePart
        One part of a table (:class:`meanfield.codes.TablePart`).
    p : int
        The panel (from :func:`tab_locate`).
    x : float
        The point on the panel, in [-1, 1].
    r0, r1 : int
        The rows to evaluate, r0..r1-1.
    out : numpy.ndarray of shape (>= r1 - r0,)
        Output: the Chebyshev interpolants of degree TAB_DEG at x.
    """
    coef = T.coef
    m = r1 - r0
    t0 = 1.0
    t1 = x
    for j in range(m):
        out[j] = coef[p, 0, r0 + j] + coef[p, 1, r0 + j] * x
    for k in range(2, TAB_DEG + 1):
        t2 = 2.0 * x * t1 - t0
        for j in range(m):
            out[j] += coef[p, k, r0 + j] * t2
        t0 = t1
        t1 = t2


@njit(cache=True)
def moment(P, W, T, row, q, rtol):
    """E[g(sqrt(q) z)] for g = moment_kind(row): from T where it serves q, else by quadrature.

    The moments of the length map (Poole et al. 2016, eq. 3), chi1 (eq. 7), chi2 (eq. 9) and the
    slope of the length map (docs/derivations.md eq. D4); the table is method 5, the quadrature
    method 1 of docs/derivations.md Sec. 7.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    T : Table
        Chebyshev tables of phi (:class:`meanfield.codes.Table`), or :func:`no_table` to integrate
        directly.
    row : Moment
        Which moment (:class:`meanfield.codes.Moment`).
    q : float
        The variance (>= 0).
    rtol : float
        Relative tolerance (a table serves only rtol >= TAB_USE_RTOL).

    Returns
    -------
    value : float
        The moment.
    error : float
        Its absolute error: from a table, the panel's relative bound times abs(value) (the table
        bound is relative to E|g|, which for the positive rows phi^2, phi'^2, phi''^2 is the
        value itself); from quadrature, the error estimate.
    status : Status
        Status.OK from a table, else the quadrature's (:class:`meanfield.codes.Status`).
    """
    p, x, err = tab_locate(T.moments, q, rtol)
    if p >= 0:
        v = np.empty(1)
        tab_values(T.moments, p, x, row, row + 1, v)
        return v[0], err * abs(v[0]), Status.OK
    v, e, _vabs, st = expect1w(P, W, moment_kind(row), 0.0, math.sqrt(q), 0.0, 0.0, rtol, 1e-15, 0.0)
    return v, e, st


@njit(cache=True)
def no_table():
    """A table that serves nothing (the kernels' form of tables.empty_table).

    Returns
    -------
    Table
        A :class:`meanfield.codes.Table` whose one panel spans no q (edges inf) and has no rows,
        so every lookup falls back to quadrature.
    """
    part = TablePart(np.full(2, np.inf), np.full(1, np.inf), np.zeros((1, TAB_DEG + 1, 0)))
    return Table(part, part)


