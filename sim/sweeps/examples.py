"""Small importable task functions: templates for your own tasks, and the engine's tests and benchmark.

Each takes its parameters as keywords plus ``seed`` (derived by the engine from the
parameters) and returns a dict of scalars and numpy arrays.
"""
from __future__ import annotations

import time

import numpy as np


def gaussian_moments(n: int, scale: float = 1.0, *, seed: int) -> dict:
    """Moments of ``n`` draws of N(0, scale^2) from ``numpy.random.default_rng(seed)``.

    Returns the sample mean and mean square (scalars) and the first five draws (an array).
    """
    x = scale * np.random.default_rng(seed).standard_normal(int(n))
    return {"mean": float(x.mean()), "mean_square": float(np.mean(x * x)), "head": x[:5].copy()}


def slow_square(x: float, delay: float = 0.2, *, seed: int) -> dict:
    """x^2 after sleeping ``delay`` seconds, and one uniform draw from the task's seed."""
    time.sleep(float(delay))
    return {"square": float(x) ** 2, "draw": float(np.random.default_rng(seed).random())}


def fail_when(x: int, bad: int = -1, *, seed: int) -> dict:
    """x + 1, except that x == bad raises ``ValueError`` (to test failure records)."""
    if x == bad:
        raise ValueError(f"x = {x} is the bad value")
    return {"y": x + 1}


def spin(work: int, replicate: int = 0) -> dict:
    """CPU-bound pure-Python loop of ``work`` iterations (the benchmark's task; no seed needed)."""
    acc = 0
    for i in range(int(work)):
        acc = (acc * 1103515245 + i) % 2147483648
    return {"acc": acc}


def exit_when(x: int, bad: int = -1) -> dict:
    """x + 1, except that x == bad ends the process at once (``os._exit``), as a crashing worker does.

    For testing lost workers only: in-process (``workers=0``) it ends the driver.
    """
    if x == bad:
        import os

        os._exit(3)
    return {"y": x + 1}
