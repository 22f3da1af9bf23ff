"""Method 4 of docs/derivations.md Sec. 7: the gap E[(phi(u1) - phi(u2))^2]/2 near c = 1 by its
certified second-order expansion in e = 1 - c (for phi whose third derivative has no Dirac delta)."""
import math

import numpy as np
from numba import njit

from ...codes import Kind, Status
from .gk15 import expect1w

TAYLOR_MAX_OMC = 1e-3


@njit(cache=True)
def _gap_taylor(P, W, q, e, rtol):
    """E[(phi(u1) - phi(u2))^2]/2 at correlation c = 1 - e, to second order in e.

    From Mehler's series, gap = sum_n (1 - (1-e)^n) a_n^2 with
    1 - (1-e)^n = n e - C(n,2) e^2 + R_n, 0 <= R_n <= C(n,3) e^3, and Stein's identity
    sum_n n!/(n-k)! a_n^2 = q^k E[phi^(k)(u)^2]:
        gap = e q E[phi'^2] - e^2 q^2 E[phi''^2] / 2 + R,  0 <= R <= e^3 q^3 E[phi'''^2] / 6.
    Every term is a one-dimensional integral, so nearly equal values of phi are never
    subtracted.  Returns (value, certified error bound, accepted).
    """
    s = math.sqrt(q)
    r = 0.01 * rtol
    d1, _e1, _a1, st1 = expect1w(P, W, Kind.DPHI2, 0.0, s, 0.0, 0.0, r, 1e-15, 0.0)
    d2, _e2, _a2, st2 = expect1w(P, W, Kind.D2PHI2, 0.0, s, 0.0, 0.0, r, 1e-15, 0.0)
    d3, _e3, _a3, st3 = expect1w(P, W, Kind.D3PHI2, 0.0, s, 0.0, 0.0, 1e-3, 1e-15, 0.0)
    if st1 != Status.OK or st2 != Status.OK or st3 != Status.OK:
        return 0.0, np.inf, False
    val = e * q * d1 - 0.5 * e * e * q * q * d2
    rem = e ** 3 * q ** 3 * d3 * (1.0 + 1e-2) / 6.0
    bound = 0.5 * rem + 0.02 * rtol * abs(val)
    return val + 0.5 * rem, bound, val > 0.0 and bound <= rtol * val

