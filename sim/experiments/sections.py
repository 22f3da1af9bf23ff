"""Activation regions in a whole plane or on a whole line, not in a box (Hanin & Rolnick 2019, Figs. 3-4).

HR count "the number of regions in the (infinite) plane passing through the origin
and two random training examples" (Fig. 3) and along lines through the origin and a
training example (Fig. 4).  A single box cannot do this in float64: regions live on
every scale from the biases' (HR Lemma 6) to far out where nearly parallel
boundaries meet, and the exact counter's tolerance is relative to the box, so a box
large enough to hold every vertex merges the small regions near the origin (a box
1e9 times the data scale loses about a tenth of them).

So the plane is tiled by a small central square and square annuli growing by a
factor ``ratio``, each annulus cut into four rectangles, each counted exactly by
``sim.activation_regions_2d`` at its own scale.  Activation regions are convex (HR
Lemma 1), so a region's intersection with the plane is connected and carries one
activation pattern: the regions of the whole plane are the *distinct patterns* met
in the tiles, however the tiles cut them.  Annuli are added at least up to
``r_reach`` (beyond the data, where every region HR draw lies; near the origin one
region can span several annuli that add nothing) and then until two in a row add no
new pattern (the rest are unbounded regions already met), up to ``max_annuli``;
lines are handled the same way with segments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimError
from ..regions import activation_regions_1d, activation_regions_2d


class SectionError(SimError):
    """The regions of a whole plane or line cannot be counted as asked."""


@dataclass(frozen=True)
class SectionCount:
    """Regions met by a whole plane or line.

    Attributes
    ----------
    count : int
        Distinct activation patterns met = activation regions meeting the plane / line.
    r_min, r_max : float
        Half-width of the central tile and of the outermost annulus counted.
    n_tiles : int
        Exact counts run.
    converged : bool
        True when the last two annuli added no pattern (False: ``max_annuli`` reached,
        the count is a lower bound).
    """

    count: int
    r_min: float
    r_max: float
    n_tiles: int
    converged: bool


def _rects(r0: float, r1: float):
    """The square annulus r0 < max(|s|, |t|) < r1 as four rectangles."""
    return [(-r1, r1, r0, r1), (-r1, r1, -r1, -r0), (-r1, -r0, -r0, r0), (r0, r1, -r0, r0)]


def _check(r_min, r_reach, ratio, max_annuli):
    if not (np.isfinite(r_min) and r_min > 0):
        raise SectionError(f"r_min must be a positive length, got {r_min}")
    if r_reach is not None and not (np.isfinite(r_reach) and r_reach > r_min):
        raise SectionError(f"r_reach must be a length > r_min = {r_min}, got {r_reach}")
    if not ratio > 1:
        raise SectionError(f"ratio must be > 1, got {ratio}")
    if int(max_annuli) < 2:
        raise SectionError(f"max_annuli must be at least 2, got {max_annuli}")


def _grow(patterns_in, centre, annulus, *, r_min, reach, ratio, max_annuli) -> SectionCount:
    """Count distinct patterns over the central tile and annuli growing by ``ratio``.

    ``patterns_in(tile)`` gives the patterns met in one tile; ``centre(r)`` is the central
    tile and ``annulus(r0, r1)`` the tiles between r0 and r1.  Stops when two annuli in a row
    add no pattern once ``reach`` is passed (``converged``), or after ``max_annuli``.
    """
    seen = set()

    def add(tile):
        before = len(seen)
        seen.update(p.tobytes() for p in patterns_in(tile))
        return len(seen) - before

    r = float(r_min)
    add(centre(r))
    tiles, quiet, converged = 1, 0, False
    for _ in range(int(max_annuli)):
        ring = annulus(r, r * ratio)
        new = sum(add(tile) for tile in ring)
        tiles += len(ring)
        r *= ratio
        quiet = quiet + 1 if new == 0 else 0
        if quiet >= 2 and r >= reach:
            converged = True
            break
    return SectionCount(len(seen), float(r_min), r, tiles, converged)


def plane_regions(net, origin, u, v, *, r_min: float, r_reach: float | None = None, ratio: float = 8.0,
                  max_annuli: int = 40, readout: bool = True) -> SectionCount:
    """Activation regions of ``net`` met by the whole plane origin + s u + t v.

    Parameters
    ----------
    net : sim.Network
        Piecewise-linear phi.
    origin, u, v : arrays (N0,)
        The plane (``sim.plane_through_points`` gives orthonormal u, v).
    r_min : float
        Half-width of the central square, in (s, t) units; choose it at or below the
        smallest scale of interest (e.g. 1e-3 of the data's norm): finer structure
        inside it is still counted exactly at that square's resolution.
    r_reach : float, optional
        Annuli reach at least this far before the stopping rule applies (default
        1e4 r_min; choose several times the data's norm).
    ratio : float
        Growth factor of the annuli (8: each tile spans one order of magnitude).
    max_annuli : int
        Give up growing after this many annuli (``converged`` is then False).
    readout : bool
        The last weight layer is a linear read-out whose units are not neurons (HR).

    Returns
    -------
    SectionCount
        The number of distinct activation patterns met, the radii covered, the number of
        exact counts run and whether the stopping rule was met.

    Raises
    ------
    SectionError
        If ``r_min`` is not a positive finite length, ``r_reach`` is not a finite length
        > ``r_min``, ``ratio <= 1`` or ``max_annuli < 2``.
    """
    _check(r_min, r_reach, ratio, max_annuli)
    reach = 1e4 * r_min if r_reach is None else float(r_reach)
    return _grow(lambda box: activation_regions_2d(net, origin, u, v, box, readout=readout).patterns,
                 lambda r: (-r, r, -r, r), _rects, r_min=r_min, reach=reach, ratio=ratio, max_annuli=max_annuli)


def line_regions(net, origin, direction, *, r_min: float, r_reach: float | None = None, ratio: float = 8.0,
                 max_annuli: int = 40, readout: bool = True) -> SectionCount:
    """Activation regions of ``net`` met by the whole line origin + t direction (t real).

    Same tiling as :func:`plane_regions` with segments: [-r_min, r_min] and then
    r < |t| < ratio r on both sides; ``direction`` is normalised first, so t is
    input-space distance.  HR Fig. 4 counts regions on lines through the origin and a
    training example; HR Theorem 5 predicts about #neurons of them.

    Parameters
    ----------
    net : sim.Network
        Piecewise-linear phi.
    origin : array of shape (N0,)
        A point of the line (t = 0).
    direction : array of shape (N0,)
        Nonzero direction of the line (normalised here).
    r_min : float
        Half-length of the central segment, in input-space distance.
    r_reach : float, optional
        Segments reach at least this far before the stopping rule applies (default 1e4 r_min).
    ratio : float
        Growth factor of the segments.
    max_annuli : int
        Give up growing after this many pairs of segments (``converged`` is then False).
    readout : bool
        The last weight layer is a linear read-out whose units are not neurons (HR).

    Returns
    -------
    SectionCount
        The number of distinct activation patterns met, the radii covered, the number of
        exact counts run and whether the stopping rule was met.

    Raises
    ------
    SectionError
        If ``direction`` is zero, or ``r_min``, ``r_reach``, ``ratio`` or ``max_annuli`` is
        out of range (see :func:`plane_regions`).
    """
    _check(r_min, r_reach, ratio, max_annuli)
    reach = 1e4 * r_min if r_reach is None else float(r_reach)
    origin = np.asarray(origin, dtype=np.float64).ravel()
    d = np.asarray(direction, dtype=np.float64).ravel()
    norm = np.linalg.norm(d)
    if not norm > 0:
        raise SectionError("the line's direction must be a nonzero vector")
    d = d / norm
    return _grow(lambda seg: activation_regions_1d(net, origin + seg[0] * d, origin + seg[1] * d,
                                                   readout=readout).patterns(),
                 lambda r: (-r, r), lambda r0, r1: [(r0, r1), (-r1, -r0)],
                 r_min=r_min, reach=reach, ratio=ratio, max_annuli=max_annuli)
