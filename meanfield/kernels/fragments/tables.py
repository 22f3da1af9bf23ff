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
    """The integrand Kind of table row ``row`` (a Moment)."""
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
    """One table row at q (moments, or Hermite coefficients if ``hermite``) into vals,
    with the scale of each entry; returns a status."""
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
    """tab_sample at q[i0:i1] (without the GIL: meanfield.kernels.run_blocks runs blocks in threads)."""
    for i in range(i0, i1):
        status[i] = np.int64(tab_sample(P, q[i], hermite, vals[i], scales[i]))


@njit(cache=True)
def tab_locate(T, q, rtol):
    """(panel, x in [-1, 1], relative error bound) of q in table part T = (edges, err, coef),
    or (-1, 0, inf) when T does not serve q at this rtol."""
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
    """Rows r0..r1-1 of table part T on panel p at x into out[0:r1-r0] (sum_k c_k T_k(x))."""
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

    Returns (value, error bound, status); the error is relative to E|g|, which for the
    positive rows (phi^2, phi'^2, phi''^2) is the value itself.
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
    """A table that serves nothing (the kernels' form of tables.empty_table)."""
    part = TablePart(np.full(2, np.inf), np.full(1, np.inf), np.zeros((1, TAB_DEG + 1, 0)))
    return Table(part, part)


