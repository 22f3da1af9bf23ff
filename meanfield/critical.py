"""The order-to-chaos transition: chi1 = 1 (Poole et al. eq. 7, Fig. 2D).

On the critical line the fixed point q* and chi1 = 1 give two equations, so the
line is most simply parametrised by q* itself:

    sigma_w^2 = 1 / E[phi'(sqrt(q) z)^2],     sigma_b^2 = q - sigma_w^2 E[phi(sqrt(q) z)^2].

Every q with sigma_b^2 >= 0 is a fixed point with chi1 = 1, but not every such point is
critical: q may be an *unstable* fixed point (x tanh x at sigma_b = 0.4, sigma_w = 1.037:
chi1 = 1.000 at q = 1.473, where dV/dq = 1.07, while the orbits go to the stable q = 0.356
with chi1 = 0.663).  Definition used throughout meanfield: (sigma_w, sigma_b) is critical
when chi1 = 1 at the q* of :class:`MeanField` there, the stable fixed point reached from
the input's q0.  :func:`critical_points` lists every chi1 = 1 fixed point at a sigma_b
with its stability and whether q0 reaches it; :func:`critical_sigma_w` returns the one
that is critical.  The line may end (x tanh x: no critical point for sigma_b < 0.53,
where the chi1 = 1 fixed points are unstable) or, for some phi, have several branches.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import fast_solvers
from .codes import Evaluation, Kind, Status, Table
from .errors import (
    MultipleCriticalPointsError,
    NoCriticalPointError,
    NoFixedPointError,
    UndefinedQuantityError,
)
from .fast_path import closed_form_of
from .nonlinearity import as_nonlinearity
from .quadrature import RTOL


@dataclass(frozen=True)
class CriticalLine:
    """Points (sigma_b, sigma_w) with chi1 = 1 at the fixed point q_star, parametrised by q*.

    NaN sigma_b where sigma_b^2 < 0.  ``slope`` is dV/dq at q*; ``stable`` = |slope| < 1: only
    there is the point critical (for the q0 in the basin of q*, see :func:`critical_points`).
    """
    q_star: np.ndarray
    sigma_w: np.ndarray
    sigma_b: np.ndarray
    slope: np.ndarray
    stable: np.ndarray


@dataclass(frozen=True)
class CriticalPoint:
    """A fixed point q_star with chi1 = 1 at (sigma_w, sigma_b).

    ``slope`` = dV/dq at q_star; ``stable``: orbits next to q_star converge to it (|slope| < 1,
    or the marginal end point q_star = 0 at sigma_b = 0); ``reached``: the orbit from ``q0``
    converges to q_star, i.e. q_star is MeanField(phi, sigma_w, sigma_b, q0=q0).q_star().
    ``critical`` = stable and reached: chi1 = 1 at the physically relevant q*.
    ``evaluation``: the path that produced the numbers (:class:`meanfield.codes.Evaluation`).
    """
    sigma_b: float
    sigma_w: float
    q_star: float
    slope: float
    stable: bool
    reached: bool
    q0: float
    evaluation: Evaluation = Evaluation.QUADRATURE

    @property
    def critical(self) -> bool:
        return self.stable and self.reached


def _sigma_w2(phi, q: float, rtol: float, cf=None) -> float:
    """sigma_w^2 = 1 / E[phi'^2] on the critical line at q* = q (chi1 = 1, Poole eq. 7)."""
    if cf is not None:
        return float(1.0 / cf.slope(q))
    return 1.0 / phi.kernels.expect(Kind.DPHI2, q, rtol)


def _sigma_b2(phi, q: float, rtol: float, cf=None) -> float:
    """sigma_b^2 = q - sigma_w^2 E[phi^2] on the critical line at q* = q (q = V(q), Poole eq. 3)."""
    e2 = float(cf.second(q)) if cf is not None else phi.kernels.expect(Kind.PHI2, q, rtol)
    return q - _sigma_w2(phi, q, rtol, cf) * e2


def _length_map_slope(phi, sw2: float, q: float, rtol: float, cf=None) -> float:
    """dV/dq = sw2 E[phi^2 (z^2 - 1)] / (2q) at q (as MeanField.length_map_slope)."""
    if cf is not None:
        return float(sw2 * cf.second_zz(q) / (2 * q))
    return sw2 * phi.kernels.expect(Kind.PHI2_ZZ, q, rtol) / (2 * q)


def _usable(phi, closed_form):
    """The closed form of phi if it has every average the critical line needs, else None."""
    cf = closed_form_of(phi, closed_form)
    return cf if cf is not None and cf.has("second", "second_zz", "slope") else None


def critical_line(phi, q=None, rtol: float = RTOL, closed_form=True) -> CriticalLine:
    r"""The chi1 = 1 line parametrised by q* (Poole et al. eq. 7, Fig. 2D).

    On the line, :math:`\sigma_w^2 = 1/E[\phi'(\sqrt{q}z)^2]` (chi1 = 1, eq. 7) and
    :math:`\sigma_b^2 = q - \sigma_w^2 E[\phi(\sqrt{q}z)^2]` (q is a fixed point of eq. 3).

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity (needs a first derivative without Dirac deltas).
    q : array_like of float, optional
        Values of q* > 0 along the line (default: 200 log-spaced in [1e-4, 1e3]).
    rtol : float
        Relative tolerance of each Gaussian expectation.
    closed_form : bool or "derive"
        Use phi's closed form where it has one (default; see :class:`meanfield.MeanField`);
        False forces the quadrature.

    Returns
    -------
    CriticalLine
        ``q_star``, ``sigma_w``, ``sigma_b`` (NaN where sigma_b^2 < 0: that q* is on no
        network's line), ``slope`` = dV/dq at q* and ``stable`` = |slope| < 1.

    Raises
    ------
    ValueError
        If ``q`` is not a 1D array of finite values > 0.
    UndefinedQuantityError
        If phi' has Dirac deltas (the line is not defined by eq. 7 then).
    """
    phi = as_nonlinearity(phi)
    _require_derivative(phi)
    q = np.logspace(-4, 3, 200) if q is None else np.atleast_1d(np.asarray(q, dtype=float))
    if q.ndim != 1 or not np.all(np.isfinite(q) & (q > 0)):
        raise ValueError("q must be a 1D array of finite values > 0 (q* on the critical line)")
    cf = _usable(phi, closed_form)
    if cf is not None:      # vectorized: the same formulas on the whole array
        sw2 = 1.0 / cf.slope(q)
        sb2 = q - sw2 * cf.second(q)
        slope = sw2 * cf.second_zz(q) / (2 * q)
    else:
        sw2 = np.array([_sigma_w2(phi, v, rtol) for v in q])
        sb2 = np.array([_sigma_b2(phi, v, rtol) for v in q])
        slope = np.array([_length_map_slope(phi, w, v, rtol) for w, v in zip(sw2, q)])
    ok = sb2 >= 0
    return CriticalLine(q_star=q, sigma_w=np.sqrt(sw2), sigma_b=np.where(ok, np.sqrt(np.abs(sb2)), np.nan),
                        slope=slope, stable=np.abs(slope) < 1)


def critical_points(phi, sigma_b: float, q0: float = 1.0, rtol: float = RTOL, *,
                    table: Table | None = None, closed_form=True) -> tuple[CriticalPoint, ...]:
    """Every fixed point with chi1 = 1 at this sigma_b, ascending in q*, flagged stable/reached
    (Poole et al. eqs. 3 and 7).

    The roots q of sigma_b^2(q) = sigma_b^2 on the q-parametrised line are found for q* in
    [1e-8, 1e8] (scan of 8 points per decade, then bracketed secant steps to 1e-15); at
    sigma_b = 0 and phi(0) = 0, phi'(0) != 0 the line ends at q* = 0, sigma_w = 1/|phi'(0)|,
    listed as that point.  For each, q* of MeanField(phi, sigma_w, sigma_b, q0=q0) decides
    ``reached`` (agreement to 1e-8 relative).

    ``table``: a :class:`~meanfield.codes.Table` of this phi
    (:func:`meanfield.kernels.tables.build_table`, as :func:`meanfield.phase_diagram` builds one);
    it only speeds up the scan, the roots are refined by quadrature at ``rtol``.

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity.
    sigma_b : float
        Standard deviation of the biases, >= 0.
    q0 : float
        Squared length per neuron of the input; decides which fixed point is q*.
    rtol : float
        Relative tolerance of the quadrature that refines each root.
    table : Table, optional
        Chebyshev tables of this phi, to speed up the scan.
    closed_form : bool or "derive"
        Use phi's closed form where it has one (default): the same scan and refinement on
        closed-form averages (:func:`meanfield.fast_solvers.critical_roots`); False forces the quadrature.

    Returns
    -------
    tuple of CriticalPoint
        Ascending in q*; those with ``.critical`` (stable and reached from q0) form the
        critical line at this sigma_b; empty if chi1 = 1 nowhere.

    Raises
    ------
    ValueError
        If sigma_b is negative or not finite.
    UndefinedQuantityError
        If phi' has Dirac deltas.
    """
    return critical_points_many(phi, [sigma_b], q0, rtol, table=table, closed_form=closed_form)[0]


def critical_points_many(phi, sigma_b, q0: float = 1.0, rtol: float = RTOL, *, table: Table | None = None,
                         closed_form=True) -> list[tuple[CriticalPoint, ...]]:
    r""":func:`critical_points` at every sigma_b of a 1D array (one tuple each): with a closed form,
    all sigma_b at once (one scan, one vectorized refinement, one vectorized q* search).

    The points where :math:`\chi_1 = 1` (Poole et al. 2016, eq. 7) at a fixed point of the
    length map (eq. 3).  For a phi of the form :math:`a x + b|x|` with a kink (ReLU, leaky
    ReLU, abs) :math:`\sigma_b^2(q) = 0` for every q, so the line is the single point
    :math:`\sigma_b = 0`, returned with ``q_star = q0`` and slope 1 (every q is marginal); other
    sigma_b get an empty tuple.

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity (its phi' must have no Dirac delta).
    sigma_b : float or array_like of float
        Standard deviations of the biases, each finite and >= 0 (flattened to 1D).
    q0 : float
        Squared length per neuron of the input; decides which fixed point is q*.
    rtol : float
        Relative tolerance of the quadrature (used where there is no closed form).
    table : Table, optional
        Chebyshev tables of this phi, to speed up the quadrature scan.
    closed_form : bool or "derive"
        Use phi's closed form where it has one (default; :func:`meanfield.fast_solvers.critical_roots`
        and :func:`meanfield.fast_solvers.q_star`); False forces the quadrature.

    Returns
    -------
    list of tuple of CriticalPoint
        One tuple per sigma_b, in the order given, each as :func:`critical_points` returns it
        (ascending in q*, flagged ``stable`` and ``reached``).

    Raises
    ------
    ValueError
        If a sigma_b is negative or not finite.
    UndefinedQuantityError
        If phi' has Dirac deltas.
    """
    phi = as_nonlinearity(phi)
    _require_derivative(phi)
    sbs = [float(b) for b in np.atleast_1d(np.asarray(sigma_b, dtype=float))]
    for b in sbs:
        if not (math.isfinite(b) and b >= 0):
            raise ValueError(f"sigma_b is a standard deviation >= 0, got {b}")
    cf = _usable(phi, closed_form)
    ev = Evaluation.CLOSED_FORM if cf is not None else Evaluation.QUADRATURE
    if phi.is_piecewise_linear and tuple(phi.kinks) == (0.0,) and float(phi.phi(np.array([0.0]))[0]) == 0.0:
        # ReLU-like: E[phi'^2] and E[phi^2]/q do not depend on q, so sigma_b^2(q) = 0 for all q:
        # the critical line is the single point sigma_b = 0, where V(q) = q (every q is marginal)
        sw = math.sqrt(_sigma_w2(phi, 1.0, rtol, cf)) if 0.0 in sbs else math.nan
        return [(CriticalPoint(sigma_b=0.0, sigma_w=sw, q_star=float(q0), slope=1.0, stable=True,
                               reached=True, q0=float(q0), evaluation=ev),) if b == 0.0 else () for b in sbs]
    if cf is None:
        return [_critical_points_quadrature(phi, b, q0, rtol, table) for b in sbs]
    roots = fast_solvers.critical_roots(cf, np.array(sbs) ** 2)
    cands = []   # (index of sigma_b, q, sigma_w)
    for j, b in enumerate(sbs):
        cj = [(j, float(q), math.sqrt(_sigma_w2(phi, float(q), rtol, cf))) for q in roots[j]]
        cands += _end_point(phi, j, b ** 2, cj)
    if not cands:
        return [() for _ in sbs]
    jj, qq, ww = (np.array(v) for v in zip(*cands))
    sb2 = np.array(sbs)[jj] ** 2
    qs, st = fast_solvers.q_star(cf, ww ** 2, sb2, float(q0))
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(qq == 0.0, 1.0, ww ** 2 * cf.second_zz(qq) / (2 * qq))
        slope_qs = ww ** 2 * cf.second_zz(qs) / (2 * qs)
    # as MeanField.q_star: an unstable fixed point reached from q0 is no q*
    ok = ((st == Status.OK) & ~((qs > 0) & (slope_qs > 1 + 1e-9))) | (st == Status.Q_ZERO)
    reached = np.where(qq > 0, ok & (np.abs(qs - qq) <= 1e-8 * qq), ok & (qs == 0.0))
    stable = np.where(qq > 0, np.abs(slope) < 1, reached)
    out = [[] for _ in sbs]
    for k in range(qq.size):
        out[jj[k]].append(CriticalPoint(sigma_b=sbs[jj[k]], sigma_w=float(ww[k]), q_star=float(qq[k]),
                                        slope=float(slope[k]), stable=bool(stable[k]), reached=bool(reached[k]),
                                        q0=float(q0), evaluation=ev))
    return [tuple(p) for p in out]


def _end_point(phi, j, target, cands):
    """At sigma_b = 0 with phi(0) = 0, phi'(0) != 0 the line ends at q* -> 0, sigma_w = 1/|phi'(0)|."""
    if target == 0.0 and float(phi.phi(np.array([0.0]))[0]) == 0.0:
        slope0 = abs(float(phi.dphi(np.array([0.0]))[0]))
        if slope0 > 0 and not any(c[1] < 1e-6 for c in cands):
            return [(j, 0.0, 1.0 / slope0)] + cands
    return cands


def _critical_points_quadrature(phi, sigma_b: float, q0: float, rtol: float, table) -> tuple[CriticalPoint, ...]:
    from .mean_field import MeanField

    target = sigma_b ** 2
    cands = []   # (q, sigma_w)
    roots = phi.kernels.critical_roots(target, rtol, table)
    cands += [(float(q), math.sqrt(_sigma_w2(phi, float(q), rtol))) for q in roots]
    if target == 0.0 and float(phi.phi(np.array([0.0]))[0]) == 0.0:
        slope0 = abs(float(phi.dphi(np.array([0.0]))[0]))
        if slope0 > 0 and not any(q < 1e-6 for q, _ in cands):
            cands.insert(0, (0.0, 1.0 / slope0))     # the end point q* -> 0
    out = []
    for q, sw in cands:
        slope = 1.0 if q == 0.0 else _length_map_slope(phi, sw * sw, q, rtol)
        try:
            qs = MeanField(phi, sw, sigma_b, rtol=max(rtol, 1e-13), q0=q0, closed_form=False).q_star()
            reached = abs(qs - q) <= 1e-8 * q if q > 0 else qs == 0.0
        except NoFixedPointError:
            qs, reached = math.nan, False
        stable = (abs(slope) < 1) if q > 0 else reached
        out.append(CriticalPoint(sigma_b=sigma_b, sigma_w=sw, q_star=q, slope=float(slope), stable=bool(stable),
                                 reached=bool(reached), q0=float(q0)))
    return tuple(out)


def critical_sigma_w(phi, sigma_b: float, rtol: float = RTOL, *, q0: float = 1.0,
                     table: Table | None = None, closed_form=True) -> float:
    """sigma_w at which chi1 = 1 at the stable q* reached from q0 (Poole Fig. 2D, dotted line).

    For sigma_b = 0 and phi(0) = 0 the line ends at q* = 0, sigma_w = 1/|phi'(0)| (critical
    if the orbit from q0 shrinks to 0 there).

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        The nonlinearity.
    sigma_b : float
        Standard deviation of the biases, >= 0.
    rtol : float
        Relative tolerance of the quadrature.
    q0 : float
        Squared length per neuron of the input; decides which fixed point is q*.
    table : Table, optional
        Chebyshev tables of this phi (see :func:`critical_points`).
    closed_form : bool or "derive"
        Use phi's closed form where it has one (default); False forces the quadrature.

    Returns
    -------
    float
        The critical sigma_w, to about 1e-13 relative.

    Raises
    ------
    NoCriticalPointError
        If no stable fixed point reached from q0 has chi1 = 1 at this sigma_b (the message
        lists unstable chi1 = 1 points); a subclass of NoFixedPointError.
    MultipleCriticalPointsError
        If several sigma_w qualify (use :func:`critical_points`).
    """
    pts = critical_points(phi, sigma_b, q0=q0, rtol=rtol, table=table, closed_form=closed_form)
    crit = [p for p in pts if p.critical]
    if len(crit) == 1:
        return crit[0].sigma_w
    name = as_nonlinearity(phi).name
    if crit:
        raise MultipleCriticalPointsError(
            f"phi = {name}, sigma_b = {sigma_b:g}: chi1 = 1 at the stable q* reached from q0 = {q0:g} for "
            f"sigma_w = {', '.join(f'{p.sigma_w:.12g}' for p in crit)}; use critical_points() for all")
    return _no_critical(name, sigma_b, q0, pts)


def _no_critical(name, sigma_b, q0, pts):
    if not pts:
        raise NoCriticalPointError(f"no fixed point of phi = {name} with chi1 = 1 has sigma_b = {sigma_b:g} "
                                   f"(q* scanned over [1e-8, 1e8])")
    why = "; ".join(f"q = {p.q_star:.6g} at sigma_w = {p.sigma_w:.10g} is "
                    + ("unstable (dV/dq = " + f"{p.slope:.4g})" if not p.stable else
                       f"stable but not reached from q0 = {q0:g}") for p in pts)
    raise NoCriticalPointError(f"phi = {name}, sigma_b = {sigma_b:g}: no critical point: chi1 = 1 only at "
                               f"fixed points that are not the q* of the network: {why}")


def _require_derivative(phi) -> None:
    if phi.delta_in_d1:
        raise UndefinedQuantityError(f"chi1 is undefined for phi = {phi.name} (phi jumps, phi' has a delta)")
