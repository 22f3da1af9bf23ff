"""Whether the networks of a validation fit in memory, checked before any is drawn."""
from __future__ import annotations

import os

from .errors import TooLargeError


def memory_estimate(width: int, depth: int, n_points: int) -> int:
    """Bytes ``validate`` needs at peak.

    One network's D float64 weight matrices N x N (plus the one being drawn) and the
    stacked position/velocity/acceleration arrays.

    Parameters
    ----------
    width : int
        N, the width of every layer.
    depth : int
        D, the number of layers.
    n_points : int
        Samples of the input circle.

    Returns
    -------
    int
        The estimate in bytes.
    """
    width, depth, n_points = int(width), int(depth), int(n_points)
    return 8 * ((depth + 1) * width * width + (depth + 1) * width + 12 * 3 * n_points * width)


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else physical memory).

    Returns
    -------
    int
        Bytes; 2^63 when neither can be read (no limit).
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2 ** 63


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def check_memory(width: int, depth: int, n_points: int, limit: int | None = None, *,
                 names=("width", "depth")) -> int:
    """Check :func:`memory_estimate` against a limit before any network is drawn.

    Parameters
    ----------
    width : int
        N, the width of every layer.
    depth : int
        D, the number of layers.
    n_points : int
        Samples of the input circle.
    limit : int, optional
        Bytes allowed (default: :func:`available_memory` now).
    names : tuple of str
        How the width and depth are called in the message (e.g. CLI option names).

    Returns
    -------
    int
        The estimate in bytes, when it fits.

    Raises
    ------
    TooLargeError
        If the estimate exceeds ``limit``.
    """
    need = memory_estimate(width, depth, n_points)
    limit = available_memory() if limit is None else int(limit)
    if need > limit:
        raise TooLargeError(f"{names[0]} {width} and {names[1]} {depth} need about {_gb(need)} of memory "
                            f"({depth} weight matrices of {width} x {width} float64 and one being drawn), more than "
                            f"the {_gb(limit)} available; lower {names[0]} or {names[1]}")
    return need

