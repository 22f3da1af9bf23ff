"""The depth scale of a linearised map: xi = -1 / log|chi|.

A deviation from a stable fixed point of a one-dimensional map shrinks by the map's slope
chi per layer, ``delta^l ~ chi^l = exp(-l / xi)``, so ``xi = -1 / log|chi|``: the number of
layers over which it decays by e (Schoenholz et al. 2017, *Deep Information Propagation*,
arXiv:1611.01232, the depth scales xi_q and xi_c).  This is the one place that formula lives; ``MeanField``
(single points) and ``phase_diagram`` (grids) both call it.
"""
from __future__ import annotations

import numpy as np


def depth_scale(chi):
    r"""Depth scale :math:`\xi = -1/\log|\chi|` of a slope ``chi`` at a stable fixed point.

    Parameters
    ----------
    chi : float or array_like
        Slope of the length map (dV/dq at q*, giving xi_q) or of the correlation map
        (chi_c at c*, giving xi_c).  A negative slope (alternating approach) decays as |chi|^l.

    Returns
    -------
    float or numpy.ndarray
        ``inf`` where |chi| >= 1 (at criticality; a stable point has |chi| > 1 only by
        rounding), ``0`` where chi = 0 (the deviation vanishes in one layer), NaN where chi is NaN.
    """
    a = np.abs(np.asarray(chi, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.where(a >= 1, np.inf, -1.0 / np.log(a))     # log(0) = -inf gives 0
    return float(xi) if xi.ndim == 0 else xi
