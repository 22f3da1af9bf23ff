"""The named state that crosses between the region counters and their Numba kernels.

Numba compiles NamedTuples of arrays, so kernels take and return these instead of
long positional argument lists and 6-tuples.  Every field is a NumPy array or an int.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PhiPieces(NamedTuple):
    """phi(h) = slopes[s] h + intercepts[s] on piece s, the pieces split at ``thresholds`` (float64)."""

    thresholds: np.ndarray      # (K,)
    slopes: np.ndarray          # (K + 1,)
    intercepts: np.ndarray      # (K + 1,)


# ------------------------------------------------------------------------------ plane

class Polygons(NamedTuple):
    """Convex polygons stored flat.

    ``vertices[offsets[p]:offsets[p + 1]]`` are the counter-clockwise (s, t) vertices of
    polygon p; ``labels[j]`` labels the edge from vertex j to the next: -1 on the box,
    ``unit * K + k`` on the line where global unit ``unit`` crosses threshold k.
    """

    vertices: np.ndarray        # (V, 2) float64
    labels: np.ndarray          # (V,) int64
    offsets: np.ndarray         # (P + 1,) int64


class Cut(NamedTuple):
    """The pieces of polygons cut by the threshold lines of one layer (``cut_layer``)."""

    pieces: Polygons
    parent: np.ndarray          # (Q,) the polygon each piece came from
    states: np.ndarray          # (Q, N) int8: thresholds each unit of the layer exceeds on the piece
    n_degenerate: int           # pieces of zero area dropped


# ------------------------------------------------------------------------------- line

class Roots(NamedTuple):
    """Threshold crossings between consecutive sweep points j and j + 1 (``line_roots``)."""

    t: np.ndarray               # (m,) t* = t[j] + tau (t[j + 1] - t[j])
    j: np.ndarray               # (m,) int64
    tau: np.ndarray             # (m,)


class Inserted(NamedTuple):
    """Rows ``first``, ``first + 1``, ... of a layer's x: points inserted between two known ones.

    Inserted row r lies at fraction ``tau`` between rows ``left`` and ``right`` of x (and of
    the next layer's h), and between rows ``prev_left`` and ``prev_right`` of the layer's h.
    """

    first: int
    left: np.ndarray            # int64
    right: np.ndarray           # int64
    prev_left: np.ndarray       # int64
    prev_right: np.ndarray      # int64
    tau: np.ndarray             # float64

    @classmethod
    def none(cls, n: int) -> Inserted:
        """No inserted rows after the first n.

        Parameters
        ----------
        n : int
            Number of rows of x, all of them known points (``first = n``).

        Returns
        -------
        Inserted
            With empty index and fraction arrays.
        """
        empty = np.zeros(0, np.int64)
        return cls(int(n), empty, empty, empty, empty, np.zeros(0))

    def select(self, keep: np.ndarray) -> Inserted:
        """The inserted rows where ``keep`` is true.

        Parameters
        ----------
        keep : numpy.ndarray of bool
            One flag per inserted row.

        Returns
        -------
        Inserted
            Same ``first``, with the arrays restricted to the kept rows.
        """
        return Inserted(self.first, self.left[keep], self.right[keep], self.prev_left[keep],
                        self.prev_right[keep], self.tau[keep])


class Merge(NamedTuple):
    """The sweep points after a layer's crossings are merged in (``_insert_roots``).

    Merged point p is old point ``src[p]`` if ``src[p] < n``, else new point
    q = src[p] - n at fraction ``roots.tau[q]`` between old points ``roots.j[q]`` and
    ``roots.j[q] + 1``; it goes to row ``dest[p]`` of x.
    """

    t: np.ndarray               # merged t, sorted
    src: np.ndarray             # int64
    dest: np.ndarray            # int64
    roots: Roots
    inserted: Inserted          # the new rows, for the next layer
    n_merged: int               # crossings dropped as coincident with another point


class LineStates(NamedTuple):
    """States of one layer's units along the sweep (``line_states``)."""

    first: np.ndarray           # (N,) int8: states on piece 0
    pos: np.ndarray             # (r,) int64: unit ``unit[i]`` takes state ``state[i]`` at point ``pos[i]``
    unit: np.ndarray            # (r,) int64
    state: np.ndarray           # (r,) int8
    max_norm: float             # largest Euclidean norm of a row of x = phi(h)
