"""Chebyshev tables in t = ln q of the one-dimensional expectations of one nonlinearity.

A phase diagram needs E[phi^2], E[phi'^2], E[phi''^2], E[phi^2 (z^2 - 1)] (length map,
chi1, chi2, the slope of the length map) and the Hermite coefficients a_n of the Mehler
series at tens of thousands of values of q.  All are smooth functions of t = ln q, even
for kinked phi, because the Gaussian average smooths the kinks.  :func:`build_table`
samples them once at Chebyshev-Lobatto points of panels in t and keeps the Chebyshev
coefficients; the compiled kernels then evaluate a value in about 0.1 us instead of
integrating it in about 5 us.

Accuracy.  A panel is accepted only when, for every tabulated function f,

* the last four of its TAB_DEG + 1 Chebyshev coefficients are below TAB_TOL * scale_f, and
* the interpolant agrees with a fresh quadrature to TAB_TOL * scale_f at two points that
  are not nodes (an a-posteriori check, not an estimate),

where scale_f is the smallest E|g| on the panel (sqrt(E[phi^2]) for the a_n).  Otherwise
the panel is halved, down to MIN_WIDTH in t; panels that still fail, or where quadrature
fails (divergent integrals), are marked invalid and the kernels integrate there directly.
Twice the worst deviation measured on a panel is its error bound, which the kernels carry
into the certified error of the Mehler series.  The kernels use a table only for callers
with rtol >= TAB_USE_RTOL (1e-12).
"""
from __future__ import annotations

import math

import numpy as np

from ..codes import Status, Table, TablePart
from . import run_blocks

QMIN, QMAX = 1e-9, 1e16   # q* beyond 1e15 counts as divergent (kernels.q_star)
WIDTH0 = 2.0     # initial panel width in ln q (measured: degree 32 resolves widths up to ~4)
MIN_WIDTH = (1.0 / 16, 0.5)   # moments, Hermite: halving stops here (the Hermite part costs ~30x more)
MAX_PANELS = 512


def empty_table(K) -> Table:
    """A table that serves nothing: every kernel call integrates directly.

    Parameters
    ----------
    K : module
        The compiled kernel module of one nonlinearity
        (:func:`meanfield.kernels.kernels_for`).

    Returns
    -------
    Table
        ``moments`` and ``hermite`` parts with no valid panel, in the layout the compiled
        kernels accept (what phase diagrams use when ``rtol`` is below ``K.TAB_USE_RTOL``).
    """
    return K.no_table()


def _cheb_matrix(deg):
    """Matrix taking values at x_j = cos(pi j / deg) to Chebyshev coefficients (DCT-I)."""
    j = np.arange(deg + 1)
    M = np.cos(np.pi * np.outer(j, j) / deg) * (2.0 / deg)
    M[:, 0] *= 0.5
    M[:, -1] *= 0.5
    M[0] *= 0.5
    M[-1] *= 0.5
    return M


def build_table(K, qmin: float = QMIN, qmax: float = QMAX, hermite: bool = True) -> Table:
    """Chebyshev table of kernel module K on [qmin, qmax] (see the module docstring).

    Samples the moments (and the Hermite coefficients) at Chebyshev-Lobatto points of
    panels in t = ln q, halving each panel until it passes the accuracy test of the
    module docstring; a panel that cannot pass is marked invalid (error bound inf) and
    the kernels integrate there directly.

    Parameters
    ----------
    K : module
        The compiled kernel module of one nonlinearity
        (:func:`meanfield.kernels.kernels_for`).
    qmin, qmax : float, optional
        The range of q covered, 0 < qmin < qmax (defaults ``QMIN`` = 1e-9 and
        ``QMAX`` = 1e16).
    hermite : bool, optional
        Also tabulate the Hermite coefficients a_0..a_{TAB_HERMITE} of the Mehler
        series (needed for the correlation map).  ``False``, or a kinked phi (whose
        module has ``TAB_HERMITE = 0``), leaves the Hermite part empty.

    Returns
    -------
    Table
        ``moments``: the four one-dimensional expectations
        (:class:`~meanfield.codes.Moment`); ``hermite``: the Hermite coefficients, or
        the empty part of :func:`empty_table`.  Each is a
        :class:`~meanfield.codes.TablePart` (panel ``edges`` in ln q, per-panel relative
        error bound ``err``, Chebyshev coefficients ``coef[panel, k, row]``), as the
        compiled kernels accept it.

    Raises
    ------
    MeanFieldError
        If qmin, qmax are not finite with 0 < qmin < qmax.
    """
    from ..errors import MeanFieldError  # imported here to keep this check self-contained
    if not (math.isfinite(qmin) and math.isfinite(qmax) and 0 < qmin < qmax):
        raise MeanFieldError(f"a table needs finite 0 < qmin < qmax (it spans ln q), got qmin = {qmin!r}, "
                             f"qmax = {qmax!r}")
    moments = _build_part(K, False, K.TAB_NMOM, qmin, qmax)
    if hermite and K.TAB_HERMITE and not K.phi_code.n_kinks:   # no Hermite part for kinked phi
        return Table(moments, _build_part(K, True, K.TAB_HERMITE + 1, qmin, qmax))
    return Table(moments, empty_table(K).hermite)


def _build_part(K, hermite: bool, rows: int, qmin: float, qmax: float) -> TablePart:
    """One TablePart (edges, err, coef): adaptive halving of panels in ln q until each passes.

    err[p] is panel p's relative error bound (relative to each row's scale), inf where
    the panel failed and the kernels integrate directly.
    """
    deg = int(K.TAB_DEG)
    nodes = np.cos(np.pi * np.arange(deg + 1) / deg)
    # check points halfway (in angle) between nodes: near an end and near the middle
    checks = np.cos(np.pi * np.array([0.5, deg / 2 + 0.5]) / deg)
    xs = np.concatenate([nodes, checks])
    M = _cheb_matrix(deg)
    T_check = np.polynomial.chebyshev.chebvander(checks, deg)          # (2, deg+1)
    min_width = MIN_WIDTH[int(hermite)]
    t0, t1 = math.log(qmin), math.log(qmax)
    n0 = max(1, math.ceil((t1 - t0) / WIDTH0))
    pending = [(t0 + (t1 - t0) * i / n0, t0 + (t1 - t0) * (i + 1) / n0) for i in range(n0)]
    done = []                       # (a, b, coef or None, relative error bound or inf)
    while pending:
        a = np.array([p[0] for p in pending])
        b = np.array([p[1] for p in pending])
        t = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * xs[None, :]
        q = np.exp(t).ravel()
        vals = np.empty((q.size, rows))
        scales = np.empty((q.size, rows))
        status = np.empty(q.size, dtype=np.int64)
        run_blocks(K.tab_sample_block, q.size, q, hermite, vals, scales, status)
        vals = vals.reshape(len(pending), xs.size, rows)
        scales = scales.reshape(len(pending), xs.size, rows)
        status = status.reshape(len(pending), xs.size)
        split = []
        for i, (pa, pb) in enumerate(pending):
            if not (np.all(status[i] == Status.OK) and np.all(np.isfinite(vals[i]))):
                done.append((pa, pb, None, np.inf))   # quadrature fails here: smaller panels won't help
                continue
            coef = M @ vals[i, :deg + 1]
            scale = scales[i].min(axis=0)
            tail = np.abs(coef[-4:]).max(axis=0)
            check = np.abs(T_check @ coef - vals[i, deg + 1:]).max(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(np.maximum(tail, check) == 0.0, 0.0, np.maximum(tail, check) / scale)
            if np.all(rel <= K.TAB_TOL):
                # the panel's error bound: twice the worst measured deviation (floor: rounding)
                done.append((pa, pb, coef, max(2.0 * float(rel.max()), 2e-16)))
            elif pb - pa >= 2 * min_width and len(done) + len(pending) + len(split) < MAX_PANELS:
                mid = 0.5 * (pa + pb)
                split += [(pa, mid), (mid, pb)]
            else:
                done.append((pa, pb, None, np.inf))
        pending = split
    done.sort(key=lambda p: p[0])
    edges = np.array([p[0] for p in done] + [done[-1][1]])
    err = np.array([p[3] for p in done])
    coef = np.zeros((len(done), deg + 1, rows))
    for i, p in enumerate(done):
        if p[2] is not None:
            coef[i] = p[2]
    return TablePart(edges, err, np.ascontiguousarray(coef))
