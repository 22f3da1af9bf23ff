"""Exact activation regions in a plane section of input space: polygon cutting (Hanin & Rolnick 2019).

Inside a region of layers 1..l-1 the pre-activations of layer l are affine in the plane
coordinates (s, t) (HR Lemma 4), so the region is cut by straight threshold lines
(kernels in ``sim.regions._plane_kernels``).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._plane_kernels import cut_layer, next_maps, post_maps
from .errors import RegionsError
from .piecewise import _layers, _point, piecewise_linear
from .state import PhiPieces, Polygons


@dataclass(frozen=True)
class PlaneSection:
    """The plane origin + s u + t v of input space, with data points' (s, t) coordinates.

    Attributes
    ----------
    origin : numpy.ndarray of shape (N0,)
        The point at (s, t) = (0, 0).
    u, v : numpy.ndarray of shape (N0,)
        Orthonormal directions of the plane.
    points_st : numpy.ndarray of shape (k, 2)
        (s, t) coordinates of the points the plane was built from.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    points_st: np.ndarray

    def box(self, margin: float = 0.5) -> tuple:
        """A box around the points, enlarged by ``margin`` times its size on each side.

        Parameters
        ----------
        margin : float
            Fraction of the points' extent added on each side, per axis.

        Returns
        -------
        tuple of float
            (s_min, s_max, t_min, t_max), as :func:`activation_regions_2d` takes it.
        """
        lo, hi = self.points_st.min(axis=0), self.points_st.max(axis=0)
        span = np.maximum(hi - lo, 1e-12)
        lo, hi = lo - margin * span, hi + margin * span
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def plane_through_points(x1, x2, x3=None) -> PlaneSection:
    """The plane of HR Fig. 3 and 7(a) (origin, x1, x2) or of Fig. 7(b) (x1, x2, x3).

    With two points the plane passes through the origin and both points; with three
    it passes through the three points (origin x1).  u, v are orthonormal, so (s, t)
    areas are input-space areas.

    Parameters
    ----------
    x1, x2 : array_like
        Input points (flattened), of the same size N0.
    x3 : array_like, optional
        A third point; then the plane's origin is x1.

    Returns
    -------
    PlaneSection
        The plane, with the (s, t) coordinates of the given points.

    Raises
    ------
    RegionsError
        If the points are collinear (with the origin, for two points).
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
        Units per neuron layer (the pattern is their concatenation).
    n_thresholds : int
        K, the number of kinks of phi (edge labels are ``unit * K + k``).
    box : tuple of float
        (s_min, s_max, t_min, t_max).
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
        """The vertices of region r.

        Parameters
        ----------
        r : int
            Region index, in 0..count-1.

        Returns
        -------
        numpy.ndarray of shape (k, 2)
            (s, t) vertices, counter-clockwise.
        """
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
        """Input-space points origin + s u + t v.

        Parameters
        ----------
        st : array_like of shape (..., 2)
            (s, t) plane coordinates.

        Returns
        -------
        numpy.ndarray of shape (..., N0)
            The points of input space.
        """
        st = np.asarray(st, dtype=np.float64)
        return self.origin + st[..., :1] * self.u + st[..., 1:2] * self.v

    def n_patterns(self) -> int:
        """Number of distinct activation patterns of the regions.

        Returns
        -------
        int
            Equals ``count``, since activation regions are convex (Hanin & Rolnick 2019,
            Lemma 1); a smaller value would flag a region split in two.
        """
        return int(np.unique(self.patterns, axis=0).shape[0])

    def layer_of_unit(self) -> np.ndarray:
        """The layer of every unit, in the order of the pattern columns.

        Returns
        -------
        numpy.ndarray of shape (n_neurons,), int
            Layer index 1..D of each unit.
        """
        return np.repeat(np.arange(1, len(self.layer_widths) + 1), self.layer_widths)

    @cached_property
    def linear(self) -> LinearRegions2D:
        """Linear regions (HR Def. 2): adjacent regions with the same affine map merged."""
        return _linear_regions_2d(self)

    def meeting(self, window) -> np.ndarray:
        """Which regions meet an open rectangle of the plane.

        Regions are convex, so a region misses the rectangle iff an axis or one of its
        edges separates them (separating-axis theorem); touching along a line does not
        count as meeting.

        Parameters
        ----------
        window : sequence of 4 float
            (s_min, s_max, t_min, t_max) of the open rectangle.

        Returns
        -------
        numpy.ndarray of shape (count,), bool
            True for the regions that meet it.
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
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        upto_layer : int, optional
            Show the regions of layers 1..upto_layer only (Raghu et al. Fig. 1 panels).
        linear : bool
            Colour by linear region instead of activation region.
        edges : bool
            Draw the region boundaries.
        seed : int
            Seeds the random colours.
        points : (n, 2) array, optional
            (s, t) points to mark (data points of a plane section).

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding ``ax``.

        Raises
        ------
        RegionsError
            If ``upto_layer`` is not in 1..D.
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
    """Linear regions in a plane section (Hanin & Rolnick 2019, Def. 2).

    Attributes
    ----------
    labels : numpy.ndarray of int
        ``labels[r]`` is the linear region of activation region r.
    """

    labels: np.ndarray

    @property
    def count(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


def activation_regions_2d(net, origin, u, v, box, *, readout: bool = False, rtol: float = 1e-10,
                          chunk: int = 2048, progress: bool = False) -> ActivationRegions2D:
    """Exact activation regions of ``net`` in the plane origin + s u + t v, (s, t) in box.

    Layer by layer, every region of layers 1..l-1 (a convex polygon carrying the
    affine maps (s, t) -> h^l of its layer-l units) is cut by the threshold lines of
    the units of layer l (Numba kernel ``sim.regions._plane_kernels.cut_layer``).  Regions
    are processed depth first in chunks of ``chunk`` polygons to bound memory.

    Parameters
    ----------
    net : sim.Network
        With a piecewise-linear phi (else :class:`RegionsError`).
    origin, u, v : arrays (N0,)
        The plane.  For ``N0 = 2`` and u, v the unit vectors it is the input space.
    box : tuple of float
        (s_min, s_max, t_min, t_max), with s_min < s_max and t_min < t_max.
    readout : bool
        Treat the last weight layer as a linear read-out (no neurons).
    rtol : float
        Relative tolerance for "a vertex lies on a line".
    chunk : int
        Polygons cut together per step (bounds memory).
    progress : bool
        Print a progress line on stderr.

    Returns
    -------
    ActivationRegions2D
        Every region meeting the box, as a polygon with its pattern and affine map.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear, origin, u or v is not a finite point of R^N0,
        the box is malformed, u and v are linearly dependent, or ``readout=True`` with
        a one-layer network.
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
    cutter = _PlaneCutter(layers, read, pl.pieces, rtol, int(chunk), progress)
    w1, b1 = layers[0]
    maps1 = np.stack([w1 @ u, w1 @ v, w1 @ origin + b1])[None]
    square = Polygons(np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]]), np.full(4, -1, np.int64),
                      np.array([0, 4], np.int64))
    cutter.descend(0, square, maps1, None)
    if progress:
        print(file=sys.stderr)
    found = cutter.found
    sizes = (np.concatenate([np.diff(np.concatenate([[0], n])) for n in found["n"]]) if found["n"]
             else np.zeros(0, int))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return ActivationRegions2D(
        vertices=np.concatenate(found["v"]) if found["v"] else np.zeros((0, 2)),
        offsets=offsets,
        edge_labels=np.concatenate(found["l"]) if found["l"] else np.zeros(0, np.int64),
        patterns=np.concatenate(found["pat"]) if found["pat"] else np.zeros((0, sum(cutter.widths)), np.int8),
        maps=np.concatenate(found["map"]) if found["map"] else np.zeros((0, 6)),
        layer_widths=tuple(cutter.widths), n_thresholds=max(len(pl.thresholds), 1), box=box, origin=origin, u=u,
        v=v, n_degenerate=cutter.n_degenerate)


class _PlaneCutter:
    """The depth-first cut of a box, layer by layer, and what it has found so far.

    ``descend`` cuts polygons (``Polygons``) carrying the affine maps of one layer's
    pre-activations by that layer's threshold lines, then passes the pieces, chunk by
    chunk, to the next layer; pieces of the last layer are collected in ``found``
    (vertices, labels, offsets, patterns, maps), pieces of zero area are counted in
    ``n_degenerate``.
    """

    def __init__(self, layers, read, phi: PhiPieces, rtol: float, chunk: int, progress: bool):
        self.layers, self.read, self.phi, self.rtol = layers, read, phi, rtol
        self.chunk, self.progress = chunk, progress
        self.widths = [w.shape[0] for w, _ in layers]
        self.unit_base = np.concatenate([[0], np.cumsum(self.widths)])
        # two fixed random read-outs: equal maps <=> equal projections, almost surely
        out_width = (read[0] if read else layers[-1][0]).shape[0]
        self.probe = np.random.default_rng(20190609).standard_normal((out_width, 2))
        self.found = {"v": [], "l": [], "n": [], "pat": [], "map": []}
        self.n_degenerate = 0
        self.n_found = 0

    def descend(self, level: int, polygons: Polygons, maps, patterns):
        """Cut ``polygons`` by layer ``level`` (0-based); ``maps[p, :, i]`` is unit i's affine map on polygon p
        and ``patterns`` the states of layers before ``level`` (None at level 0)."""
        cut = cut_layer(polygons, maps, self.phi.thresholds, self.rtol, int(self.unit_base[level]))
        self.n_degenerate += cut.n_degenerate
        pieces, parent, states = cut.pieces, cut.parent, cut.states
        for c0 in range(0, len(parent), self.chunk):
            c1 = min(c0 + self.chunk, len(parent))
            sub_states = states[c0:c1]
            sub_patterns = (sub_states if patterns is None
                            else np.concatenate([patterns[parent[c0:c1]], sub_states], axis=1))
            v0, v1 = pieces.offsets[c0], pieces.offsets[c1]
            chunk = Polygons(pieces.vertices[v0:v1], pieces.labels[v0:v1], pieces.offsets[c0:c1 + 1] - v0)
            if level == len(self.layers) - 1:
                self._collect(maps, parent[c0:c1], sub_states, chunk, sub_patterns)
            else:
                w, b = self.layers[level + 1]
                if w.size <= _SMALL_LAYER:
                    maps_next = next_maps(maps, parent[c0:c1], sub_states, self.phi, w, b)
                else:
                    maps_next = _next_maps(post_maps(maps, parent[c0:c1], sub_states, self.phi), w, b)
                self.descend(level + 1, chunk, maps_next, sub_patterns)

    def _collect(self, maps, parent, states, chunk: Polygons, patterns):
        aff = post_maps(maps, parent, states, self.phi)
        if self.read is not None:
            aff = _next_maps(aff, *self.read)
        fmap = (aff.reshape(-1, aff.shape[2]) @ self.probe).reshape(len(chunk.offsets) - 1, 6)
        for key, val in zip(self.found, (chunk.vertices, chunk.labels, chunk.offsets[1:], patterns, fmap)):
            self.found[key].append(val)
        self.n_found += len(parent)
        if self.progress:
            print(f"\ractivation_regions_2d: {self.n_found} regions", end="", file=sys.stderr, flush=True)


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
