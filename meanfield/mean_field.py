"""Mean-field signal propagation through a deep random network (Poole et al. 2016).

One object per (phi, sigma_w, sigma_b): the length map and its fixed points, the
correlation map and its fixed point, chi1, chi2, the depth scales and the
curvature recursion.  sigma_w and sigma_b are standard deviations:
W_ij ~ N(0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import brentq

from . import quadrature as quad
from .errors import NoFixedPointError, NotConvergedError, UndefinedQuantityError
from .kernels import kernels_for
from .kernels.tables import empty_table
from .nonlinearity import as_nonlinearity

_Q_SCAN = np.logspace(-10, 10, 161)


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point q of the length map with slope dV/dq there; stable if |slope| < 1."""
    q: float
    slope: float
    stable: bool


@dataclass(frozen=True)
class DepthScales:
    r"""Depth scales of Schoenholz et al. (2017), eqs. 7 and 9 there.

    xi_q^{-1} = -log(chi1 + sigma_w^2 E[phi'' phi])  (= -log dV/dq at q*),
    xi_c^{-1} = -log(sigma_w^2 E[phi'(u1) phi'(u2)])  at c*.
    ``inf`` where the log vanishes (criticality).
    """
    xi_q: float
    xi_c: float


@dataclass(frozen=True)
class Curvature:
    """Per-layer geometry of the circle of radius sqrt(q*) (Poole eq. 8, Sec. 4).

    Layers 1..depth.  ``g_E`` is the normalised metric g^E/N, ``kappa2`` the
    normalised squared curvature N kappa^2, ``L_E = 2 pi sqrt(g_E)`` the normalised
    Euclidean length L^E/sqrt(N), ``L_G = 2 pi sqrt(kappa2 g_E)`` the Grassmannian
    (Gauss-map) length.
    """
    layer: np.ndarray
    g_E: np.ndarray
    kappa2: np.ndarray
    L_E: np.ndarray
    L_G: np.ndarray


class MeanField:
    """Mean-field theory of a deep random network with nonlinearity ``phi``.

    Parameters
    ----------
    phi : Nonlinearity or spec
        Anything :class:`meanfield.Nonlinearity` accepts.
    sigma_w, sigma_b : float
        Standard deviations of weights (times sqrt(N)) and biases.
    rtol : float
        Relative tolerance of every Gaussian expectation (default 1e-13).
    """

    def __init__(self, phi, sigma_w: float, sigma_b: float, rtol: float = quad.RTOL):
        self.phi = as_nonlinearity(phi)
        for name, v in (("sigma_w", sigma_w), ("sigma_b", sigma_b)):
            if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} is a standard deviation: a finite number >= 0, got {v!r}")
        self.sigma_w = float(sigma_w)
        self.sigma_b = float(sigma_b)
        self.rtol = float(rtol)
        self._K = kernels_for(self.phi)
        self._T = empty_table(self._K)   # single points integrate directly

    def __repr__(self) -> str:
        return f"MeanField({self.phi.name!r}, sigma_w={self.sigma_w:g}, sigma_b={self.sigma_b:g})"

    @property
    def sw2(self) -> float:
        return self.sigma_w ** 2

    @property
    def sb2(self) -> float:
        return self.sigma_b ** 2

    # --- length map ------------------------------------------------------------
    def length_map(self, q):
        r"""V(q) = sigma_w^2 \int Dz phi(\sqrt{q} z)^2 + sigma_b^2  (Poole eq. 3)."""
        qa = np.asarray(q, dtype=float)
        out = np.array([self.sw2 * quad.gauss_expect(self.phi, quad.PHI2, v, self.rtol) + self.sb2
                        for v in qa.ravel()]).reshape(qa.shape)
        return float(out) if out.ndim == 0 else out

    def length_slope(self, q: float) -> float:
        r"""dV/dq = sigma_w^2 E[phi'^2 + phi phi''] = sigma_w^2 E[phi(\sqrt q z)^2 (z^2-1)]/(2q).

        The second form (Stein's identity) needs no derivatives, so it also holds at kinks.
        """
        q = float(q)
        if q == 0.0:
            return self.sw2 * float(self.phi.dphi(np.array([0.0]))[0]) ** 2
        return self.sw2 * quad.gauss_expect(self.phi, quad.PHI2_ZZ, q, self.rtol) / (2 * q)

    def fixed_points(self) -> tuple[FixedPoint, ...]:
        """All finite fixed points q = V(q) in [0, 1e10], each with slope and stability.

        Found by scanning V(q) - q on a log grid of q in [1e-10, 1e10] and refining
        each sign change with Brent's method; q = 0 is included when V(0) = 0.
        """
        pts = []
        if self.length_map(0.0) == 0.0:
            pts.append(0.0)
        f = self.length_map(_Q_SCAN) - _Q_SCAN
        for i in np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]:
            pts.append(brentq(lambda q: self.length_map(q) - q, _Q_SCAN[i], _Q_SCAN[i + 1],
                              xtol=1e-300, rtol=1e-15))
        pts += [float(q) for q, v in zip(_Q_SCAN, f) if v == 0.0]
        out = []
        for q in sorted(set(pts)):
            s = self.length_slope(q)
            out.append(FixedPoint(q=float(q), slope=float(s), stable=bool(abs(s) < 1)))
        return tuple(out)

    def q_star(self, q0: float = 1.0) -> float:
        """The stable fixed point reached by iterating the length map from q^1 = q0.

        Raises
        ------
        NoFixedPointError
            If q grows without bound (e.g. ReLU with sigma_w^2 > 2, or = 2 with sigma_b > 0).
        """
        return self._q_star(float(q0))

    def _q_star(self, q0: float) -> float:
        cache = self.__dict__.setdefault("_qstar_cache", {})
        if q0 in cache:
            return cache[q0]
        q, status = self._K.q_star(self._K.workspace(), self._T, self.sw2, self.sb2, q0, self.rtol)
        if status == 4:
            raise NoFixedPointError(
                f"{self}: the length map has no finite fixed point above q0 = {q0:g}; q grows "
                f"without bound with depth. Lower sigma_w (for ReLU: sigma_w^2 < 2).")
        if status == 5:
            q = 0.0
        else:
            quad.check_status(status, "q* search", self.phi)
        if q > 0 and self.length_slope(q) > 1 + 1e-9:
            raise NoFixedPointError(f"{self}: the fixed point q = {q:g} reached from q0 = {q0:g} is unstable")
        cache[q0] = float(q)
        return float(q)

    def length_trajectory(self, q0: float, depth: int) -> np.ndarray:
        """[q^1, ..., q^depth] with q^1 = q0 and q^{l+1} = V(q^l)."""
        q = np.empty(int(depth))
        q[0] = q0
        for l in range(1, int(depth)):
            q[l] = self.length_map(q[l - 1])
        return q

    def convergence_depth(self, q0: float = 1.0, tol: float = 0.01, max_depth: int = 1000) -> int:
        """Layers until |q^l - q*| <= tol q* from q^1 = q0 (Poole Fig. 1D).

        Raises NotConvergedError if not reached within ``max_depth`` layers.
        """
        qs = self.q_star(q0)
        d = self._K.convergence_depth(self._K.workspace(), self._T, self.sw2, self.sb2, float(q0), qs,
                                      float(tol), int(max_depth), self.rtol)
        if d < 0:
            raise NotConvergedError(f"{self}: q^l not within {tol:g} of q* after {max_depth} layers")
        return int(d)

    # --- two inputs ----------------------------------------------------------
    def covariance_map(self, q11: float, q22: float, q12: float) -> float:
        r"""q12' = sigma_w^2 \int Dz1 Dz2 phi(u1) phi(u2) + sigma_b^2  (Poole eq. 5)."""
        if q11 <= 0 or q22 <= 0:
            raise ValueError(f"q11 and q22 must be > 0, got {q11}, {q22}")
        c = q12 / math.sqrt(q11 * q22)
        if not -1 - 1e-12 <= c <= 1 + 1e-12:
            raise ValueError(f"|q12| must not exceed sqrt(q11 q22): correlation {c}")
        c = min(1.0, max(-1.0, c))
        return self.sw2 * quad.gauss_expect2(self.phi, 0, 0, q11, q22, c, rtol=self.rtol) + self.sb2

    def correlation_map(self, c: float) -> float:
        """c' = C(c, q*, q*)/q*  (Poole eq. 6), computed as 1 - (1 - c') near c = 1."""
        return 1.0 - self.correlation_gap(c, 1.0 - float(c))

    def correlation_gap(self, c: float, one_minus_c: float | None = None) -> float:
        r"""1 - c' = sigma_w^2 E[(phi(u1) - phi(u2))^2] / (2 q*), without cancellation."""
        c = float(c)
        if not -1 <= c <= 1:
            raise ValueError(f"correlation c must lie in [-1, 1], got {c}")
        qs = self._positive_q_star("the correlation map")
        omc = 1.0 - c if one_minus_c is None else float(one_minus_c)
        return self.sw2 * quad.half_mean_square_difference(self.phi, qs, c, omc, self.rtol) / qs

    def correlation_trajectory(self, c0: float, depth: int) -> np.ndarray:
        """[c^1, ..., c^depth], c^1 = c0, iterating eq. 6 at q* (1 - c tracked directly)."""
        out = np.empty(int(depth))
        c, omc = float(c0), 1.0 - float(c0)
        for l in range(int(depth)):
            out[l] = c
            omc = self.correlation_gap(c, omc)
            c = 1.0 - omc
        return out

    def c_star(self) -> float:
        """Stable fixed point of the C-map (Poole eq. 6; Fig. 2C): 1 in the ordered phase.

        In the chaotic phase it is found with the Mehler series of the C-map, whose
        truncation error is bounded exactly by Parseval's identity, and falls back to
        the nested adaptive quadrature where that bound is not small enough.
        """
        return self._c_star()[0]

    def _c_star(self):
        """(c*, 1 - c*, chi_c at c*), computed once."""
        if "_cstar" not in self.__dict__:
            qs = self._positive_q_star("c*")
            K = self._K
            cs, omc, chic, status, method = K.c_star_and_chi(K.workspace(), self._T, self.sw2, qs,
                                                             self.chi1(), self.rtol)
            if status == K.NEEDS_NESTED:
                cs, omc, chic, status, method = K.c_star_nested(self.sw2, qs, self.chi1(), self.rtol, cs)
            quad.check_status(status, "c* search", self.phi)
            self.__dict__["_cstar"] = (float(cs), float(omc), float(chic))
        return self.__dict__["_cstar"]

    def chi_c(self, c: float | None = None) -> float:
        """Slope of the C-map, sigma_w^2 E[phi'(u1) phi'(u2)], at c (default c*)."""
        self._require_d1("chi_c")
        qs = self._positive_q_star("chi_c")
        if c is None:
            return self._c_star()[2]
        if c == 1.0:
            return self.chi1()
        return self.sw2 * quad.gauss_expect2(self.phi, 1, 1, qs, qs, c, 1.0 - c, self.rtol)

    # --- chi1, chi2, depth scales, curvature ----------------------------------
    def chi1(self) -> float:
        r"""chi1 = sigma_w^2 \int Dz phi'(\sqrt{q*} z)^2  (Poole eq. 7)."""
        self._require_d1("chi1")
        return self.sw2 * quad.gauss_expect(self.phi, quad.DPHI2, self.q_star(), self.rtol)

    def chi2(self) -> float:
        r"""chi2 = sigma_w^2 \int Dz phi''(\sqrt{q*} z)^2  (Poole eq. 9)."""
        self._require_d2("chi2")
        return self.sw2 * quad.gauss_expect(self.phi, quad.D2PHI2, self.q_star(), self.rtol)

    def depth_scales(self) -> DepthScales:
        """(xi_q, xi_c) of Schoenholz et al. 2017; see :class:`DepthScales`."""
        slope = self.length_slope(self.q_star())
        chic = self.chi_c()
        return DepthScales(xi_q=_depth(slope), xi_c=_depth(chic))

    def curvature(self, depth: int) -> Curvature:
        r"""Poole eq. 8 for the circle of squared radius q* per neuron placed at layer 1:

        g_E^l = chi1 g_E^{l-1},  kappa2^l = 3 chi2/chi1^2 + kappa2^{l-1}/chi1,
        g_E^1 = q*,  kappa2^1 = 1/q*.
        """
        self._require_d2("the curvature recursion")
        qs = self._positive_q_star("the curvature recursion")
        chi1, chi2 = self.chi1(), self.chi2()
        n = int(depth)
        g = np.empty(n)
        k2 = np.empty(n)
        g[0], k2[0] = qs, 1.0 / qs
        for l in range(1, n):
            g[l] = chi1 * g[l - 1]
            k2[l] = 3 * chi2 / chi1 ** 2 + k2[l - 1] / chi1
        return Curvature(layer=np.arange(1, n + 1), g_E=g, kappa2=k2,
                         L_E=2 * np.pi * np.sqrt(g), L_G=2 * np.pi * np.sqrt(k2 * g))

    def weight_chaos(self, rho: float, layer: int, depth: int) -> np.ndarray:
        r"""Function-space correlation per layer when one layer's weights move (SM App. F).

        Two networks share every weight and bias except W^{layer}, whose entries have
        correlation ``rho`` between the two (W(tau) = sqrt(1-tau^2) W0 + tau W1 gives
        rho = sqrt(1-tau1^2) sqrt(1-tau2^2) + tau1 tau2).  For the same input circle at
        q*, the hidden representations agree below ``layer`` (c = 1); at ``layer``

            c^{layer} = (rho sigma_w^2 E[phi(u)^2] + sigma_b^2) / q* = (rho (q* - sigma_b^2) + sigma_b^2)/q*,

        and above it c^l = C(c^{l-1}) (eq. 6).  Returns [c^1, ..., c^depth].
        """
        if not -1 <= rho <= 1:
            raise ValueError(f"rho is a correlation in [-1, 1], got {rho}")
        layer, depth = int(layer), int(depth)
        if not 2 <= layer <= depth:
            raise ValueError(f"the moved layer must satisfy 2 <= layer <= depth (layer 1 holds the "
                             f"input circle); got layer={layer}, depth={depth}")
        qs = self._positive_q_star("weight chaos")
        out = np.ones(depth)
        omc = (1.0 - rho) * (qs - self.sb2) / qs
        out[layer - 1] = 1.0 - omc
        for l in range(layer, depth):
            omc = self.correlation_gap(1.0 - omc, omc)
            out[l] = 1.0 - omc
        return out

    # --- guards ----------------------------------------------------------------
    def _positive_q_star(self, what: str) -> float:
        qs = self.q_star()
        if qs == 0.0:
            raise UndefinedQuantityError(
                f"{self}: q* = 0 (every input shrinks to the origin), so {what} is undefined; "
                f"use sigma_b > 0 or a larger sigma_w")
        return qs

    def _require_d1(self, what: str) -> None:
        if self.phi.delta_in_d1:
            raise UndefinedQuantityError(
                f"{what} is undefined for phi = {self.phi.name}: phi jumps, so phi' contains a "
                f"Dirac delta and E[phi'^2] is infinite")

    def _require_d2(self, what: str) -> None:
        self._require_d1(what)
        if self.phi.delta_in_d2:
            raise UndefinedQuantityError(
                f"{what} is undefined for phi = {self.phi.name}: phi' jumps at {self.phi.kinks}, so "
                f"phi'' contains Dirac deltas and E[phi''^2] is infinite. Piecewise-linear networks "
                f"have zero local curvature (Poole et al., Sec. 7); compare lengths and "
                f"correlations instead")


def _depth(chi: float) -> float:
    """-1/log(chi): the depth over which a deviation decays by e; inf at chi = 1."""
    if chi <= 0:
        return 0.0
    lg = math.log(chi)
    return math.inf if lg == 0 else -1.0 / lg
