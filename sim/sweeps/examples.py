"""Small importable task functions: templates for your own tasks, and the engine's tests and benchmark.

Each takes its parameters as keywords plus ``seed`` (derived by the engine from the
parameters) and returns a dict of scalars and numpy arrays.
"""
from __future__ import annotations

import time

import numpy as np


def gaussian_moments(n: int, scale: float = 1.0, *, seed: int) -> dict:
    """Moments of ``n`` draws of N(0, scale^2) from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n : int
        Number of draws.
    scale : float
        Standard deviation of the normal distribution.
    seed : int
        Seed of ``numpy.random.default_rng`` (derived by the engine).

    Returns
    -------
    dict
        ``mean`` (float, sample mean), ``mean_square`` (float, sample mean of x^2, about
        ``scale**2``) and ``head`` (numpy.ndarray, the first five draws).
    """
    x = scale * np.random.default_rng(seed).standard_normal(int(n))
    return {"mean": float(x.mean()), "mean_square": float(np.mean(x * x)), "head": x[:5].copy()}


def slow_square(x: float, delay: float = 0.2, *, seed: int) -> dict:
    """x^2 after sleeping ``delay`` seconds, and one uniform draw from the task's seed.

    Parameters
    ----------
    x : float
        The number to square.
    delay : float
        Seconds to sleep first (to make the task slow).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``square`` (float, x^2) and ``draw`` (float, uniform in [0, 1) from ``seed``).
    """
    time.sleep(float(delay))
    return {"square": float(x) ** 2, "draw": float(np.random.default_rng(seed).random())}


def fail_when(x: int, bad: int = -1, *, seed: int) -> dict:
    """x + 1, except that x == bad raises ``ValueError`` (to test failure records).

    Parameters
    ----------
    x : int
        The input.
    bad : int
        The value of ``x`` that fails.
    seed : int
        Unused (taken so that the engine passes the derived seed).

    Returns
    -------
    dict
        ``y`` (int, x + 1).

    Raises
    ------
    ValueError
        If ``x == bad``.
    """
    if x == bad:
        raise ValueError(f"x = {x} is the bad value")
    return {"y": x + 1}


def spin(work: int, replicate: int = 0) -> dict:
    """CPU-bound pure-Python loop of ``work`` iterations (the benchmark's task; no seed needed).

    Parameters
    ----------
    work : int
        Number of iterations of a linear congruential update.
    replicate : int
        Repetition number (only makes repeated tasks distinct; unused).

    Returns
    -------
    dict
        ``acc`` (int, the final state of the update, a deterministic function of ``work``).
    """
    acc = 0
    for i in range(int(work)):
        acc = (acc * 1103515245 + i) % 2147483648
    return {"acc": acc}


def exit_when(x: int, bad: int = -1) -> dict:
    """x + 1, except that x == bad ends the process at once (``os._exit``), as a crashing worker does.

    For testing lost workers only: in-process (``workers=0``) it ends the driver.

    Parameters
    ----------
    x : int
        The input.
    bad : int
        The value of ``x`` that ends the process (exit status 3).

    Returns
    -------
    dict
        ``y`` (int, x + 1), when ``x != bad``.
    """
    if x == bad:
        import os

        os._exit(3)
    return {"y": x + 1}
