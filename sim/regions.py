"""Exact activation regions and linear regions on lines and planes (Hanin & Rolnick 2019).

For a network with piecewise-linear phi with thresholds theta_1 < ... < theta_K (the
kinks of phi), every unit z of every layer 1..D is in one of K + 1 *states* at an
input x: the number of thresholds its pre-activation h_z(x) exceeds (ReLU and leaky
ReLU: off/on; hard tanh: -1 / linear / +1 saturation).  The *activation pattern* is
the vector of all states and an *activation region* is a connected set of inputs with
one pattern (HR Def. 1); these are convex for any piecewise-linear phi (HR Lemma 1),
so that on a line they are intervals and in a plane convex polygons.  A *linear
region* is a connected set on which the network function is one affine map (HR
Def. 2): neighbouring activation regions with equal maps merge, so there are never
more linear than activation regions (HR Lemma 3).

Counting is exact, without sampling: the regions are built layer by layer.  Inside a
region of layers 1..l-1 the pre-activations of layer l are affine (HR Lemma 4), so
the region is cut by straight threshold sets: points on a line (1D) or lines (2D).
Arithmetic is float64 with relative tolerances: a vertex within ``rtol`` (relative to
the size of the terms of h) of a threshold lies on it and belongs to both sides, and
pieces that come out degenerate (zero length or area) are dropped and counted in
``n_degenerate``.

The network function is x^D = phi(h^D), the post-activations of the last layer; with
``readout=True`` the last weight layer is a linear read-out h^D instead: its units
are not counted as neurons and the function is h^D (a linear read-out adds no
regions).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from meanfield.nonlinearity import as_nonlinearity

from ._regions_kernels import (crossing_counts, cut_layer, line_roots, line_states, low_rank_rows, next_maps,
                               post_maps, product_rows)
from .errors import SimError


class RegionsError(SimError):
    """Activation regions cannot be counted for these arguments."""


# --------------------------------------------------------------------- phi as pieces

@dataclass(frozen=True)
class PiecewiseLinear:
    """phi(h) = slopes[j] h + intercepts[j] for thresholds[j-1] < h < thresholds[j].

    Attributes
    ----------
    thresholds : (K,) array
        The kinks of phi where its slope changes, sorted.
    slopes, intercepts : (K + 1,) arrays
        The affine map of each piece, piece j lying above j thresholds.
    """

    thresholds: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray

    @property
    def n_states(self) -> int:
        return len(self.slopes)

    def state(self, h) -> np.ndarray:
        """Number of thresholds strictly exceeded by h (int8, same shape as h)."""
        h = np.asarray(h)
        out = np.zeros(h.shape, np.int8)
        for th in self.thresholds:
            out += h > th
        return out

    def __call__(self, h) -> np.ndarray:
        s = self.state(h)
        return self.slopes[s] * h + self.intercepts[s]


def piecewise_linear(phi) -> PiecewiseLinear:
    """The pieces of a piecewise-linear, continuous phi, read off ``Nonlinearity.kinks``.

    phi is evaluated at two points inside each piece (exact for affine pieces) and at
    a third point as a check; kinks where the slope does not change are dropped.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear (activation regions are then undefined: use a
        piecewise-linear phi such as "relu", "leaky_relu" or "hard_tanh"), or if it
        jumps at a kink.
    """
    nl = as_nonlinearity(phi)
    if not nl.is_piecewise_linear:
        raise RegionsError(
            f"activation regions need a piecewise-linear phi (relu, leaky_relu, hard_tanh, ...); "
            f"{nl.name!r} is not piecewise linear")
    kinks = np.asarray(nl.kinks, dtype=np.float64)
    edges = np.concatenate([[kinks[0] - 2.0 if kinks.size else -1.0], kinks,
                            [kinks[-1] + 2.0 if kinks.size else 1.0]])
    lo, hi = edges[:-1], edges[1:]
    x1, x2, x3 = (lo + (hi - lo) * f for f in (0.25, 0.75, 0.5))
    y1, y2, y3 = (np.asarray(nl.phi(z), dtype=np.float64) for z in (x1, x2, x3))
    slopes = (y2 - y1) / (x2 - x1)
    intercepts = y1 - slopes * x1
    if not np.allclose(slopes * x3 + intercepts, y3, rtol=1e-12, atol=1e-12):
        raise RegionsError(f"phi {nl.name!r} is not affine between its kinks {tuple(kinks)}")
    left = slopes[:-1] * kinks + intercepts[:-1]
    right = slopes[1:] * kinks + intercepts[1:]
    if not np.allclose(left, right, rtol=1e-12, atol=1e-12):
        raise RegionsError(f"phi {nl.name!r} jumps at a kink; activation regions need a continuous phi")
    keep = ~np.isclose(slopes[:-1], slopes[1:], rtol=1e-12, atol=0)
    pieces = np.concatenate([[0], np.flatnonzero(keep) + 1])
    return PiecewiseLinear(kinks[keep], slopes[pieces], intercepts[pieces])


def _layers(net, readout: bool):
    """(neuron layers [(W, b)], read-out (W, b) or None) in float64."""
    layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64))
              for w, b in zip(net.weights, net.biases)]
    if readout:
        if len(layers) < 2:
            raise RegionsError("readout=True needs a network with at least two weight layers "
                               "(one hidden layer and the read-out)")
        return layers[:-1], layers[-1]
    return layers, None


def _point(net, x, name):
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.shape != (net.widths[0],):
        raise RegionsError(f"{name} must be a point of the input space R^{net.widths[0]}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise RegionsError(f"{name} must be finite")
    return x


# ------------------------------------------------------------------------------- 1D

@dataclass(frozen=True)
class ActivationRegions1D:
    """Exact activation regions of a network along a segment or polyline x(t), t in [0, 1].

    For a segment x(t) = a + t (b - a); for a polyline through ``path[0..n-1]`` vertex
    i sits at t = i / (n - 1) and x(t) is linear in between.

    Attributes
    ----------
    path : (n, N0) array
        The vertices (n = 2 for a segment).
    breakpoints : (count - 1,) array
        Sorted t in (0, 1) where some unit changes state; piece j is
        [breakpoints[j-1], breakpoints[j]] with 0 and 1 at the ends.
    initial_pattern : (n_neurons,) int8 array
        States of all units (layers 1..D concatenated) on the first piece.
    transition_index, transition_unit, transition_state : int arrays
        The state changes: at ``breakpoints[transition_index[r]]`` unit
        ``transition_unit[r]`` takes state ``transition_state[r]``.
    layer_widths : tuple of int
        Units per neuron layer (the pattern is their concatenation).
    n_degenerate : int
        Pieces of zero length (coincident breakpoints) merged away.
    """

    path: np.ndarray
    breakpoints: np.ndarray
    initial_pattern: np.ndarray
    transition_index: np.ndarray
    transition_unit: np.ndarray
    transition_state: np.ndarray
    layer_widths: tuple
    n_degenerate: int
    network: object
    readout: bool

    @property
    def count(self) -> int:
        """Number of activation regions met by the segment."""
        return len(self.breakpoints) + 1

    @property
    def n_neurons(self) -> int:
        return int(sum(self.layer_widths))

    @property
    def edges(self) -> np.ndarray:
        """[0, breakpoints..., 1]: the ends of the pieces."""
        return np.concatenate([[0.0], self.breakpoints, [1.0]])

    @property
    def midpoints(self) -> np.ndarray:
        e = self.edges
        return 0.5 * (e[:-1] + e[1:])

    @property
    def a(self) -> np.ndarray:
        return self.path[0]

    @property
    def b(self) -> np.ndarray:
        return self.path[-1]

    def points(self, t) -> np.ndarray:
        """Input-space points x(t)."""
        return _along(self.path, t)

    def patterns(self) -> np.ndarray:
        """(count, n_neurons) int8: the pattern of every piece (memory count x n_neurons)."""
        pats = np.full((self.count, self.n_neurons), -1, np.int8)
        pats[0] = self.initial_pattern
        pats[self.transition_index + 1, self.transition_unit] = self.transition_state
        rows = np.arange(self.count, dtype=np.int32)[:, None]
        idx = np.maximum.accumulate(np.where(pats >= 0, rows, 0), axis=0)
        return np.take_along_axis(pats, idx, axis=0)

    def transitions_per_unit(self) -> np.ndarray:
        """(n_neurons,) number of state changes of each unit along the segment (exact)."""
        return np.bincount(self.transition_unit, minlength=self.n_neurons)

    @property
    def n_transitions(self) -> int:
        """Total number of state changes (Raghu et al.'s transitions, summed over units)."""
        return int(self.transition_unit.size)

    def n_patterns(self) -> int:
        """Number of distinct patterns met (``count`` on a segment, since regions are convex;
        a polyline may return to a region)."""
        return int(np.unique(self.patterns(), axis=0).shape[0])

    @cached_property
    def linear(self) -> "LinearRegions1D":
        """Linear regions (HR Def. 2): neighbouring pieces with the same affine map merged."""
        return _linear_regions_1d(self)


@dataclass(frozen=True)
class LinearRegions1D:
    """Linear regions on a segment: ``breakpoints`` where the network's slope changes."""

    breakpoints: np.ndarray
    labels: np.ndarray

    @property
    def count(self) -> int:
        return len(self.breakpoints) + 1


def activation_regions_1d(net, a, b, *, readout: bool = False, rtol: float = 1e-9,
                          method: str = "low_rank") -> ActivationRegions1D:
    """Exact activation regions of ``net`` along the segment from ``a`` to ``b``.

    The pre-activations of layer l are piecewise linear in t with breakpoints where a
    unit of layers < l changes state (HR Lemma 4), so they are computed only at the
    breakpoints found so far; between two of them a unit crosses a threshold at most
    once, at the root of the linear interpolant, which is inserted with the
    interpolated pre-activations of the whole layer.

    At the points that layer l - 1 inserted, h^l needs no matrix product: there only
    the units of layer l - 1 that cross a threshold bend x^{l-1} away from linear
    between its neighbouring points, so h^l is the linear interpolation of its
    values there plus one column of W^l per crossing unit: a rank-one update per
    crossing, O(N_l) instead of the O(N_{l-1} N_l) product (kernel
    ``low_rank_rows``).  Breakpoints of layers < l - 1 bend every unit of layer l - 1
    (x^{l-1} changes slope along a dense vector there), so they keep their product,
    and so do points where more than N_{l-1} / 8 units cross at once, for which one
    BLAS product is cheaper.  The interpolation ends are exact products, so no
    rounding accumulates along the sweep.

    Parameters
    ----------
    net : sim.Network
        With a piecewise-linear phi (else :class:`RegionsError`).
    a, b : array (N0,)
        End points of the segment (any input dimension).
    readout : bool
        Treat the last weight layer as a linear read-out (its units are not neurons).
    rtol : float
        Relative tolerance for "h equals a threshold".
    method : {"low_rank", "dense"}
        "dense" computes h^l at every point by a matrix product (the reference; same
        regions, breakpoints equal to rounding).  "low_rank" spot-checks its
        interpolated rows against products in every layer and falls back to dense
        products for the layer if they disagree beyond rounding.
    """
    a, b = _point(net, a, "a"), _point(net, b, "b")
    return activation_regions_path(net, np.stack([a, b]), readout=readout, rtol=rtol, method=method)


def activation_regions_path(net, path, *, readout: bool = False, rtol: float = 1e-9,
                            method: str = "low_rank") -> ActivationRegions1D:
    """Exact activation regions along the polyline through the rows of ``path`` (n, N0).

    The input is linear between vertices, so the sweep of :func:`activation_regions_1d`
    applies unchanged with the vertices as its first breakpoints (vertex i at
    t = i / (n - 1)); pieces are split only where a unit changes state.  Keyword
    arguments as for :func:`activation_regions_1d`.
    """
    pl = piecewise_linear(net.phi)
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or path.shape[0] < 2 or path.shape[1] != net.widths[0] or not np.all(np.isfinite(path)):
        raise RegionsError(f"path must be (n >= 2, {net.widths[0]}) finite points, got shape {path.shape}")
    if np.any(np.all(path[1:] == path[:-1], axis=1)):
        raise RegionsError("the path has a zero-length segment (repeated point); drop repeated points")
    if method not in ("low_rank", "dense"):
        raise RegionsError(f"method must be 'low_rank' or 'dense', got {method!r}")
    layers, _ = _layers(net, readout)
    t = np.linspace(0.0, 1.0, path.shape[0])
    x, h = path, None
    x_norm = np.linalg.norm(path, axis=1).max()
    phys = np.arange(t.size)                # row of h of each point, in t order
    inserted = (t.size,) + _NO_ROWS         # points the previous layer inserted (none)
    buffers = _Buffers()
    n_degenerate = 0
    widths = []
    pos, units, states = [], [], []     # transitions at t positions (by value)
    first = []
    offset = 0
    thr = np.ascontiguousarray(pl.thresholds, dtype=np.float64)
    for l, (w, bias) in enumerate(layers):
        scale = np.sqrt(np.einsum("ij,ij->i", w, w)) * x_norm + np.abs(bias)   # size of the terms of h
        h_prev, h = h, buffers.get(f"h{l % 2}", (x.shape[0], w.shape[0]))
        if method == "dense":
            inserted = (x.shape[0],) + _NO_ROWS
        _preactivations(x, h_prev, w, bias, inserted, thr, scale, out=h)
        t, src, new_j, new_tau, dest, inserted, merged = _insert_roots(
            t, h, phys, thr, rtol * (scale[:, None] + np.abs(thr)[None, :]))
        n_degenerate += merged
        x = buffers.get("x", (t.size, w.shape[0]))
        st0, jj, ii, ss, x_norm = line_states(h, phys, new_j, new_tau, src, dest, thr, pl.slopes,
                                              pl.intercepts, x, buffers.get("st", (t.size, w.shape[0]), np.int8))
        phys = dest                         # the next layer's h has the rows of x
        first.append(st0)
        pos.append(t[jj])
        units.append(ii + offset)
        states.append(ss)
        offset += w.shape[0]
        widths.append(w.shape[0])
    pos = np.concatenate(pos)
    order = np.argsort(pos, kind="stable")
    pos = pos[order]
    breakpoints, index = np.unique(pos, return_inverse=True)
    return ActivationRegions1D(
        path=path, breakpoints=breakpoints, initial_pattern=np.concatenate(first).astype(np.int8),
        transition_index=index.astype(np.int64), transition_unit=np.concatenate(units)[order].astype(np.int64),
        transition_state=np.concatenate(states)[order].astype(np.int8), layer_widths=tuple(widths),
        n_degenerate=n_degenerate, network=net, readout=readout)


_T_EPS = 1e-14    # zero length on the unit interval of t


def _along(path, t):
    """Points of the polyline through ``path`` at t in [0, 1] (vertex i at i / (n - 1))."""
    t = np.asarray(t, dtype=np.float64)
    u = t * (path.shape[0] - 1)
    i = np.clip(np.floor(u).astype(np.int64), 0, path.shape[0] - 2)
    f = (u - i)[..., None]
    return path[i] + f * (path[i + 1] - path[i])


_NO_ROWS = (np.zeros(0, np.int64),) * 4 + (np.zeros(0),)
_CHECK_ROWS = 4         # updated rows checked against a product, per layer
_CHECK_RTOL = 1e-10     # their allowed disagreement, relative to the size of the terms of h


class _Buffers:
    """Row buffers reused from layer to layer: first touches of fresh memory (a page
    fault per 4 KiB, about 2 ms per MB on the benchmark machine) cost more than the
    sweep's own passes over it."""

    def __init__(self):
        self._flat = {}

    def get(self, key, shape, dtype=np.float64):
        need = shape[0] * shape[1]
        flat = self._flat.get(key)
        if flat is None or flat.size < need:
            flat = self._flat[key] = np.empty(2 * need, dtype)
        return flat[:need].reshape(shape)


def _insert_roots(t, h, phys, thresholds, tol):
    """The threshold crossings of the columns of h (linear between the t's), merged into t.

    Returns (t, src, new_j, new_tau, dest, inserted, n_merged): merged point p is old
    point src[p] if src[p] < n, else new point q = src[p] - n at fraction new_tau[q]
    between old points new_j[q] and new_j[q] + 1, and goes to row dest[p] of x:
    old points keep their numbers (t order), new ones follow them (``line_states``
    builds the rows).  ``inserted = (n, left, right, prev_left, prev_right, tau)``
    describes rows n, n + 1, ... of x (the new points) for the next layer, with the
    rows of x and of h either side of each.
    """
    new_t, new_j, new_tau = line_roots(t, h, phys, thresholds, tol)
    n = t.size
    if new_t.size == 0:
        return t, np.arange(n), new_j, new_tau, np.arange(n), (n,) + _NO_ROWS, 0
    t_all = np.concatenate([t, new_t])
    order = np.argsort(t_all, kind="stable")
    t_all, is_new = t_all[order], order >= n
    # Two crossings at the same t to rounding would make a zero-length piece: keep
    # one point (an old one if possible); the states either side are unchanged.
    keep = np.ones(t_all.size, bool)
    for j in np.flatnonzero(np.diff(t_all) <= _T_EPS):
        drop = j if (is_new[j] and not is_new[j + 1]) else j + 1
        if is_new[drop]:
            keep[drop] = False
    src = order[keep]
    new = src >= n
    dest = src.copy()
    dest[new] = n + np.arange(np.count_nonzero(new))
    j = new_j[src[new] - n]
    inserted = (n, j, j + 1, phys[j], phys[j + 1], new_tau[src[new] - n])
    return t_all[keep], src, new_j, new_tau, dest, inserted, int(np.count_nonzero(~keep))


def _preactivations(x, h_prev, w, bias, inserted, thresholds, scale, out):
    """out = W x + b at every row of x: a product for rows 0..n-1 (the points that
    existed before the previous layer's crossings were inserted), rank-|I| updates
    (``low_rank_rows``) for the inserted rows n, n + 1, ...

    An update costs one column of W per crossing unit; where more than N_in / 8 units
    cross, the (BLAS) product is cheaper and is used.  A few updated rows are also
    computed by the product; if any differs by more than rounding (relative to
    ``scale``, the size of the terms of h) the layer falls back to products at every
    row.
    """
    n, left, right, prev_left, prev_right, tau = inserted
    np.matmul(x[:n], w.T, out=out[:n])
    out[:n] += bias
    if n == x.shape[0]:
        return
    rows = np.arange(n, x.shape[0])
    update = crossing_counts(prev_left, prev_right, h_prev, thresholds) <= w.shape[1] // 8
    if not np.all(update):
        by_product = rows[~update]
        out[by_product] = x[by_product] @ w.T + bias
    up = rows[update]
    if up.size == 0:
        return
    low_rank_rows(out, up, left[update], right[update], tau[update], h_prev, prev_left[update],
                  prev_right[update], x, thresholds, np.ascontiguousarray(w.T))
    check = up[np.unique(np.linspace(0, up.size - 1, min(up.size, _CHECK_ROWS)).astype(np.int64))]
    if np.any(np.abs(out[check] - product_rows(x, check, w, bias)) > _CHECK_RTOL * scale):
        out[rows] = x[rows] @ w.T + bias


def _linear_regions_1d(res: ActivationRegions1D) -> LinearRegions1D:
    if res.path.shape[0] != 2:
        raise RegionsError("linear regions are defined on a segment; this is a polyline (the map's "
                           "direction changes at every vertex)")
    net, pl = res.network, piecewise_linear(res.network.phi)
    layers, read = _layers(net, res.readout)
    pats = res.patterns()
    # directional derivative of the network function on every piece, layer by layer
    dx = np.repeat((res.b - res.a)[None, :], res.count, axis=0)
    off = 0
    for w, _ in layers:
        dh = dx @ w.T
        dx = pl.slopes[pats[:, off:off + w.shape[0]]] * dh
        off += w.shape[0]
    if read is not None:
        dx = dx @ read[0].T
    return _merge_equal_neighbours(dx, res.breakpoints)


def _merge_equal_neighbours(slopes, breakpoints):
    """Merge consecutive pieces whose (continuous) map has the same slope vector."""
    diff = np.abs(slopes[1:] - slopes[:-1]).max(axis=1, initial=0.0)
    size = np.maximum(np.abs(slopes[1:]).max(axis=1, initial=0.0), np.abs(slopes[:-1]).max(axis=1, initial=0.0))
    same = diff <= 1e-9 * size
    labels = np.concatenate([[0], np.cumsum(~same)])
    return LinearRegions1D(breakpoints[~same], labels)


# ------------------------------------------------------------------------------- 2D

@dataclass(frozen=True)
class PlaneSection:
    """The plane origin + s u + t v of input space, with data points' (s, t) coordinates."""

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    points_st: np.ndarray

    def box(self, margin: float = 0.5) -> tuple:
        """A box around the points, enlarged by ``margin`` times its size on each side."""
        lo, hi = self.points_st.min(axis=0), self.points_st.max(axis=0)
        span = np.maximum(hi - lo, 1e-12)
        lo, hi = lo - margin * span, hi + margin * span
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def plane_through_points(x1, x2, x3=None) -> PlaneSection:
    """The plane of HR Fig. 3 and 7(a) (origin, x1, x2) or of Fig. 7(b) (x1, x2, x3).

    With two points the plane passes through the origin and both points; with three
    it passes through the three points (origin x1).  u, v are orthonormal, so (s, t)
    areas are input-space areas.
    """
    pts = [np.asarray(p, dtype=np.float64).ravel() for p in (x1, x2) + ((x3,) if x3 is not None else ())]
    origin = np.zeros_like(pts[0]) if x3 is None else pts[0]
    span = np.stack([p - origin for p in pts[-2:]])
    q, r = np.linalg.qr(span.T)
    if abs(r[1, 1]) <= 1e-12 * abs(r[0, 0]) or abs(r[0, 0]) == 0:
        raise RegionsError("the points are collinear (with the origin, for two points): no unique plane")
    u, v = q[:, 0], q[:, 1]
    st = np.stack([[np.dot(p - origin, u), np.dot(p - origin, v)] for p in pts])
    return PlaneSection(origin, u, v, st)


@dataclass(frozen=True)
class ActivationRegions2D:
    """Exact activation regions of a network in the box of the plane origin + s u + t v.

    Attributes
    ----------
    vertices : (V, 2) array
        (s, t) vertices of all regions, counter-clockwise per region.
    offsets : (count + 1,) int array
        Region r has vertices ``vertices[offsets[r]:offsets[r+1]]``.
    edge_labels : (V,) int array
        Edge from vertex j to the next: -1 on the box, ``unit * K + k`` on the line
        where ``unit`` crosses threshold k.
    patterns : (count, n_neurons) int8
        The pattern of every region (layers 1..D concatenated).
    maps : (count, 6) array
        The network function's affine map on each region, (s, t) -> two fixed random
        projections of it (enough to tell maps apart, for linear regions).
    layer_widths : tuple of int
    n_thresholds : int
        K, the number of kinks of phi (edge labels are ``unit * K + k``).
    box : (s_min, s_max, t_min, t_max)
    origin, u, v : arrays (N0,)
        The plane.
    n_degenerate : int
        Pieces of zero area dropped.
    """

    vertices: np.ndarray
    offsets: np.ndarray
    edge_labels: np.ndarray
    patterns: np.ndarray
    maps: np.ndarray
    layer_widths: tuple
    n_thresholds: int
    box: tuple
    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    n_degenerate: int

    @property
    def count(self) -> int:
        """Number of activation regions meeting the box."""
        return len(self.offsets) - 1

    @property
    def n_neurons(self) -> int:
        return int(sum(self.layer_widths))

    def polygon(self, r: int) -> np.ndarray:
        return self.vertices[self.offsets[r]:self.offsets[r + 1]]

    @cached_property
    def areas(self) -> np.ndarray:
        """(count,) areas in (s, t) coordinates (shoelace formula)."""
        v, nxt = self._local_vertices()
        cross = v[:, 0] * v[nxt, 1] - v[nxt, 0] * v[:, 1]
        return 0.5 * np.add.reduceat(cross, self.offsets[:-1])

    def _local_vertices(self):
        """Vertices relative to their polygon's first vertex (no cancellation for tiny
        polygons far from the origin), and the index of the next vertex."""
        first = np.repeat(self.offsets[:-1], np.diff(self.offsets))
        v = self.vertices - self.vertices[first]
        nxt = np.arange(len(v)) + 1
        nxt[self.offsets[1:] - 1] = self.offsets[:-1]
        return v, nxt

    @cached_property
    def centroids(self) -> np.ndarray:
        """(count, 2) area centroids in (s, t)."""
        v, nxt = self._local_vertices()
        cross = v[:, 0] * v[nxt, 1] - v[nxt, 0] * v[:, 1]
        cx = np.add.reduceat((v[:, 0] + v[nxt, 0]) * cross, self.offsets[:-1])
        cy = np.add.reduceat((v[:, 1] + v[nxt, 1]) * cross, self.offsets[:-1])
        local = np.stack([cx, cy], axis=1) / (6.0 * self.areas[:, None])
        return local + self.vertices[self.offsets[:-1]]

    def points(self, st) -> np.ndarray:
        """Input-space points origin + s u + t v for (…, 2) coordinates."""
        st = np.asarray(st, dtype=np.float64)
        return self.origin + st[..., :1] * self.u + st[..., 1:2] * self.v

    def n_patterns(self) -> int:
        """Number of distinct patterns (equals ``count``: regions are convex, HR Lemma 1)."""
        return int(np.unique(self.patterns, axis=0).shape[0])

    def layer_of_unit(self) -> np.ndarray:
        return np.repeat(np.arange(1, len(self.layer_widths) + 1), self.layer_widths)

    @cached_property
    def linear(self) -> "LinearRegions2D":
        """Linear regions (HR Def. 2): adjacent regions with the same affine map merged."""
        return _linear_regions_2d(self)

    def meeting(self, window) -> np.ndarray:
        """(count,) bool: which regions meet the open window (s_min, s_max, t_min, t_max).

        Regions are convex, so a region misses the rectangle iff an axis or one of its
        edges separates them (separating-axis theorem); touching along a line does not
        count as meeting.
        """
        s0, s1, t0, t1 = (float(w) for w in window)
        v, starts = self.vertices, self.offsets[:-1]
        lo, hi = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
        apart = (hi[:, 0] <= s0) | (lo[:, 0] >= s1) | (hi[:, 1] <= t0) | (lo[:, 1] >= t1)
        nxt = np.arange(len(v)) + 1
        nxt[self.offsets[1:] - 1] = starts
        edge = v[nxt] - v
        corners = np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]])
        # counter-clockwise polygons: a corner right of (or on) an edge is outside the region's half-plane
        right = ((edge[:, None, 0] * (corners[None, :, 1] - v[:, None, 1])
                  - edge[:, None, 1] * (corners[None, :, 0] - v[:, None, 0])) <= 0).all(axis=1)
        return ~(apart | np.logical_or.reduceat(right, starts))

    def plot(self, ax=None, *, upto_layer: int | None = None, linear: bool = False,
             edges: bool = True, seed: int = 0, points=None):
        """Regions coloured at random, boundaries in black (HR Fig. 2, Raghu Fig. 1).

        Parameters
        ----------
        upto_layer : int, optional
            Show the regions of layers 1..upto_layer only (Raghu et al. Fig. 1 panels).
        linear : bool
            Colour by linear region instead of activation region.
        points : (n, 2) array, optional
            (s, t) points to mark (data points of a plane section).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection, PolyCollection

        if ax is None:
            fig, ax = plt.subplots(figsize=(5, 5))
        else:
            fig = ax.figure
        n_layers = len(self.layer_widths)
        upto = n_layers if upto_layer is None else int(upto_layer)
        if not 1 <= upto <= n_layers:
            raise RegionsError(f"upto_layer must be in 1..{n_layers}, got {upto_layer}")
        if linear:
            label = self.linear.labels
        else:
            n_units = int(sum(self.layer_widths[:upto]))
            _, label = np.unique(self.patterns[:, :n_units], axis=0, return_inverse=True)
        label = np.asarray(label).ravel()
        colours = np.random.default_rng(seed).uniform(0.25, 1.0, size=(label.max() + 1, 3))
        polys = [self.polygon(r) for r in range(self.count)]
        # edges in the face colour close the anti-aliasing seams between equal neighbours
        ax.add_collection(PolyCollection(polys, facecolors=colours[label], edgecolors=colours[label],
                                         linewidths=0.4))
        if edges:
            segs = self._boundary_segments(upto, linear)
            ax.add_collection(LineCollection(segs, colors="k", linewidths=0.3 if self.count < 3000 else 0.12))
        if points is not None:
            pts = np.asarray(points)
            ax.plot(pts[:, 0], pts[:, 1], "o", ms=7, mfc="k", mec="w", mew=1.5)
        s0, s1, t0, t1 = self.box
        ax.set_xlim(s0, s1)
        ax.set_ylim(t0, t1)
        ax.set_aspect("equal")
        ax.set_xlabel("s (input = origin + s u + t v)")
        ax.set_ylabel("t")
        kind = "linear" if linear else "activation"
        ax.set_title(f"{label.max() + 1} {kind} regions of layers 1..{upto} in the box")
        return fig

    def _boundary_segments(self, upto: int, linear: bool) -> np.ndarray:
        v, lab = self.vertices, self.edge_labels
        nxt = np.arange(len(v)) + 1
        nxt[self.offsets[1:] - 1] = self.offsets[:-1]
        unit = np.where(lab >= 0, lab // self.n_thresholds, -1)
        limit = int(sum(self.layer_widths[:upto]))
        show = (unit >= 0) & (unit < limit)
        if linear:
            region = np.repeat(np.arange(self.count), np.diff(self.offsets))
            show &= self._across_linear_boundary(region, unit, lab)
        return np.stack([v[show], v[nxt[show]]], axis=1)

    def _across_linear_boundary(self, region, unit, lab):
        nb = _neighbours(self, region, unit, lab)
        labels = self.linear.labels
        ok = nb >= 0
        out = np.ones(len(region), bool)
        out[ok] = labels[region[ok]] != labels[nb[ok]]
        return out


@dataclass(frozen=True)
class LinearRegions2D:
    """Linear regions: ``labels[r]`` is the linear region of activation region r."""

    labels: np.ndarray

    @property
    def count(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


def activation_regions_2d(net, origin, u, v, box, *, readout: bool = False, rtol: float = 1e-10,
                          chunk: int = 2048, progress: bool = False) -> ActivationRegions2D:
    """Exact activation regions of ``net`` in the plane origin + s u + t v, (s, t) in box.

    Layer by layer, every region of layers 1..l-1 (a convex polygon carrying the
    affine maps (s, t) -> h^l of its layer-l units) is cut by the threshold lines of
    the units of layer l (Numba kernel ``sim._regions_kernels.cut_layer``).  Regions
    are processed depth first in chunks of ``chunk`` polygons to bound memory.

    Parameters
    ----------
    net : sim.Network
        With a piecewise-linear phi (else :class:`RegionsError`).
    origin, u, v : arrays (N0,)
        The plane.  For ``N0 = 2`` and u, v the unit vectors it is the input space.
    box : (s_min, s_max, t_min, t_max)
    readout : bool
        Treat the last weight layer as a linear read-out (no neurons).
    rtol : float
        Relative tolerance for "a vertex lies on a line".
    progress : bool
        Print a progress line on stderr.
    """
    pl = piecewise_linear(net.phi)
    origin, u, v = (_point(net, p, n) for p, n in ((origin, "origin"), (u, "u"), (v, "v")))
    box = tuple(float(z) for z in box)
    if len(box) != 4 or not all(np.isfinite(box)) or box[1] <= box[0] or box[3] <= box[2]:
        raise RegionsError(f"box must be (s_min, s_max, t_min, t_max) with s_min < s_max, t_min < t_max; got {box}")
    if np.linalg.matrix_rank(np.stack([u, v]), tol=1e-12 * max(np.abs(u).max(), np.abs(v).max())) < 2:
        raise RegionsError("u and v must be linearly independent to span a plane")
    layers, read = _layers(net, readout)
    s0, s1, t0, t1 = box
    thr = np.ascontiguousarray(pl.thresholds, dtype=np.float64)
    K = max(len(thr), 1)
    widths = [w.shape[0] for w, _ in layers]
    unit_base = np.concatenate([[0], np.cumsum(widths)])
    # two fixed random read-outs: equal maps <=> equal projections, almost surely
    probe = np.random.default_rng(20190609).standard_normal(((read[0] if read else layers[-1][0]).shape[0], 2))
    out = {"v": [], "l": [], "n": [], "pat": [], "map": []}
    n_deg = [0]
    done = [0]

    def descend(level, verts, vlab, offs, H, pat):
        nv, nl, noffs, par, st, ndeg = cut_layer(verts, vlab, offs, H, thr, rtol, int(unit_base[level]))
        n_deg[0] += ndeg
        for c0 in range(0, len(par), chunk):
            c1 = min(c0 + chunk, len(par))
            sub_st = st[c0:c1]
            sub_pat = sub_st if pat is None else np.concatenate([pat[par[c0:c1]], sub_st], axis=1)
            sv = nv[noffs[c0]:noffs[c1]]
            sl = nl[noffs[c0]:noffs[c1]]
            so = noffs[c0:c1 + 1] - noffs[c0]
            if level == len(layers) - 1:
                aff = post_maps(H, par[c0:c1], sub_st, pl.slopes, pl.intercepts)
                if read is not None:
                    aff = _next_maps(aff, *read)
                fmap = (aff.reshape(-1, aff.shape[2]) @ probe).reshape(len(so) - 1, 6)
                for key, val in zip(out, (sv, sl, so[1:], sub_pat, fmap)):
                    out[key].append(val)
                done[0] += c1 - c0
                if progress:
                    print(f"\ractivation_regions_2d: {done[0]} regions", end="", file=sys.stderr, flush=True)
            else:
                w, b = layers[level + 1]
                if w.size <= _SMALL_LAYER:
                    h_next = next_maps(H, par[c0:c1], sub_st, pl.slopes, pl.intercepts, w, b)
                else:
                    h_next = _next_maps(post_maps(H, par[c0:c1], sub_st, pl.slopes, pl.intercepts), w, b)
                descend(level + 1, sv, sl, so, h_next, sub_pat)

    w1, b1 = layers[0]
    H1 = np.stack([w1 @ u, w1 @ v, w1 @ origin + b1])[None]
    verts = np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]])
    descend(0, verts, np.full(4, -1, np.int64), np.array([0, 4], np.int64), H1, None)
    if progress:
        print(file=sys.stderr)
    sizes = np.concatenate([np.diff(np.concatenate([[0], n])) for n in out["n"]]) if out["n"] else np.zeros(0, int)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return ActivationRegions2D(
        vertices=np.concatenate(out["v"]) if out["v"] else np.zeros((0, 2)),
        offsets=offsets,
        edge_labels=np.concatenate(out["l"]) if out["l"] else np.zeros(0, np.int64),
        patterns=np.concatenate(out["pat"]) if out["pat"] else np.zeros((0, sum(widths)), np.int8),
        maps=np.concatenate(out["map"]) if out["map"] else np.zeros((0, 6)),
        layer_widths=tuple(widths), n_thresholds=K, box=box, origin=origin, u=u, v=v,
        n_degenerate=n_deg[0])


_SMALL_LAYER = 48 * 48    # weight matrices up to this size: Numba loops beat a threaded BLAS call


def _next_maps(aff, w, b):
    """Affine maps of W x + b from maps of x: (P, 3, N) -> (P, 3, M)."""
    P = aff.shape[0]
    h = (aff.reshape(P * 3, aff.shape[2]) @ w.T).reshape(P, 3, w.shape[0])
    h[:, 2, :] += b
    return h


def _neighbours(res: ActivationRegions2D, region, unit, lab):
    """For every edge, the region across it (-1 on the box or if not found).

    Across an edge on unit z's threshold k only z changes state (k <-> k+1), so the
    neighbour's pattern is known; patterns are looked up by a 64-bit sum hash and
    then compared in full.
    """
    pats = res.patterns
    n, S = pats.shape[1], res.n_thresholds + 1
    keys = np.random.default_rng(1).integers(0, 2 ** 63, size=(n, S), dtype=np.uint64)
    hashes = keys[np.arange(n), pats].sum(axis=1, dtype=np.uint64)
    order = np.argsort(hashes)
    sorted_h = hashes[order]
    nb = np.full(len(region), -1, np.int64)
    e = np.flatnonzero(unit >= 0)
    if e.size == 0:
        return nb
    r, z = region[e], unit[e]
    k = lab[e] % res.n_thresholds
    s = pats[r, z].astype(np.int64)
    s_new = np.where(s == k + 1, k, k + 1)
    target = hashes[r] - keys[z, s] + keys[z, s_new]
    pos = np.searchsorted(sorted_h, target)
    pos = np.minimum(pos, len(sorted_h) - 1)
    cand = order[pos]
    hit = sorted_h[pos] == target
    want = pats[r].copy()
    want[np.arange(len(r)), z] = s_new
    hit &= np.all(pats[cand] == want, axis=1)
    nb[e[hit]] = cand[hit]
    return nb


def _linear_regions_2d(res: ActivationRegions2D) -> LinearRegions2D:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    region = np.repeat(np.arange(res.count), np.diff(res.offsets))
    unit = np.where(res.edge_labels >= 0, res.edge_labels // res.n_thresholds, -1)
    nb = _neighbours(res, region, unit, res.edge_labels)
    ok = nb >= 0
    a, b = region[ok], nb[ok]
    ma, mb = res.maps[a], res.maps[b]
    size = np.maximum(np.abs(ma).max(axis=1), np.abs(mb).max(axis=1))
    same = np.abs(ma - mb).max(axis=1) <= 1e-9 * size
    graph = coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(res.count, res.count))
    _, labels = connected_components(graph, directed=False)
    return LinearRegions2D(labels.astype(np.int64))
