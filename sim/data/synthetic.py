"""Random 2D points with independent random binary labels (Hanin & Rolnick 2019, Figs. 5-6)."""
from __future__ import annotations

import numbers
from enum import Enum

import numpy as np

from ..errors import SimError
from .dataset import Dataset


class PointDistribution(str, Enum):
    """Where the random points are drawn from."""

    NORMAL = "normal"      # standard Gaussian in R^2
    UNIFORM = "uniform"    # uniform on the square [-1, 1]^2


def _count(name: str, value, least: int) -> int:
    # a float such as 10.0 would pass int() and then fail as a slice index: integers only
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise SimError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def random_points_2d(n_points: int, seed, *, distribution: PointDistribution | str = PointDistribution.NORMAL,
                     n_test: int = 0, dtype=np.float32) -> Dataset:
    """``n_points`` memorization points in 2D with labels 0/1 drawn independently with probability 1/2.

    The test part (``n_test`` further points from the same seed) has labels that are
    independent of the training labels: test accuracy is chance by construction.
    Points and labels are a function of ``seed`` alone.

    Parameters
    ----------
    n_points : int
        Number of training points, >= 1.
    seed : int or numpy.random.Generator
        Draws the points and labels.
    distribution : PointDistribution or str
        "normal" (standard Gaussian in R^2, default) or "uniform" (the square [-1, 1]^2).
    n_test : int
        Number of test points, >= 0.
    dtype : numpy dtype
        Type of the coordinates (float32 by default).

    Returns
    -------
    Dataset
        ``name`` "random-2d", points of shape (n, 2), int64 labels in {0, 1}, ``n_classes`` 2.

    Raises
    ------
    SimError
        If ``n_points`` is not an integer >= 1, ``n_test`` not an integer >= 0, or
        ``distribution`` not a known :class:`PointDistribution`.
    """
    n_points, n_test = _count("n_points", n_points, 1), _count("n_test", n_test, 0)
    try:
        distribution = PointDistribution(distribution)
    except ValueError:
        choices = ", ".join(repr(d.value) for d in PointDistribution)
        raise SimError(f"unknown distribution {distribution!r}: choose one of {choices}") from None
    rng = np.random.default_rng(seed)
    n = n_points + n_test
    if distribution is PointDistribution.NORMAL:
        x = rng.standard_normal((n, 2))
    else:
        x = rng.uniform(-1.0, 1.0, (n, 2))
    y = rng.integers(0, 2, size=n).astype(np.int64)
    x = x.astype(dtype)
    return Dataset("random-2d", x[:n_points], y[:n_points], x[n_points:], y[n_points:], 2)
