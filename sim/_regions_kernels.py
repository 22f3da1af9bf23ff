"""Numba kernels for exact activation regions: 2D polygon cutting and the 1D sweep.

Inside an activation region of layers 1..l-1 every pre-activation of layer l is an
affine function of the plane coordinates (s, t) (Hanin & Rolnick, Lemma 4), so its
threshold sets are straight lines there.  ``cut_layer`` takes the regions of layers
1..l-1 (convex polygons) with the affine maps of layer l on each and cuts every
polygon by every line, returning the pieces with the state of each unit of layer l.

Conventions
-----------
Polygons are stored flat: ``verts[offs[p]:offs[p+1]]`` are the counter-clockwise
vertices of polygon p and ``vlab[j]`` labels the edge from vertex j to the next one:
-1 for the box boundary, ``unit * K + k`` for the line where global unit ``unit``
crosses threshold k.  ``H[p, :, i] = (dh/ds, dh/dt, h(0, 0))`` of unit i on polygon p.
A vertex within ``rtol * scale`` of a line lies on it and goes to both sides.

The 1D kernels (``line_roots``, ``line_states``, ``crossing_counts``,
``low_rank_rows``) are described in their section below.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _grow_rows(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty((max(need, 2 * a.shape[0]),) + a.shape[1:], a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _grow(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _area(v, start, n):
    acc = 0.0
    for j in range(n):
        x0, y0 = v[start + j, 0], v[start + j, 1]
        j1 = start + (j + 1) % n
        acc += x0 * v[j1, 1] - v[j1, 0] * y0
    return 0.5 * acc


@njit(cache=True)
def _copy_piece(sv, sl, s0, n, dv, dl, d0):
    """Copy n vertices and edge labels from index s0 of (sv, sl) to index d0 of (dv, dl)."""
    dv = _grow_rows(dv, d0 + n)
    dl = _grow(dl, d0 + n)
    for j in range(n):
        dv[d0 + j, 0] = sv[s0 + j, 0]
        dv[d0 + j, 1] = sv[s0 + j, 1]
        dl[d0 + j] = sl[s0 + j]
    return dv, dl


@njit(cache=True)
def _clip_side(av, al, s0, n, d, c, side, cut_label, bv, bl, nb):
    """Append to (bv, bl) from index nb the part of piece (av, al)[s0:s0+n] with side*d >= 0."""
    for j in range(n):
        j1 = (j + 1) % n
        ca, cb = side * c[j], side * c[j1]
        lab = al[s0 + j]
        if ca >= 0:
            bv = _grow_rows(bv, nb + 2)
            bl = _grow(bl, nb + 2)
            bv[nb, 0] = av[s0 + j, 0]
            bv[nb, 1] = av[s0 + j, 1]
            if cb >= 0:
                bl[nb] = lab
                nb += 1
            elif ca > 0:
                bl[nb] = lab
                tau = d[j] / (d[j] - d[j1])
                bv[nb + 1, 0] = av[s0 + j, 0] + tau * (av[s0 + j1, 0] - av[s0 + j, 0])
                bv[nb + 1, 1] = av[s0 + j, 1] + tau * (av[s0 + j1, 1] - av[s0 + j, 1])
                bl[nb + 1] = cut_label
                nb += 2
            else:
                bl[nb] = cut_label
                nb += 1
        elif cb > 0:
            bv = _grow_rows(bv, nb + 1)
            bl = _grow(bl, nb + 1)
            tau = d[j] / (d[j] - d[j1])
            bv[nb, 0] = av[s0 + j, 0] + tau * (av[s0 + j1, 0] - av[s0 + j, 0])
            bv[nb, 1] = av[s0 + j, 1] + tau * (av[s0 + j1, 1] - av[s0 + j, 1])
            bl[nb] = lab
            nb += 1
    return bv, bl, nb


@njit(cache=True)
def cut_layer(verts, vlab, offs, H, thr, rtol, unit_base):
    """Cut every polygon by the threshold lines of every unit of one layer.

    Returns (verts, vlab, offs, parent, states, n_degenerate) of the pieces, where
    ``states[q, i]`` counts the thresholds that unit i exceeds on piece q (0 or 1 for
    one threshold, 0..2 for hard tanh) and ``parent[q]`` is the polygon it came from.
    The tolerance of a line on polygon p is rtol times the size of the terms of h
    there, |dh/ds| max|s| + |dh/dt| max|t| + |h(0, 0)| over p's vertices.  Every cut
    leaves each side a vertex farther than that from the line, so only rounding can
    make a piece with fewer than 3 vertices or with area below 1e-3 rtol^2 times p's
    bounding box; such pieces are dropped and counted.

    The pieces of one polygon live in a pool: a split piece keeps its slot for its
    upper part and appends its lower part, so untouched pieces are never copied.
    """
    P = offs.shape[0] - 1
    N = H.shape[2]
    K = thr.shape[0]
    # output buffers
    ov = np.empty((4 * verts.shape[0] + 16, 2))
    ol = np.empty(ov.shape[0], np.int64)
    ooffs = np.empty(4 * P + 17, np.int64)
    opar = np.empty(4 * P + 16, np.int64)
    ost = np.empty((4 * P + 16, N), np.int8)
    ooffs[0] = 0
    nout = 0
    ndeg = 0
    # piece pool of the current polygon: vertices, edge labels, start, length, states
    pv = np.empty((256, 2))
    pl = np.empty(256, np.int64)
    pstart = np.empty(16, np.int64)
    plen = np.empty(16, np.int64)
    pst = np.empty((16, N), np.int8)
    d = np.empty(64)
    c = np.empty(64, np.int64)
    for p in range(P):
        v0 = offs[p]
        nv = offs[p + 1] - v0
        sc0 = 0.0
        sc1 = 0.0
        lo0 = np.inf
        hi0 = -np.inf
        lo1 = np.inf
        hi1 = -np.inf
        for j in range(v0, v0 + nv):
            sc0 = max(sc0, abs(verts[j, 0]))
            sc1 = max(sc1, abs(verts[j, 1]))
            lo0 = min(lo0, verts[j, 0])
            hi0 = max(hi0, verts[j, 0])
            lo1 = min(lo1, verts[j, 1])
            hi1 = max(hi1, verts[j, 1])
        area_min = 1e-3 * rtol * rtol * (hi0 - lo0) * (hi1 - lo1)
        pv, pl = _copy_piece(verts, vlab, v0, nv, pv, pl, 0)
        npool = nv
        pstart[0] = 0
        plen[0] = nv
        na = 1
        for i in range(N):
            pst[0, i] = 0
        for i in range(N):
            h0 = H[p, 0, i]
            h1 = H[p, 1, i]
            h2 = H[p, 2, i]
            base = abs(h0) * sc0 + abs(h1) * sc1 + abs(h2)
            fmin = np.inf
            fmax = -np.inf
            for j in range(v0, v0 + nv):
                f = h0 * verts[j, 0] + h1 * verts[j, 1] + h2
                fmin = min(fmin, f)
                fmax = max(fmax, f)
            for k in range(K):
                th = thr[k]
                tol = rtol * (base + abs(th))
                if fmin - th >= -tol:          # every piece lies above this threshold
                    for q in range(na):
                        pst[q, i] += 1
                    continue
                if fmax - th <= tol:           # every piece lies below it
                    continue
                cut_label = (unit_base + i) * K + k
                na0 = na
                for q in range(na0):
                    s0 = pstart[q]
                    n = plen[q]
                    d = _grow(d, n)
                    c = _grow(c, n)
                    npos = 0
                    nneg = 0
                    for j in range(n):
                        dj = h0 * pv[s0 + j, 0] + h1 * pv[s0 + j, 1] + h2 - th
                        d[j] = dj
                        if dj > tol:
                            c[j] = 1
                            npos += 1
                        elif dj < -tol:
                            c[j] = -1
                            nneg += 1
                        else:
                            c[j] = 0
                    if nneg == 0:
                        if npos > 0:
                            pst[q, i] += 1
                        continue
                    if npos == 0:
                        continue
                    # split: the lower part becomes a new piece, the upper part keeps slot q
                    pstart = _grow(pstart, na + 1)
                    plen = _grow(plen, na + 1)
                    pst = _grow_rows(pst, na + 1)
                    up = npool
                    pv, pl, npool = _clip_side(pv, pl, s0, n, d, c, 1, cut_label, pv, pl, npool)
                    lo = npool
                    pv, pl, npool = _clip_side(pv, pl, s0, n, d, c, -1, cut_label, pv, pl, npool)
                    pstart[na] = lo
                    plen[na] = npool - lo
                    for u in range(N):
                        pst[na, u] = pst[q, u]
                    na += 1
                    pstart[q] = up
                    plen[q] = lo - up
                    pst[q, i] += 1
        # emit the pieces of polygon p
        for q in range(na):
            s0 = pstart[q]
            n = plen[q]
            if n < 3 or _area(pv, s0, n) <= area_min:
                ndeg += 1
                continue
            nvo = ooffs[nout]
            ov, ol = _copy_piece(pv, pl, s0, n, ov, ol, nvo)
            ooffs = _grow(ooffs, nout + 2)
            opar = _grow(opar, nout + 1)
            ost = _grow_rows(ost, nout + 1)
            opar[nout] = p
            for u in range(N):
                ost[nout, u] = pst[q, u]
            ooffs[nout + 1] = nvo + n
            nout += 1
    nvtot = ooffs[nout]
    return (ov[:nvtot].copy(), ol[:nvtot].copy(), ooffs[:nout + 1].copy(), opar[:nout].copy(),
            ost[:nout].copy(), ndeg)


@njit(cache=True)
def next_maps(H, parent, states, slopes, intercepts, W, b):
    """Maps of the next layer's pre-activations on every piece.

    Piece q of polygon parent[q] has x^l = slopes[s] h^l + intercepts[s] unit by unit
    (s = states[q]), so h^{l+1} = W x^l + b has maps
    out[q, c] = W (slopes[s] * H[parent[q], c]) (+ W intercepts[s] + b for c = 2).
    Written out for narrow layers, where a threaded BLAS call per chunk costs more
    in start-up than the arithmetic.
    """
    Q = parent.shape[0]
    M, N = W.shape
    out = np.empty((Q, 3, M))
    x = np.empty(N)
    for q in range(Q):
        p = parent[q]
        for c in range(3):
            for i in range(N):
                s = states[q, i]
                x[i] = slopes[s] * H[p, c, i]
                if c == 2:
                    x[i] += intercepts[s]
            for m in range(M):
                acc = 0.0
                for i in range(N):
                    acc += W[m, i] * x[i]
                if c == 2:
                    acc += b[m]
                out[q, c, m] = acc
    return out


@njit(cache=True)
def post_maps(H, parent, states, slopes, intercepts):
    """Maps of the post-activations x^l = phi(h^l) on every piece (see ``next_maps``)."""
    Q = parent.shape[0]
    N = H.shape[2]
    out = np.empty((Q, 3, N))
    for q in range(Q):
        p = parent[q]
        for c in range(3):
            for i in range(N):
                s = states[q, i]
                out[q, c, i] = slopes[s] * H[p, c, i]
        for i in range(N):
            out[q, 2, i] += intercepts[states[q, i]]
    return out


# ----------------------------------------------------------------------------- 1D sweep
#
# The sweep keeps the rows of a layer (its pre-activations at the sweep points) in
# two blocks: the points that existed before the layer's own crossings were inserted,
# in t order, then the inserted points, in t order.  ``phys[p]`` is the row of the
# p-th point in t order.  The next layer then needs a matrix product only for the
# first block, a contiguous slice (see ``low_rank_rows``).

@njit(cache=True)
def line_roots(t, h, phys, thr, tol):
    """Threshold crossings of the columns of h, linear between consecutive t.

    ``tol[i, k]`` is the tolerance of unit i at threshold k: values closer than it
    count as on the threshold (no crossing inside the piece).  Returns (t*, j, tau)
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
    return rt, rj, rtau


@njit(cache=True, fastmath=True)
def _sum_sq(v):
    """Sum of squares (fastmath: a tolerance scale, any summation order will do)."""
    acc = 0.0
    for i in range(v.shape[0]):
        acc += v[i] * v[i]
    return acc


@njit(cache=True)
def line_states(h, phys, new_j, new_tau, src, dest, thr, slopes, intercepts, x, st):
    """Insert new points into h; the states on the pieces, their changes, and phi(h).

    Point p of the merged sweep is old point src[p] (row phys[src[p]] of h) if
    src[p] < n, else new point q = src[p] - n, interpolated between old points
    new_j[q] and new_j[q] + 1.  x = phi(h) of point p goes to row dest[p] of ``x``
    (filled in place; ``st`` is scratch of at least (points - 1, N)).  The state of a
    unit on a piece is the number of thresholds its value at the piece's midpoint
    exceeds (h is linear on the piece).  Returns (first, pos, unit, state,
    max_norm): the states on piece 0; the changes, unit ``unit[r]`` taking state
    ``state[r]`` at point ``pos[r]``; the largest Euclidean norm of a row of x.
    The loops over units are written branch-free, threshold by threshold, so that
    they vectorise.
    """
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
    return st[0].copy(), pos, unit, state, np.sqrt(max_sq)


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
def low_rank_rows(h_next, rows, left, right, tau, h_prev, prev_left, prev_right, x_prev, thr, WT):
    """Pre-activations of the next layer at points inserted between two where they are known.

    Point ``rows[q]`` lies at fraction tau[q] between points (rows of h_next and
    x_prev) left[q] and right[q], rows prev_left[q] and prev_right[q] of h_prev,
    between which h_prev is affine.  Units of the previous layer whose h_prev does
    not cross a threshold there have x_prev affine too, so only the units that do
    cross (set I) bend h_next = W x_prev + b away from linear interpolation:

        h_next[r] = h_next[left] + tau (h_next[right] - h_next[left])
                    + sum_{i in I} W[:, i] (x_prev[r, i] - x_prev_interp[r, i]),

    a rank-|I| update, O(|I| N) instead of the O(N_prev N) product.  The end rows
    come from exact products, so no rounding accumulates along the sweep.
    ``h_next`` is filled in place; ``WT`` is W transposed, C-contiguous.
    """
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
