"""Exact activation regions along a segment or polyline: the 1D sweep (Hanin & Rolnick 2019).

The pre-activations of layer l are piecewise linear along the line, with breakpoints
where a unit of layers < l changes state (HR Lemma 4); the sweep inserts every
threshold crossing layer by layer (kernels in ``sim.regions._line_kernels``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._line_kernels import crossing_counts, line_roots, line_states, low_rank_rows, product_rows
from .errors import RegionsError
from .piecewise import _layers, _point, piecewise_linear
from .state import Inserted, Merge


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
    network : sim.Network
        The network the regions belong to.
    readout : bool
        Whether its last weight layer was treated as a linear read-out (not neurons).
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
        """Input-space points x(t) on the segment or polyline.

        Parameters
        ----------
        t : float or array_like
            Positions in [0, 1] (vertex i of the path at i / (n - 1)).

        Returns
        -------
        numpy.ndarray of shape t.shape + (N0,)
            The points x(t).
        """
        return _along(self.path, t)

    def patterns(self) -> np.ndarray:
        """The activation pattern of every piece (HR Def. 1), built from the transitions.

        Returns
        -------
        numpy.ndarray of shape (count, n_neurons), int8
            Row j: the state of every unit (layers 1..D concatenated) on piece j.  Memory
            grows as count x n_neurons.
        """
        pats = np.full((self.count, self.n_neurons), -1, np.int8)
        pats[0] = self.initial_pattern
        pats[self.transition_index + 1, self.transition_unit] = self.transition_state
        rows = np.arange(self.count, dtype=np.int32)[:, None]
        idx = np.maximum.accumulate(np.where(pats >= 0, rows, 0), axis=0)
        return np.take_along_axis(pats, idx, axis=0)

    def transitions_per_unit(self) -> np.ndarray:
        """Number of state changes of each unit along the segment or polyline (exact).

        Returns
        -------
        numpy.ndarray of shape (n_neurons,), int
            Transitions per unit (Raghu et al. 2017's transitions, unit by unit).
        """
        return np.bincount(self.transition_unit, minlength=self.n_neurons)

    @property
    def n_transitions(self) -> int:
        """Total number of state changes (Raghu et al.'s transitions, summed over units)."""
        return int(self.transition_unit.size)

    def n_patterns(self) -> int:
        """Number of distinct activation patterns met.

        Returns
        -------
        int
            Equal to ``count`` on a segment, since activation regions are convex; a
            polyline may return to a region, so there it can be smaller.
        """
        return int(np.unique(self.patterns(), axis=0).shape[0])

    @cached_property
    def linear(self) -> LinearRegions1D:
        """Linear regions (HR Def. 2): neighbouring pieces with the same affine map merged."""
        return _linear_regions_1d(self)


@dataclass(frozen=True)
class LinearRegions1D:
    """Linear regions on a segment (Hanin & Rolnick 2019, Def. 2).

    Attributes
    ----------
    breakpoints : numpy.ndarray
        Sorted t in (0, 1) where the network's slope along the segment changes.
    labels : numpy.ndarray of int
        For each activation-region piece, the index of the linear region holding it.
    """

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

    Returns
    -------
    ActivationRegions1D
        The breakpoints and the state changes at each, with the pattern of the first piece.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear, ``a`` or ``b`` is not a finite point of R^N0,
        ``a == b``, ``method`` is unknown, or ``readout=True`` with a one-layer network.
    """
    a, b = _point(net, a, "a"), _point(net, b, "b")
    return activation_regions_path(net, np.stack([a, b]), readout=readout, rtol=rtol, method=method)


def activation_regions_path(net, path, *, readout: bool = False, rtol: float = 1e-9,
                            method: str = "low_rank") -> ActivationRegions1D:
    """Exact activation regions along the polyline through the rows of ``path`` (n, N0).

    The input is linear between vertices, so the sweep of :func:`activation_regions_1d`
    applies unchanged with the vertices as its first breakpoints (vertex i at
    t = i / (n - 1)); pieces are split only where a unit changes state.

    Parameters
    ----------
    net : sim.Network
        With a piecewise-linear phi.
    path : array_like of shape (n, N0)
        The vertices, n >= 2, finite, no two consecutive equal.
    readout : bool
        Treat the last weight layer as a linear read-out (its units are not neurons).
    rtol : float
        Relative tolerance for "h equals a threshold".
    method : {"low_rank", "dense"}
        As for :func:`activation_regions_1d`.

    Returns
    -------
    ActivationRegions1D
        The regions along the polyline (``path`` holds its vertices).

    Raises
    ------
    RegionsError
        If phi is not piecewise linear, ``path`` is not (n >= 2, N0) finite points or
        has a repeated consecutive point, ``method`` is unknown, or ``readout=True`` with
        a one-layer network.
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
    inserted = Inserted.none(t.size)        # points the previous layer inserted (none)
    buffers = _Buffers()
    n_degenerate = 0
    widths = []
    pos, units, states = [], [], []     # transitions at t positions (by value)
    first = []
    offset = 0
    phi = pl.pieces
    thr = phi.thresholds
    for l, (w, bias) in enumerate(layers):
        scale = np.sqrt(np.einsum("ij,ij->i", w, w)) * x_norm + np.abs(bias)   # size of the terms of h
        h_prev, h = h, buffers.get(f"h{l % 2}", (x.shape[0], w.shape[0]))
        if method == "dense":
            inserted = Inserted.none(x.shape[0])
        _preactivations(x, h_prev, w, bias, inserted, thr, scale, out=h)
        merge = _insert_roots(t, h, phys, thr, rtol * (scale[:, None] + np.abs(thr)[None, :]))
        t, inserted = merge.t, merge.inserted
        n_degenerate += merge.n_merged
        x = buffers.get("x", (t.size, w.shape[0]))
        layer = line_states(h, phys, merge, phi, x, buffers.get("st", (t.size, w.shape[0]), np.int8))
        x_norm = layer.max_norm
        phys = merge.dest                   # the next layer's h has the rows of x
        first.append(layer.first)
        pos.append(t[layer.pos])
        units.append(layer.unit + offset)
        states.append(layer.state)
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


def _insert_roots(t, h, phys, thresholds, tol) -> Merge:
    """The threshold crossings of the columns of h (linear between the t's), merged into t.

    Old points keep their numbers (t order), new ones follow them (``line_states``
    builds the rows); ``Merge.inserted`` describes rows n, n + 1, ... of x (the new
    points) for the next layer, with the rows of x and of h either side of each.
    """
    roots = line_roots(t, h, phys, thresholds, tol)
    n = t.size
    if roots.t.size == 0:
        return Merge(t, np.arange(n), np.arange(n), roots, Inserted.none(n), 0)
    t_all = np.concatenate([t, roots.t])
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
    j = roots.j[src[new] - n]
    inserted = Inserted(n, j, j + 1, phys[j], phys[j + 1], roots.tau[src[new] - n])
    return Merge(t_all[keep], src, dest, roots, inserted, int(np.count_nonzero(~keep)))


def _preactivations(x, h_prev, w, bias, inserted: Inserted, thresholds, scale, out):
    """out = W x + b at every row of x: a product for rows 0..n-1 (the points that
    existed before the previous layer's crossings were inserted), rank-|I| updates
    (``low_rank_rows``) for the inserted rows n, n + 1, ...

    An update costs one column of W per crossing unit; where more than N_in / 8 units
    cross, the (BLAS) product is cheaper and is used.  A few updated rows are also
    computed by the product; if any differs by more than rounding (relative to
    ``scale``, the size of the terms of h) the layer falls back to products at every
    row.
    """
    n = inserted.first
    np.matmul(x[:n], w.T, out=out[:n])
    out[:n] += bias
    if n == x.shape[0]:
        return
    rows = np.arange(n, x.shape[0])
    update = crossing_counts(inserted.prev_left, inserted.prev_right, h_prev, thresholds) <= w.shape[1] // 8
    if not np.all(update):
        by_product = rows[~update]
        out[by_product] = x[by_product] @ w.T + bias
    up = rows[update]
    if up.size == 0:
        return
    low_rank_rows(out, up, inserted.select(update), h_prev, x, thresholds, np.ascontiguousarray(w.T))
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

