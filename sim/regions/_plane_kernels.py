"""Numba kernels for exact activation regions in a plane: polygon cutting.

Inside an activation region of layers 1..l-1 every pre-activation of layer l is an
affine function of the plane coordinates (s, t) (Hanin & Rolnick, Lemma 4), so its
threshold sets are straight lines there.  ``cut_layer`` takes the regions of layers
1..l-1 (convex polygons) with the affine maps of layer l on each and cuts every
polygon by every line, returning the pieces with the state of each unit of layer l.

Conventions
-----------
Polygons are stored flat (``sim.regions.state.Polygons``): ``vertices[offsets[p]:offsets[p+1]]``
are the counter-clockwise vertices of polygon p and ``labels[j]`` labels the edge from
vertex j to the next one: -1 for the box boundary, ``unit * K + k`` for the line where
global unit ``unit`` crosses threshold k.  ``H[p, :, i] = (dh/ds, dh/dt, h(0, 0))`` of
unit i on polygon p.
A vertex within ``rtol * scale`` of a line lies on it and goes to both sides.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .state import Cut, Polygons


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
def cut_layer(polygons, H, thr, rtol, unit_base):
    """Cut every polygon by the threshold lines of every unit of one layer.

    Returns a ``Cut``: the pieces (``Polygons``), ``parent[q]`` the polygon piece q
    came from, ``states[q, i]`` which counts the thresholds that unit i exceeds on piece q (0 or 1 for
    one threshold, 0..2 for hard tanh), and the number of degenerate pieces dropped.
    The tolerance of a line on polygon p is rtol times the size of the terms of h
    there, |dh/ds| max|s| + |dh/dt| max|t| + |h(0, 0)| over p's vertices.  Every cut
    leaves each side a vertex farther than that from the line, so only rounding can
    make a piece with fewer than 3 vertices or with area below 1e-3 rtol^2 times p's
    bounding box; such pieces are dropped and counted.

    The pieces of one polygon live in a pool: a split piece keeps its slot for its
    upper part and appends its lower part, so untouched pieces are never copied.
    """
    verts, vlab, offs = polygons
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
    return Cut(Polygons(ov[:nvtot].copy(), ol[:nvtot].copy(), ooffs[:nout + 1].copy()), opar[:nout].copy(),
               ost[:nout].copy(), ndeg)


@njit(cache=True)
def next_maps(H, parent, states, phi, W, b):
    """Maps of the next layer's pre-activations on every piece.

    Piece q of polygon parent[q] has x^l = slopes[s] h^l + intercepts[s] unit by unit
    (``phi``, a ``PhiPieces``; s = states[q]), so h^{l+1} = W x^l + b has maps
    out[q, c] = W (slopes[s] * H[parent[q], c]) (+ W intercepts[s] + b for c = 2).
    Written out for narrow layers, where a threaded BLAS call per chunk costs more
    in start-up than the arithmetic.
    """
    slopes, intercepts = phi.slopes, phi.intercepts
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
def post_maps(H, parent, states, phi):
    """Maps of the post-activations x^l = phi(h^l) on every piece (see ``next_maps``)."""
    slopes, intercepts = phi.slopes, phi.intercepts
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
