"""Gaussian expectations of phi, phi', phi'' with known accuracy.

Thin, typed layer over the compiled kernels (:mod:`meanfield.kernels`): it turns
kernel status codes into exceptions, so no number leaves here unverified.

Accuracy: globally adaptive Gauss-Kronrod (7/15) with QUADPACK's error estimate,
panels split at the kinks of phi and at the scales 1/sqrt(q); the default
relative tolerance is ``RTOL = 1e-13``.  Verified against closed forms (ReLU, erf)
and mpmath for q in [1e-6, 1e4] in ``tests/test_quadrature.py``.
"""
from __future__ import annotations

import math

from .errors import DivergentIntegralError, NotConvergedError
from .kernels import kernels_for

RTOL = 1e-13

#: integrand kinds of the one-dimensional kernel
PHI2, DPHI2, D2PHI2, PHI_D2PHI, PHI, DPHI, D2PHI, PHI2_ZZ = range(8)
_KIND_NAMES = {PHI2: "phi^2", DPHI2: "phi'^2", D2PHI2: "phi''^2", PHI_D2PHI: "phi phi''",
               PHI: "phi", DPHI: "phi'", D2PHI: "phi''", PHI2_ZZ: "phi^2 (z^2-1)"}
_ORDER_NAMES = {0: "phi", 1: "phi'", 2: "phi''"}


def check_status(status: int, what: str, nonlinearity) -> None:
    """Raise the exception that a kernel status code stands for (0 is success).

    For a divergent or non-finite integrand of a phi that grows like
    :math:`e^{a x^2}`, the message says where the Gaussian moments diverge:
    :math:`E[\\phi(\\sqrt{q} z)^2]` is finite only for :math:`q < 1/(4a)`.
    """
    status = int(status)
    if status == 0:
        return
    if status in (2, 3):
        a = _gaussian_growth(nonlinearity)
        if a is not None:
            raise DivergentIntegralError(
                f"{what} for phi = {nonlinearity.name} diverges: phi grows like exp({a:.6g} x^2), so the "
                f"Gaussian moments of phi^2 (and phi'^2, phi''^2) are infinite for q >= 1/(4*{a:.6g}) = "
                f"{1 / (4 * a):.6g}; use sigma_w, sigma_b and q0 that keep q below that")
    if status == 2:
        raise DivergentIntegralError(
            f"{what} for phi = {nonlinearity.name}: the integrand is not finite (overflow or a "
            f"singularity of phi); rewrite phi in a numerically stable form or use a smaller q")
    if status == 3:
        raise DivergentIntegralError(
            f"{what} for phi = {nonlinearity.name} diverges: the integrand still matters at |z| = 45 "
            f"standard deviations (phi grows too fast for the Gaussian measure)")
    raise NotConvergedError(f"{what} for phi = {nonlinearity.name}: adaptive quadrature did not reach "
                            f"its tolerance; loosen rtol or check phi for singularities")


def _gaussian_growth(nonlinearity) -> float | None:
    """a > 0 if log|phi(x)| ~ a x^2 as |x| -> infinity on either side, else None (exact arithmetic)."""
    import sympy as sp

    from .expression import x
    try:
        rates = []
        for sign in (-1, 1):
            r = [float(sp.N(sp.log(sp.Abs(nonlinearity.pw.subs(x, sign * big))) / big ** 2, 15))
                 for big in (sp.Integer(10) ** 3, sp.Integer(10) ** 4)]
            if r[1] > 1e-6 and abs(r[1] - r[0]) <= 1e-3 * r[1]:
                rates.append(r[1])
        return float(f"{max(rates):.4g}") if rates else None   # log|x|/x^2 corrections are below 1e-6
    except (TypeError, ValueError, ArithmeticError):
        return None


def gauss_expect(nonlinearity, kind: int, q: float, rtol: float = RTOL) -> float:
    r"""E[g(\sqrt{q} z)], z ~ N(0, 1), for g one of the kinds above (e.g. PHI2 = phi^2)."""
    q = float(q)
    if not (q >= 0 and math.isfinite(q)):
        raise ValueError(f"q must be a finite variance >= 0, got {q}")
    K = kernels_for(nonlinearity)
    value, err, status = K.expect1(int(kind), 0.0, math.sqrt(q), float(rtol), 1e-15)
    check_status(status, f"E[{_KIND_NAMES[kind]}] at q = {q:g}", nonlinearity)
    return float(value)


def gauss_expect2(nonlinearity, order_a: int, order_b: int, q11: float, q22: float,
                  c: float, one_minus_c: float | None = None, rtol: float = RTOL) -> float:
    r"""E[A(u1) B(u2)] with A, B = phi^(order) and (u1, u2) Gaussian (Poole eq. 5).

    u1 = \sqrt{q11} z1, u2 = \sqrt{q22} (c z1 + \sqrt{1-c^2} z2).  Pass
    ``one_minus_c`` when c is within rounding of 1 to keep full accuracy.
    """
    q11, q22, c = float(q11), float(q22), float(c)
    omc = float(1.0 - c if one_minus_c is None else one_minus_c)
    K = kernels_for(nonlinearity)
    value, err, status = K.expect2(int(order_a), int(order_b), False, q11, q22, c, omc, float(rtol))
    check_status(status, f"E[{_ORDER_NAMES[order_a]}(u1) {_ORDER_NAMES[order_b]}(u2)] at "
                 f"q11 = {q11:g}, q22 = {q22:g}, c = {c:g}", nonlinearity)
    return float(value)


def half_mean_square_difference(nonlinearity, q: float, c: float, one_minus_c: float | None = None,
                                rtol: float = RTOL) -> float:
    r"""E[(phi(u1) - phi(u2))^2] / 2 for u1, u2 of variance q and correlation c.

    Equals E[phi^2] - E[phi(u1) phi(u2)], computed without that cancellation; it
    gives 1 - c' of the C-map to full relative accuracy as c -> 1.
    """
    q, c = float(q), float(c)
    omc = float(1.0 - c if one_minus_c is None else one_minus_c)
    K = kernels_for(nonlinearity)
    value, err, status = K.expect2(0, 0, True, q, q, c, omc, float(rtol))
    check_status(status, f"E[(phi(u1)-phi(u2))^2]/2 at q = {q:g}, c = {c:g}", nonlinearity)
    return float(value)
