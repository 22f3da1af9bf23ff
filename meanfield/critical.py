"""The order-to-chaos transition: chi1 = 1 (Poole et al. eq. 7, Fig. 2D).

On the critical line the fixed point q* and chi1 = 1 give two equations, so the
line is most simply parametrised by q* itself:

    sigma_w^2 = 1 / E[phi'(sqrt(q) z)^2],     sigma_b^2 = q - sigma_w^2 E[phi(sqrt(q) z)^2].

``critical_sigma_w(phi, sigma_b)`` solves the second equation for q (scan, then
bracketed secant steps to 1e-15 relative, in the compiled kernels) and returns
sigma_w from the first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import quadrature as quad
from .errors import NoFixedPointError, UndefinedQuantityError
from .kernels import kernels_for
from .kernels.tables import empty_table
from .nonlinearity import as_nonlinearity

@dataclass(frozen=True)
class CriticalLine:
    """Points (sigma_b, sigma_w) with chi1 = 1, parametrised by q*; NaN where sigma_b^2 < 0."""
    q_star: np.ndarray
    sigma_w: np.ndarray
    sigma_b: np.ndarray


def _sigma_w2(phi, q: float, rtol: float) -> float:
    return 1.0 / quad.gauss_expect(phi, quad.DPHI2, q, rtol)


def _sigma_b2(phi, q: float, rtol: float) -> float:
    return q - _sigma_w2(phi, q, rtol) * quad.gauss_expect(phi, quad.PHI2, q, rtol)


def critical_line(phi, q=None, rtol: float = quad.RTOL) -> CriticalLine:
    """The critical line at the given q* values (default: 200 log-spaced in [1e-4, 1e3])."""
    phi = as_nonlinearity(phi)
    _require_derivative(phi)
    q = np.logspace(-4, 3, 200) if q is None else np.asarray(q, dtype=float)
    sw2 = np.array([_sigma_w2(phi, v, rtol) for v in q])
    sb2 = np.array([_sigma_b2(phi, v, rtol) for v in q])
    ok = sb2 >= 0
    return CriticalLine(q_star=q, sigma_w=np.sqrt(sw2), sigma_b=np.where(ok, np.sqrt(np.abs(sb2)), np.nan))


def critical_sigma_w(phi, sigma_b: float, rtol: float = quad.RTOL, *, _table=None) -> float:
    """sigma_w at which chi1 = 1 for the given sigma_b (Poole Fig. 2D, dotted line).

    Returns sigma_w to about 1e-13 relative.  For sigma_b = 0 and phi(0) = 0 the
    line ends at q* -> 0, sigma_w = 1/|phi'(0)| (returned as that limit).

    Raises
    ------
    NoFixedPointError
        If no q* on the critical line gives this sigma_b.
    """
    phi = as_nonlinearity(phi)
    _require_derivative(phi)
    sigma_b = float(sigma_b)
    if not (math.isfinite(sigma_b) and sigma_b >= 0):
        raise ValueError(f"sigma_b is a standard deviation >= 0, got {sigma_b}")
    target = sigma_b ** 2
    if phi.is_piecewise_linear and tuple(phi.kinks) == (0.0,) and float(phi.phi(np.array([0.0]))[0]) == 0.0:
        # ReLU-like: E[phi'^2] and E[phi^2]/q do not depend on q, so sigma_b^2(q) = 0 for all q:
        # the critical line is the single point sigma_b = 0.
        if target != 0.0:
            raise NoFixedPointError(
                f"for phi = {phi.name} the only critical point has sigma_b = 0 "
                f"(sigma_w^2 = {_sigma_w2(phi, 1.0, rtol):.15g}); with sigma_b > 0 there is none")
        return math.sqrt(_sigma_w2(phi, 1.0, rtol))
    K = kernels_for(phi)
    table = empty_table(K) if _table is None else _table   # a table only speeds up the scan
    q, status = K.critical_q(K.workspace(), table, target, float(rtol))
    if status == 4:
        if target == 0.0 and _sigma_b2(phi, 1e-8, rtol) >= -1e-12 * 1e-8:
            slope0 = abs(float(phi.dphi(np.array([0.0]))[0]))
            if slope0 == 0.0:
                raise NoFixedPointError(f"phi = {phi.name} has phi'(0) = 0: the critical line does not reach "
                                        f"sigma_b = 0 (sigma_w -> infinity as q* -> 0)")
            return 1.0 / slope0    # the line ends at q* -> 0
        raise NoFixedPointError(f"no point of the critical line of phi = {phi.name} has sigma_b = {sigma_b:g} "
                                f"(q* scanned over [1e-8, 1e8])")
    quad.check_status(status, "critical-line search", phi)
    return math.sqrt(_sigma_w2(phi, q, rtol))


def _require_derivative(phi) -> None:
    if phi.delta_in_d1:
        raise UndefinedQuantityError(f"chi1 is undefined for phi = {phi.name} (phi jumps, phi' has a delta)")
