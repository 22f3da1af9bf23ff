"""Method 6 of docs/derivations.md Sec. 7: the C-map near c = 1 in rotated coordinates.

For u1, u2 of variance q and correlation c = 1 - omc, u1 = a + b, u2 = a - b with a, b
independent; the narrow integral over b is a pair of Gauss-Hermite rules checked against each
other (``integrands._rotated_inner``), the one over a the adaptive quadrature of gk15.
Smooth phi only.
"""
import math

from numba import njit

from ...codes import Kind
from .gk15 import expect1w
from .integrands import ROT_AGREE


@njit(cache=True)
def expect_rotated(P, W, kind, q, omc, rtol):
    """E[(phi(u1) - phi(u2))^2]/2 (Kind.ROT_GAP) or E[phi'(u1) phi'(u2)] (Kind.ROT_CHI) at variance q,
    correlation 1 - omc, in rotated coordinates; (value, error, status), status 2 where the
    Gauss-Hermite rules across the diagonal disagree (sb too wide for phi).

    Size of the result, for the inner rules' absolute floor: E[phi'^2] for Kind.ROT_CHI, and
    (1 - c) q E[phi'^2] (its first order in 1 - c) for Kind.ROT_GAP.
    """
    sa = math.sqrt(0.5 * q * (2.0 - omc))
    sb = math.sqrt(0.5 * q * omc)
    d1, _e, _vabs, _st = expect1w(P, W, Kind.DPHI2, 0.0, math.sqrt(q), 0.0, 0.0, 1e-3, 1e-15, 0.0)
    size = d1 if kind == Kind.ROT_CHI else omc * q * d1
    v, e, _vabs, st = expect1w(P, W, kind, 0.0, sa, sb, ROT_AGREE * size, rtol, 1e-15, 0.0)
    return v, e, st

