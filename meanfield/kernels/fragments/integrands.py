"""The integrands g of the one-dimensional expectations E[g(m + s z)] (:class:`meanfield.codes.Kind`).

Also the inner rule of the rotated coordinates (method 6 of docs/derivations.md Sec. 7), which
is an integrand of the outer adaptive integral.
"""
import math

import numpy as np
from numba import njit

from ...codes import Kind, Order
from .phi_call import d2phi, d3phi, dphi, phi


@njit(cache=True)
def worse_status(a, b):
    """The worse (larger) of two statuses, as an int: Numba has no max of two IntEnums.

    Parameters
    ----------
    a, b : Status or int
        Two statuses (:class:`meanfield.codes.Status` members or their values).

    Returns
    -------
    int
        The larger value; the larger a :class:`~meanfield.codes.Status`, the worse the failure.
    """
    return max(np.int64(a), np.int64(b))


@njit(cache=True)
def deriv(P, order, u):
    """phi (Order.PHI) or phi' (Order.DPHI) at u.

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    order : Order
        Which derivative (:class:`meanfield.codes.Order`).
    u : float
        The argument.

    Returns
    -------
    float
        phi(u) or phi'(u).

    Raises
    ------
    ValueError
        If ``order`` is not an :class:`~meanfield.codes.Order`.
    """
    if order == Order.PHI:
        return phi(P, u)
    if order == Order.DPHI:
        return dphi(P, u)
    raise ValueError("unknown derivative order (meanfield.codes.Order)")


@njit(cache=True)
def kind_of_order(order):
    """The Kind of the integrand A(u) for A = phi^(order) (inner integrals of E[A(u1) B(u2)]).

    Parameters
    ----------
    order : Order
        Which derivative A is (:class:`meanfield.codes.Order`).

    Returns
    -------
    Kind
        Kind.PHI or Kind.DPHI (:class:`meanfield.codes.Kind`).

    Raises
    ------
    ValueError
        If ``order`` is not an :class:`~meanfield.codes.Order`.
    """
    if order == Order.PHI:
        return Kind.PHI
    if order == Order.DPHI:
        return Kind.DPHI
    raise ValueError("unknown derivative order (meanfield.codes.Order)")


@njit(cache=True)
def square_kind_of_order(order):
    """The Kind of A(u)^2 for A = phi^(order) (Cauchy-Schwarz scale of E[A(u1) B(u2)]).

    Parameters
    ----------
    order : Order
        Which derivative A is (:class:`meanfield.codes.Order`).

    Returns
    -------
    Kind
        Kind.PHI2 or Kind.DPHI2 (:class:`meanfield.codes.Kind`).

    Raises
    ------
    ValueError
        If ``order`` is not an :class:`~meanfield.codes.Order`.
    """
    if order == Order.PHI:
        return Kind.PHI2
    if order == Order.DPHI:
        return Kind.DPHI2
    raise ValueError("unknown derivative order (meanfield.codes.Order)")


@njit(cache=True)
def g1(P, kind, u, z, p1, p2):
    """The one-dimensional integrand g of E[g(m + s z)] at one node (method 1 of docs/derivations.md Sec. 7).

    Kind.PHI2, DPHI2, D2PHI2, D3PHI2 are the squares of phi and its derivatives; Kind.PHI and
    Kind.DPHI are phi and phi' (inner integrals of two-dimensional expectations);
    Kind.PHI2_ZZ is phi^2 (z^2 - 1) (Stein's identity, for dV/dq: docs/derivations.md eq. D4);
    Kind.DIFF2 is (phi(u) - p1)^2 (the inner integral of 1 - c, free of cancellation: eq. D5);
    Kind.ROT_GAP and Kind.ROT_CHI are inner integrals in rotated coordinates (method 6; p1 = sb,
    p2 = tau, see _rotated_inner).

    Parameters
    ----------
    P : PhiCode
        The nonlinearity (see :class:`meanfield.codes.PhiCode`).
    kind : Kind
        The integrand (:class:`meanfield.codes.Kind`).
    u : float
        The argument m + s z of phi (for the rotated kinds: a).
    z : float
        The standard-normal variable z (used by Kind.PHI2_ZZ and the rotated kinds).
    p1, p2 : float
        Parameters of the integrand: p1 the value subtracted by Kind.DIFF2; for the rotated
        kinds p1 the standard deviation sb of b and p2 the absolute tolerance scale tau.
        Ignored by the other kinds.

    Returns
    -------
    float
        g at this node (without the Gaussian weight); NaN where the two Gauss-Hermite rules of a
        rotated kind disagree.

    Raises
    ------
    ValueError
        If ``kind`` is not a :class:`~meanfield.codes.Kind`.
    """
    if kind == Kind.PHI2:
        v = phi(P, u)
        return v * v
    if kind == Kind.DPHI2:
        v = dphi(P, u)
        return v * v
    if kind == Kind.D2PHI2:
        v = d2phi(P, u)
        return v * v
    if kind == Kind.PHI:
        return phi(P, u)
    if kind == Kind.DPHI:
        return dphi(P, u)
    if kind == Kind.PHI2_ZZ:
        v = phi(P, u)
        return v * v * (z * z - 1.0)
    if kind == Kind.D3PHI2:
        v = d3phi(P, u)
        return v * v
    if kind == Kind.ROT_GAP or kind == Kind.ROT_CHI:
        return _rotated_inner(P, kind, u, z, p1, p2)
    if kind == Kind.DIFF2:
        v = phi(P, u) - p1
        return v * v
    raise ValueError("unknown integrand kind (meanfield.codes.Kind)")


# Rotated coordinates for u1, u2 of variance q and correlation c = 1 - omc:
#     u1 = a + b, u2 = a - b,  a ~ N(0, q (2 - omc)/2), b ~ N(0, q omc/2) independent.
# Near c = 1 the spread sb of b is small next to the scale on which smooth phi varies,
# so the integral over b is done by Gauss-Hermite rules, checked against each other
# at every a, and the integral over a by the adaptive 1D quadrature.
_GH1 = np.polynomial.hermite_e.hermegauss(24)
_GH2 = np.polynomial.hermite_e.hermegauss(32)
ROT_X1 = _GH1[0][12:].copy()                      # the integrands are even in b: positive half
ROT_W1 = 2.0 * _GH1[1][12:] / math.sqrt(2.0 * math.pi)
ROT_X2 = _GH2[0][16:].copy()
ROT_W2 = 2.0 * _GH2[1][16:] / math.sqrt(2.0 * math.pi)
ROT_AGREE = 1e-12   # above rounding in phi(a+b) - phi(a-b); so the path serves rtol >= 1e-11
ROT_MIN_RTOL = 1e-11


@njit(cache=True)
def _rotated_f(P, kind, a, b):
    if kind == Kind.ROT_GAP:
        d = phi(P, a + b) - phi(P, a - b)
        return 0.5 * d * d
    return dphi(P, a + b) * dphi(P, a - b)


@njit(cache=True)
def _rotated_inner(P, kind, a, z, sb, tau):
    """E_b[f(a, b)], b ~ N(0, sb^2), for f = (phi(a+b) - phi(a-b))^2 / 2 (Kind.ROT_GAP) or
    phi'(a+b) phi'(a-b) (Kind.ROT_CHI), at a = sa z.  Gauss-Hermite with 24 and 32 nodes; NaN
    (which makes the caller fall back) unless they agree to ROT_AGREE of E_b|f| or, where
    the Gaussian weight of z makes the point negligible (rounding in phi may dominate
    there), to tau e^{z^2/2}, tau being ROT_AGREE times the size of the whole integral."""
    v1 = 0.0
    for i in range(ROT_X1.size):
        v1 += ROT_W1[i] * _rotated_f(P, kind, a, sb * ROT_X1[i])
    v2 = 0.0
    s2 = 0.0
    for i in range(ROT_X2.size):
        f = _rotated_f(P, kind, a, sb * ROT_X2[i])
        v2 += ROT_W2[i] * f
        s2 += ROT_W2[i] * abs(f)
    if abs(v2 - v1) > ROT_AGREE * s2 and abs(v2 - v1) > tau * math.exp(min(0.5 * z * z, 700.0)):
        return np.nan
    return v2

