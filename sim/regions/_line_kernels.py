"""Numba kernels for exact activation regions along a line: the 1D sweep.

The sweep keeps the rows of a layer (its pre-activations at the sweep points) in
two blocks: the points that existed before the layer's own crossings were inserted,
in t order, then the inserted points, in t order.  ``phys[p]`` is the row of the
p-th point in t order.  The next layer then needs a matrix product only for the
first block, a contiguous slice (see ``low_rank_rows``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .state import LineStates, Roots


@njit(cache=True)
def line_roots(t, h, phys, thr, tol):
    """Threshold crossings of the columns of h, linear between consecutive t.

    ``tol[i, k]`` is the tolerance of unit i at threshold k: values closer than it
    count as on the threshold (no crossing inside the piece).  Returns ``Roots`` (t*, j, tau)
    with t* = t[j] + tau (t[j+1] - t[j]) for every strict sign change of h - thr[k]
    between points j and j + 1 (rows phys[j], phys[j + 1]), ordered by (j, unit, k).
    A branch-free counting pass (vectorised) finds the pairs of points with crossings;
    only those are visited again to fill in the roots.
    """
    n = phys.shape[0]
    N = h.shape[1]
    K = thr.shape[0]
    tol_k = np.ascontiguousarray(tol.T)
    count = np.zeros(max(n - 1, 0), np.int64)
    for j in range(n - 1):
        r0 = phys[j]
        r1 = phys[j + 1]
        c = 0
        for k in range(K):
            th = thr[k]
            for i in range(N):
                d0 = h[r0, i] - th
                d1 = h[r1, i] - th
                e = tol_k[k, i]
                c += ((d0 > e) & (d1 < -e)) | ((d0 < -e) & (d1 > e))
        count[j] = c
    m = count.sum()
    rt = np.empty(m)
    rj = np.empty(m, np.int64)
    rtau = np.empty(m)
    m = 0
    for j in range(n - 1):
        if count[j] == 0:
            continue
        r0 = phys[j]
        r1 = phys[j + 1]
        for i in range(N):
            for k in range(K):
                d0 = h[r0, i] - thr[k]
                d1 = h[r1, i] - thr[k]
                e = tol_k[k, i]
                if (d0 > e and d1 < -e) or (d0 < -e and d1 > e):
                    tau = d0 / (d0 - d1)
                    rt[m] = t[j] + tau * (t[j + 1] - t[j])
                    rj[m] = j
                    rtau[m] = tau
                    m += 1
    return Roots(rt, rj, rtau)


@njit(cache=True, fastmath=True)
def _sum_sq(v):
    """Sum of squares (fastmath: a tolerance scale, any summation order will do)."""
    acc = 0.0
    for i in range(v.shape[0]):
        acc += v[i] * v[i]
    return acc


@njit(cache=True)
def line_states(h, phys, merge, phi, x, st):
    """Insert new points into h; the states on the pieces, their changes, and phi(h).

    Point p of the merged sweep (``merge``, a ``Merge``) is old point src[p] (row
    phys[src[p]] of h) if src[p] < n, else new point q = src[p] - n, interpolated
    between old points roots.j[q] and roots.j[q] + 1.  x = phi(h) of point p (``phi``,
    a ``PhiPieces``) goes to row dest[p] of ``x`` (filled in place; ``st`` is scratch
    of at least (points - 1, N)).  The state of a unit on a piece is the number of
    thresholds its value at the piece's midpoint exceeds (h is linear on the piece).
    Returns ``LineStates``: the states on piece 0; the changes, unit ``unit[r]``
    taking state ``state[r]`` at point ``pos[r]``; the largest Euclidean norm of a row
    of x.
    The loops over units are written branch-free, threshold by threshold, so that
    they vectorise.
    """
    src, dest, new_j, new_tau = merge.src, merge.dest, merge.roots.j, merge.roots.tau
    thr, slopes, intercepts = phi.thresholds, phi.slopes, phi.intercepts
    n = phys.shape[0]
    N = h.shape[1]
    R = src.shape[0]
    K = thr.shape[0]
    prev = np.empty(N)
    cur = np.empty(N)
    max_sq = 0.0
    m = 0
    for p in range(R):
        s = src[p]
        if s < n:
            r = phys[s]
            for i in range(N):
                cur[i] = h[r, i]
        else:
            r0 = phys[new_j[s - n]]
            r1 = phys[new_j[s - n] + 1]
            tau = new_tau[s - n]
            for i in range(N):
                cur[i] = h[r0, i] + tau * (h[r1, i] - h[r0, i])
        xr = x[dest[p]]
        for i in range(N):
            xr[i] = slopes[0] * cur[i] + intercepts[0]
        for k in range(K):
            th = thr[k]
            a = slopes[k + 1]
            c = intercepts[k + 1]
            for i in range(N):
                v = cur[i]
                xr[i] = a * v + c if v > th else xr[i]
        max_sq = max(max_sq, _sum_sq(xr))
        if p > 0:
            sr = st[p - 1]
            for i in range(N):
                sr[i] = 0
            for k in range(K):
                th = thr[k]
                for i in range(N):
                    sr[i] += 0.5 * (prev[i] + cur[i]) > th
            if p > 1:
                sp = st[p - 2]
                for i in range(N):
                    m += sr[i] != sp[i]
        prev, cur = cur, prev
    pos = np.empty(m, np.int64)
    unit = np.empty(m, np.int64)
    state = np.empty(m, np.int8)
    m = 0
    for j in range(1, R - 1):
        for i in range(N):
            if st[j, i] != st[j - 1, i]:
                pos[m] = j
                unit[m] = i
                state[m] = st[j, i]
                m += 1
    return LineStates(st[0].copy(), pos, unit, state, np.sqrt(max_sq))


@njit(cache=True, fastmath=True)
def product_rows(x, rows, W, b):
    """W x[r] + b for the rows r (single-threaded: a few rows, no BLAS start-up; fastmath:
    a check against a tolerance far above rounding)."""
    out = np.empty((rows.shape[0], W.shape[0]))
    for q in range(rows.shape[0]):
        r = rows[q]
        for o in range(W.shape[0]):
            acc = 0.0
            for i in range(W.shape[1]):
                acc += W[o, i] * x[r, i]
            out[q, o] = acc + b[o]
    return out


@njit(cache=True)
def _straddles(a, b, thr):
    for k in range(thr.shape[0]):
        if (a < thr[k] and b > thr[k]) or (a > thr[k] and b < thr[k]):
            return True
    return False


@njit(cache=True)
def crossing_counts(left, right, h_prev, thr):
    """Number of units whose h_prev crosses a threshold strictly between rows left[q] and right[q]."""
    out = np.zeros(left.shape[0], np.int64)
    for q in range(left.shape[0]):
        if q > 0 and left[q] == left[q - 1] and right[q] == right[q - 1]:
            out[q] = out[q - 1]
            continue
        for i in range(h_prev.shape[1]):
            if _straddles(h_prev[left[q], i], h_prev[right[q], i], thr):
                out[q] += 1
    return out


@njit(cache=True)
def low_rank_rows(h_next, rows, inserted, h_prev, x_prev, thr, WT):
    """Pre-activations of the next layer at points inserted between two where they are known.

    Point ``rows[q]`` lies at fraction tau[q] between points (rows of h_next and
    x_prev) left[q] and right[q], rows prev_left[q] and prev_right[q] of h_prev
    (the fields of ``inserted``, an ``Inserted``),
    between which h_prev is affine.  Units of the previous layer whose h_prev does
    not cross a threshold there have x_prev affine too, so only the units that do
    cross (set I) bend h_next = W x_prev + b away from linear interpolation:

        h_next[r] = h_next[left] + tau (h_next[right] - h_next[left])
                    + sum_{i in I} W[:, i] (x_prev[r, i] - x_prev_interp[r, i]),

    a rank-|I| update, O(|I| N) instead of the O(N_prev N) product.  The end rows
    come from exact products, so no rounding accumulates along the sweep.
    ``h_next`` is filled in place; ``WT`` is W transposed, C-contiguous.
    """
    left, right, tau = inserted.left, inserted.right, inserted.tau
    prev_left, prev_right = inserted.prev_left, inserted.prev_right
    Np = h_prev.shape[1]
    M = h_next.shape[1]
    units = np.empty(Np, np.int64)
    m = 0
    for q in range(rows.shape[0]):
        a = left[q]
        b = right[q]
        if q == 0 or a != left[q - 1] or b != right[q - 1]:    # points of one interval come together
            m = 0
            for i in range(Np):
                if _straddles(h_prev[prev_left[q], i], h_prev[prev_right[q], i], thr):
                    units[m] = i
                    m += 1
        r = rows[q]
        f = tau[q]
        for o in range(M):
            h_next[r, o] = h_next[a, o] + f * (h_next[b, o] - h_next[a, o])
        for u in range(m):
            i = units[u]
            c = x_prev[r, i] - (x_prev[a, i] + f * (x_prev[b, i] - x_prev[a, i]))
            if c != 0.0:
                for o in range(M):
                    h_next[r, o] += c * WT[i, o]
