"""The verdict of a validation: one hypothesis test per row of the report.

The verdict is a hypothesis test per row, with a stated family-wise false-alarm rate
-------------------------------------------------------------------------------------
The simulated value is the mean m of the e_s; its standard error is
SE = sd(e_s) / sqrt(n) (sample standard deviation, n - 1 degrees of freedom).  A
finite network is not the N -> infinity limit: every estimate carries a systematic
finite-width bias of order 1/N (q^l is an unbiased one-step map of the previous
layer's q, but V is curved, so fluctuations of O(1/N) in variance shift the mean by
O(1/N) per layer; c, chi1, g_E and kappa2 are ratios or products of such averages).
The row allows for it:

    bias allowance  b = (B0 + B1 (l - 2)) / N  for l >= 2   (relative, or absolute for c)

(zero, up to rounding, at layer 1, where the circle is placed exactly): a jump B0 at
the first simulated layer and B1 per further layer.  The constants ``BIAS`` are 1.3-3 times
the largest coefficients measured with 150-300 networks at widths 25-200
(docs/simulation.md); kappa2's B0 = 20 is large because its layer-2 bias grows with
sigma_w (-3/N, -6/N, -13/N for tanh at sigma_w = 2.5, 4, 8).  The row's statistic is

    z = max(0, |m - theory| - b) / SE

and the row fails when z > t*, the two-sided Student-t(n - 1) quantile at the
Sidak-corrected level alpha_row = 1 - (1 - alpha)^(1 / R) for the report's R rows.
When the theory is right and |bias| <= b, the probability that *any* row of the
report fails is at most alpha (``FAMILY_ALPHA`` = 1% by default; Sidak is exact for
independent rows and conservative for the positively correlated rows of one curve).
Rows whose networks all agree to rounding (SE = 0) fail exactly when the error
exceeds b.

Power: each row reports ``detectable``, the smallest deviation of the true value
from the theory (beyond b, in the error's units) that the row detects with
probability ``POWER`` = 80%:  b + (t* + t_0.8(n - 1)) SE.  It shrinks like
1 / sqrt(n N) until the 1/N bias allowance dominates; with few networks the t
quantiles are large (n = 5, R = 134 rows, alpha = 1%: t* = 16.7; n = 16, R = 180:
t* = 5.5), so use more networks for more power.  Errors of q, chi1, g_E and kappa2 are relative to the
theory, errors of c (a correlation in [-1, 1]) absolute.

Widths below ``MIN_VALIDATED_WIDTH`` (outside the range the bias allowance was measured
on) and fewer than 5 networks (little power) give a note in the report.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: Family-wise false-alarm rate of a report when the theory is right.
FAMILY_ALPHA = 0.01
#: Probability with which a row detects a deviation of ``detectable``.
POWER = 0.8
#: Bias allowance b = (B0 + B1 (l - 2)) / N from layer 2 on, as BIAS[quantity] = (B0, B1)
#: (relative; absolute for c).  Measured coefficients: docs/simulation.md.
BIAS = {"q": (2.0, 1.0), "c": (1.0, 0.5), "chi1": (3.0, 0.5), "g_E": (2.0, 1.0), "kappa2": (20.0, 1.0)}
#: Whether each error is relative to the theory (else absolute).
RELATIVE = {"q": True, "c": False, "chi1": True, "g_E": True, "kappa2": True}
#: Order of the quantities in tables and plots.
QUANTITIES = ("q", "c", "chi1", "g_E", "kappa2")
#: The bias allowance was measured down to this width; below it the report warns.
MIN_VALIDATED_WIDTH = 50


@dataclass(frozen=True)
class ValidationRow:
    """One comparison (see the module docstring for the statistics).

    Attributes
    ----------
    quantity : str
        One of ``QUANTITIES``.
    condition : str
        The input condition, e.g. "q1=q*" or "c1=0.500".
    layer : int
        The layer l compared.
    theory, simulation : float
        Mean-field prediction and mean over networks of the per-network estimates.
    spread : float
        Standard deviation of the per-network estimates (ddof = 1).
    standard_error : float
        spread / sqrt(n_seeds), in the quantity's units.
    relative : bool
        Whether ``error``, ``bias_allowance``, ``tolerance`` and ``detectable`` are
        relative to |theory| (else absolute, for c).
    error : float
        |simulation - theory| (relative or absolute).
    bias_allowance : float
        b = (B0 + B1 (layer - 2)) / N from layer 2 (``BIAS``), the allowed finite-width bias.
    tolerance : float
        b + t* SE: the largest error that passes.
    detectable : float
        b + (t* + t_power) SE: the deviation detected with probability ``POWER``.
    z : float
        max(0, |simulation - theory| - b) / SE (inf when SE = 0 and the error exceeds b).
    passed : bool
        z <= t*.
    """

    quantity: str
    condition: str
    layer: int
    theory: float
    simulation: float
    spread: float
    standard_error: float
    relative: bool
    error: float
    bias_allowance: float
    tolerance: float
    detectable: float
    z: float
    passed: bool


def t_quantiles(alpha: float, n_rows: int, n_seeds: int) -> tuple[float, float, float]:
    """Quantiles of the per-row test (module docstring), with n_seeds - 1 degrees of freedom.

    Parameters
    ----------
    alpha : float
        Family-wise false-alarm rate.
    n_rows : int
        R, the number of rows in the report (values < 1 count as 1).
    n_seeds : int
        Number of networks, >= 2 for finite quantiles.

    Returns
    -------
    alpha_row : float
        Sidak per-row level 1 - (1 - alpha)^(1 / R).
    t_crit : float
        t*, the two-sided Student-t quantile at ``alpha_row``.
    t_power : float
        The one-sided Student-t quantile at ``POWER``.
    """
    from scipy import stats

    alpha_row = -math.expm1(math.log1p(-alpha) / max(n_rows, 1))
    dof = n_seeds - 1
    return alpha_row, float(stats.t.isf(alpha_row / 2, dof)), float(stats.t.ppf(POWER, dof))


class Comparison(NamedTuple):
    """One row before its verdict: the theory's value and one simulated estimate per network."""

    quantity: str               # one of QUANTITIES
    condition: str              # e.g. "q1=q*", "c1=0.500"
    layer: int
    theory: float
    estimates: list


def judge(comparison: Comparison, width: int, t_crit: float, t_power: float) -> ValidationRow:
    """The row's test: z = max(0, |mean - theory| - b) / SE against t* (see the module docstring).

    Parameters
    ----------
    comparison : Comparison
        The theory's value and the per-network estimates (at least 2 for a finite SE).
    width : int
        N, for the bias allowance b = (B0 + B1 (l - 2)) / N.
    t_crit : float
        t*, from :func:`t_quantiles`.
    t_power : float
        The power quantile, from :func:`t_quantiles`.

    Returns
    -------
    ValidationRow
        The statistics and the verdict ``passed = z <= t*``.
    """
    quantity, condition, layer, theory, estimates = comparison
    est = np.asarray(estimates, dtype=np.float64)
    n = len(est)
    sim, spread = float(np.mean(est)), float(np.std(est, ddof=1))
    se = spread / math.sqrt(n)
    theory = float(theory)
    relative = RELATIVE[quantity]
    scale = abs(theory) if relative and theory != 0 else 1.0
    dev = abs(sim - theory)
    # plus 1e-12 for rounding: layer 1 is placed exactly, and networks may agree to the last bit
    b0, b1 = BIAS[quantity]
    bias = ((b0 + b1 * (layer - 2)) / width * (layer >= 2) + 1e-12) * scale
    excess = max(0.0, dev - bias)
    z = excess / se if se > 0 else (0.0 if excess == 0 else math.inf)
    return ValidationRow(quantity, condition, int(layer), theory, sim, spread, se, relative, dev / scale,
                         bias / scale, (bias + t_crit * se) / scale, (bias + (t_crit + t_power) * se) / scale,
                         float(z), bool(z <= t_crit))
