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
    correlation 1 - omc, in rotated coordinates (method 6 of docs/derivations.md Sec. 7).

    u1 = a + b, u2 = a - b with a ~ N(0, q (1 + c)/2), b ~ N(0, q (1 - c)/2) independent: the
    integral over b by two Gauss-Hermite rules (24 and 32 nodes) that must agree, the one over a
    by :func:`expect1w`.  The first is the gap of Poole et al. 2016, eq. (5) (docs/derivations.md
    eq. D5), the second the slope of the C-map (eq. D6).  The size of the result sets the inner
    rules' absolute floor: E[phi'^2] for Kind.ROT_CHI, and (1 - c) q E[phi'^2] (its first order
    in 1 - c) for Kind.ROT_GAP.  For smooth phi only.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    W : numpy.ndarray of shape (7, MAXPANELS)
        Workspace of gk15 (from :func:`workspace`), overwritten.
    kind : Kind
        Kind.ROT_GAP or Kind.ROT_CHI (:class:`meanfield.codes.Kind`).
    q : float
        The variance q11 = q22 = q (> 0).
    omc : float
        1 - c, in [0, 1].
    rtol : float
        Relative tolerance of the outer integral (the path serves rtol >= ROT_MIN_RTOL = 1e-11).

    Returns
    -------
    value : float
        The expectation.
    error : float
        Error estimate of the outer quadrature.
    status : Status
        As for :func:`expect1w`; Status.NONFINITE where the Gauss-Hermite rules across the
        diagonal disagree (sb too wide for phi), which makes the caller fall back to method 2.
    """
    sa = math.sqrt(0.5 * q * (2.0 - omc))
    sb = math.sqrt(0.5 * q * omc)
    d1, _e, _vabs, _st = expect1w(P, W, Kind.DPHI2, 0.0, math.sqrt(q), 0.0, 0.0, 1e-3, 1e-15, 0.0)
    size = d1 if kind == Kind.ROT_CHI else omc * q * d1
    v, e, _vabs, st = expect1w(P, W, kind, 0.0, sa, sb, ROT_AGREE * size, rtol, 1e-15, 0.0)
    return v, e, st

