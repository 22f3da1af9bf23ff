"""Gaussian expectations of phi, phi', phi'' with known accuracy: the typed facade of the kernels.

:class:`Kernels` is the one way Python reaches the compiled kernels of a nonlinearity
(:mod:`meanfield.kernels`): typed methods that turn kernel statuses into exceptions
(:data:`meanfield.codes.STATUS_ERRORS`), so no number leaves here unverified.  It is built
once per :class:`~meanfield.Nonlinearity` (``Nonlinearity.kernels``).

Accuracy: globally adaptive Gauss-Kronrod (7/15) with QUADPACK's error estimate,
panels split at the kinks of phi and at the scales 1/sqrt(q); the default
relative tolerance is ``RTOL = 1e-13``.  Verified against closed forms (ReLU, erf)
and mpmath for q in [1e-6, 1e4] in ``tests/test_quadrature.py``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .codes import STATUS_ERRORS, Kind, Order, Status, Table
from .errors import DivergentIntegralError, MeanFieldError

RTOL = 1e-13

_KIND_NAMES = {Kind.PHI2: "phi^2", Kind.DPHI2: "phi'^2", Kind.D2PHI2: "phi''^2", Kind.PHI: "phi",
               Kind.DPHI: "phi'", Kind.PHI2_ZZ: "phi^2 (z^2-1)", Kind.D3PHI2: "phi'''^2"}
_ORDER_NAMES = {Order.PHI: "phi", Order.DPHI: "phi'"}


class CStar(NamedTuple):
    """The fixed point of the C-map at q* (Poole et al. 2016, eq. 6) and the slope there.

    Attributes
    ----------
    c_star : float
        The stable fixed point c* of the C-map (1 in the ordered phase).
    one_minus_c_star : float
        1 - c*, to full relative accuracy near c* = 1.
    chi_c : float
        The slope of the C-map at c*, sigma_w^2 E[phi'(u1) phi'(u2)] (docs/derivations.md
        eq. D6; chi1 of eq. 7 when c* = 1).
    """
    c_star: float
    one_minus_c_star: float
    chi_c: float


def check_status(status: int, what: str, nonlinearity) -> None:
    """Raise the exception that a kernel status stands for (:data:`meanfield.codes.STATUS_ERRORS`).

    For a divergent or non-finite integrand of a phi that grows like
    :math:`e^{a x^2}`, the message says where the Gaussian moments diverge:
    :math:`E[\\phi(\\sqrt{q} z)^2]` is finite only for :math:`q < 1/(4a)`.

    Parameters
    ----------
    status : int
        A kernel status (a :class:`~meanfield.codes.Status` or its value).
    what : str
        What was computed, for the message (e.g. ``"E[phi^2] at q = 1"``).
    nonlinearity : Nonlinearity
        The nonlinearity (its ``name`` and expression go into the message).

    Raises
    ------
    DivergentIntegralError
        For Status.NONFINITE and Status.DIVERGENT.
    NotConvergedError
        For Status.NOT_CONVERGED, Q_UNRESOLVED and NEEDS_NESTED.
    NoFixedPointError
        For Status.Q_DIVERGES and Q_DIVERGES_FROM_Q0.
    ValueError
        If ``status`` is no :class:`~meanfield.codes.Status` value.  (Status.Q_ZERO has no
        exception in STATUS_ERRORS: it raises ``KeyError``; callers handle it first.)
    """
    status = Status(int(status))
    if status == Status.OK:
        return
    error = STATUS_ERRORS.get(status, MeanFieldError)     # statuses a caller handles itself (Q_ZERO)
    name = nonlinearity.name
    if status in (Status.NONFINITE, Status.DIVERGENT):
        a = _gaussian_growth(nonlinearity)
        if a is not None:
            raise DivergentIntegralError(
                f"{what} for phi = {name} diverges: phi grows like exp({a:.6g} x^2), so the "
                f"Gaussian moments of phi^2 (and phi'^2, phi''^2) are infinite for q >= 1/(4*{a:.6g}) = "
                f"{1 / (4 * a):.6g}; use sigma_w, sigma_b and q0 that keep q below that")
    if status == Status.NONFINITE:
        raise error(f"{what} for phi = {name}: the integrand is not finite (overflow or a "
                    f"singularity of phi); rewrite phi in a numerically stable form or use a smaller q")
    if status == Status.DIVERGENT:
        raise error(f"{what} for phi = {name} diverges: the integrand still matters at |z| = 45 "
                    f"standard deviations (phi grows too fast for the Gaussian measure)")
    raise error(f"{what} for phi = {name}: adaptive quadrature did not reach its tolerance "
                f"(status {status.name}); loosen rtol or check phi for singularities")


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


def _kind(kind) -> Kind:
    names = ", ".join("Kind." + k.name for k in _KIND_NAMES)
    try:
        member = Kind(kind)
    except ValueError:
        raise ValueError(f"unknown integrand kind {kind!r}; use one of {names} (meanfield.codes.Kind)") from None
    if member not in _KIND_NAMES:     # the others are inner integrands of the 2D kernels, with parameters
        raise ValueError(f"integrand kind {kind!r} is not a one-dimensional expectation; use one of "
                         f"{names} (meanfield.codes.Kind)")
    return member


def _order(order) -> Order:
    try:
        return Order(order)
    except ValueError:
        raise ValueError(f"unknown derivative order {order!r}; use 0 (phi) or 1 (phi') "
                         f"(meanfield.codes.Order)") from None


class Kernels:
    """The compiled kernels of one nonlinearity behind typed methods that raise on failure.

    Get it as ``Nonlinearity(...).kernels`` (built once per nonlinearity); ``module`` is the
    compiled kernel module itself (for grids: :mod:`meanfield.phase`, the benchmarks).
    Building it compiles (or loads from the cache) the kernels of phi.

    Parameters
    ----------
    nonlinearity : Nonlinearity
        The nonlinearity whose kernels these are.

    Attributes
    ----------
    nonlinearity : Nonlinearity
        The nonlinearity.
    module : BoundKernels
        Its kernels with phi bound (:func:`meanfield.kernels.kernels_for`): ``module.f(*args)``
        calls the kernel ``f`` with the :class:`~meanfield.codes.PhiCode` of phi first.
    no_table : Table
        A :class:`~meanfield.codes.Table` that serves nothing: single points integrate directly.
    """

    def __init__(self, nonlinearity):
        from .kernels import kernels_for

        self.nonlinearity = nonlinearity
        self.module = kernels_for(nonlinearity)
        #: a table that serves nothing: single points integrate directly
        self.no_table: Table = self.module.no_table()

    def __repr__(self) -> str:
        return f"Kernels({self.nonlinearity.name!r})"

    def check(self, status, what: str) -> None:
        """Raise the exception of a failure ``status`` (nothing for Status.OK); see :func:`check_status`.

        Parameters
        ----------
        status : Status or int
            A kernel status.
        what : str
            What was computed, for the message.

        Raises
        ------
        MeanFieldError
            The subclass of :data:`meanfield.codes.STATUS_ERRORS` for a failure status.
        """
        check_status(status, what, self.nonlinearity)

    def workspace(self) -> np.ndarray:
        """A fresh workspace for the kernels' adaptive quadrature (the ``W`` argument of the kernels).

        Returns
        -------
        numpy.ndarray of shape (7, MAXPANELS)
            Uninitialised scratch memory (:func:`meanfield.kernels.fragments.gk15.workspace`).
        """
        return self.module.workspace()

    # --- Gaussian expectations -----------------------------------------------------------------
    def expect(self, kind: Kind, q: float, rtol: float = RTOL) -> float:
        r"""E[g(\sqrt{q} z)], z ~ N(0, 1), for g of the given :class:`~meanfield.codes.Kind`.

        Globally adaptive Gauss-Kronrod (7/15), method 1 of docs/derivations.md Sec. 7.  E.g.
        Kind.PHI2 gives the integral of the length map (Poole et al. 2016, eq. 3), Kind.DPHI2
        that of chi1 (eq. 7), Kind.D2PHI2 that of chi2 (eq. 9).

        Parameters
        ----------
        kind : Kind
            The integrand g: PHI2, DPHI2, D2PHI2, PHI, DPHI, PHI2_ZZ or D3PHI2.
        q : float
            The variance (finite, >= 0).
        rtol : float, optional
            Relative tolerance (default ``RTOL = 1e-13``).

        Returns
        -------
        float
            The expectation, within ``rtol`` (or 1e-15 of E|g| for integrals that cancel).

        Raises
        ------
        ValueError
            If ``kind`` is not a :class:`~meanfield.codes.Kind` or ``q`` is not a finite
            number >= 0.
        NotConvergedError
            If the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        kind = _kind(kind)
        q = float(q)
        if not (q >= 0 and math.isfinite(q)):
            raise ValueError(f"q must be a finite variance >= 0, got {q}")
        value, _err, status = self.module.expect1(kind, 0.0, math.sqrt(q), float(rtol), 1e-15)
        self.check(status, f"E[{_KIND_NAMES[kind]}] at q = {q:g}")
        return float(value)

    def expect2(self, order_a: Order, order_b: Order, q11: float, q22: float, c: float,
                one_minus_c: float | None = None, rtol: float = RTOL) -> float:
        r"""E[A(u1) B(u2)] with A, B = phi^(order) and (u1, u2) Gaussian (Poole et al. 2016, eq. 5).

        u1 = \sqrt{q11} z1, u2 = \sqrt{q22} (c z1 + \sqrt{1-c^2} z2).  Pass ``one_minus_c``
        when c is within rounding of 1 to keep full accuracy.  Nested adaptive quadrature,
        method 2 of docs/derivations.md Sec. 7.

        Parameters
        ----------
        order_a, order_b : Order
            A = phi^(order_a), B = phi^(order_b) (0: phi, 1: phi'; :class:`~meanfield.codes.Order`).
        q11, q22 : float
            Variances of u1 and u2 (>= 0).
        c : float
            Correlation of u1 and u2, in [-1, 1].
        one_minus_c : float, optional
            1 - c, exactly (default: computed as ``1 - c``).
        rtol : float, optional
            Relative tolerance (default ``RTOL = 1e-13``).

        Returns
        -------
        float
            E[A(u1) B(u2)].

        Raises
        ------
        ValueError
            If an order is not an :class:`~meanfield.codes.Order`.
        NotConvergedError
            If the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        order_a, order_b = _order(order_a), _order(order_b)
        q11, q22, c = float(q11), float(q22), float(c)
        omc = float(1.0 - c if one_minus_c is None else one_minus_c)
        value, _err, status = self.module.expect2(order_a, order_b, False, q11, q22, c, omc, float(rtol))
        self.check(status, f"E[{_ORDER_NAMES[order_a]}(u1) {_ORDER_NAMES[order_b]}(u2)] at "
                   f"q11 = {q11:g}, q22 = {q22:g}, c = {c:g}")
        return float(value)

    def gap(self, q: float, c: float, one_minus_c: float | None = None, rtol: float = RTOL) -> float:
        r"""E[(phi(u1) - phi(u2))^2] / 2 for u1, u2 of variance q and correlation c (Poole et al. 2016, eq. 5).

        Equals E[phi^2] - E[phi(u1) phi(u2)], computed without that cancellation; it gives
        1 - c' of the C-map to full relative accuracy as c -> 1 (docs/derivations.md eq. D5:
        1 - c' = sigma_w^2 gap / q*).  Method 2 of docs/derivations.md Sec. 7, or method 4 (the
        certified expansion) for 1 - c < 1e-3 when phi''' has no Dirac delta.

        Parameters
        ----------
        q : float
            The variance of u1 and u2 (>= 0).
        c : float
            Their correlation, in [-1, 1].
        one_minus_c : float, optional
            1 - c, exactly (default: computed as ``1 - c``); pass it when c is within rounding of 1.
        rtol : float, optional
            Relative tolerance (default ``RTOL = 1e-13``).

        Returns
        -------
        float
            The gap E[(phi(u1) - phi(u2))^2] / 2.

        Raises
        ------
        NotConvergedError
            If the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        q, c = float(q), float(c)
        omc = float(1.0 - c if one_minus_c is None else one_minus_c)
        value, _err, status = self.module.expect2(Order.PHI, Order.PHI, True, q, q, c, omc, float(rtol))
        self.check(status, f"E[(phi(u1)-phi(u2))^2]/2 at q = {q:g}, c = {c:g}")
        return float(value)

    # --- maps and fixed points -----------------------------------------------------------------
    def length_map(self, sw2: float, sb2: float, q: float, rtol: float = RTOL) -> tuple[float, float]:
        """The length map V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 (Poole et al. 2016, eq. 3).

        Parameters
        ----------
        sw2 : float
            sigma_w^2, the weight variance.
        sb2 : float
            sigma_b^2, the bias variance.
        q : float
            The squared length q^(l-1) (>= 0).
        rtol : float, optional
            Relative tolerance of the integrals (default ``RTOL = 1e-13``).

        Returns
        -------
        value : float
            V(q) = q^l.
        error : float
            Its error bound (sw2 times the quadrature's estimate for E[phi^2]).

        Raises
        ------
        NotConvergedError
            If the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        v, e, st = self.module.length_map(self.workspace(), self.no_table, float(sw2), float(sb2), float(q),
                                          float(rtol))
        self.check(st, f"V(q) at q = {q:g}")
        return float(v), float(e)

    def q_star(self, sw2: float, sb2: float, q0: float, rtol: float = RTOL) -> tuple[float, Status]:
        """The fixed point q* = V(q*) of the length map (Poole et al. 2016, eq. 3) reached from q0.

        The caller decides what Q_DIVERGES, Q_UNRESOLVED and Q_ZERO mean for it; any other
        failure raises.  See :func:`meanfield.kernels.fragments.q_star.q_star`.

        Parameters
        ----------
        sw2 : float
            sigma_w^2, the weight variance.
        sb2 : float
            sigma_b^2, the bias variance.
        q0 : float
            The starting squared length q^1 (> 0).
        rtol : float, optional
            Relative tolerance of the integrals (default ``RTOL = 1e-13``).

        Returns
        -------
        q : float
            q* for Status.OK; for Status.Q_UNRESOLVED the largest q up to which V(q) > q is
            certified; inf for Status.Q_DIVERGES; 0 for Status.Q_ZERO.
        status : Status
            Status.OK, Q_DIVERGES (no finite fixed point above q0), Q_UNRESOLVED (V(q) - q not
            resolved above the returned q) or Q_ZERO (q* = 0, sigma_b = 0).

        Raises
        ------
        NotConvergedError
            If the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        q, st = self.module.q_star(self.workspace(), self.no_table, float(sw2), float(sb2), float(q0),
                                   float(rtol))
        st = Status(int(st))
        if st not in (Status.OK, Status.Q_DIVERGES, Status.Q_UNRESOLVED, Status.Q_ZERO):
            self.check(st, "q* search")
        return float(q), st

    def fixed_point_between(self, sw2: float, sb2: float, lo: float, hi: float, rtol: float = RTOL) -> float:
        """The fixed point q = V(q) in [lo, hi], where V(q) - q changes sign: the root finder of the
        q* search (bracketed secant steps with the Illinois rule, to 4e-16 relative).

        Parameters
        ----------
        sw2 : float
            sigma_w^2, the weight variance.
        sb2 : float
            sigma_b^2, the bias variance.
        lo, hi : float
            The interval, lo < hi.
        rtol : float, optional
            Relative tolerance of the integrals (default ``RTOL = 1e-13``).

        Returns
        -------
        float
            The fixed point of the length map (Poole et al. 2016, eq. 3) in [lo, hi].

        Raises
        ------
        NotConvergedError
            If V(q) - q does not change sign on [lo, hi], the refinement does not converge, or
            the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or the expectation diverges.
        """
        q, st = self.module.fixed_point_between(self.workspace(), self.no_table, float(sw2), float(sb2), float(lo),
                                                float(hi), float(rtol))
        self.check(st, f"fixed point of V in [{lo:g}, {hi:g}]")
        return float(q)

    def convergence_depth(self, sw2: float, sb2: float, q0: float, q_star: float, tol: float, max_depth: int,
                          rtol: float = RTOL) -> int:
        """Layers until |q^l - q*| <= tol q* from q^1 = q0, or -1 if not within max_depth
        (Poole et al. 2016, Fig. 1D, where tol = 0.01).

        Parameters
        ----------
        sw2 : float
            sigma_w^2, the weight variance.
        sb2 : float
            sigma_b^2, the bias variance.
        q0 : float
            The starting squared length q^1.
        q_star : float
            The fixed point q* (from :meth:`q_star`).
        tol : float
            Relative distance from q* counted as converged.
        max_depth : int
            Most layers to try.
        rtol : float, optional
            Relative tolerance of the integrals (default ``RTOL = 1e-13``).

        Returns
        -------
        int
            Applications of the length map until q is within tol q* of q* (0 if q0 already
            is); -1 if not within ``max_depth`` or if a quadrature failed (no exception).
        """
        return int(self.module.convergence_depth(self.workspace(), self.no_table, float(sw2), float(sb2),
                                                 float(q0), float(q_star), float(tol), int(max_depth),
                                                 float(rtol)))

    def c_star(self, sw2: float, q: float, chi1: float, rtol: float = RTOL) -> CStar:
        """c*, 1 - c* and chi_c at c* of the C-map at q (Poole et al. 2016, eq. 6): Mehler series
        where its bound certifies them, else adaptive quadrature (rotated coordinates or nested).

        Methods 3, 6 and 2 of docs/derivations.md Sec. 7 in that order; see
        :func:`meanfield.kernels.fragments.c_star.c_star_and_chi`.

        Parameters
        ----------
        sw2 : float
            sigma_w^2, the weight variance.
        q : float
            The squared length of both inputs, normally q* (> 0).
        chi1 : float
            sigma_w^2 E[phi'(sqrt(q) z)^2] (Poole et al. 2016, eq. 7); chi1 <= 1 is the ordered
            phase, c* = 1.
        rtol : float, optional
            Relative tolerance of c* and chi_c (default ``RTOL = 1e-13``).

        Returns
        -------
        CStar
            c_star, one_minus_c_star and chi_c (:class:`CStar`).

        Raises
        ------
        NotConvergedError
            If the root search or the quadrature does not reach ``rtol``.
        DivergentIntegralError
            If the integrand is not finite or an expectation diverges.
        """
        K = self.module
        cs, omc, chic, status, _method = K.c_star_and_chi(self.workspace(), self.no_table, float(sw2), float(q),
                                                         float(chi1), float(rtol))
        if status == Status.NEEDS_NESTED:
            cs, omc, chic, status, _method = K.c_star_nested(float(sw2), float(q), float(chi1), float(rtol), cs)
        self.check(status, "c* search")
        return CStar(float(cs), float(omc), float(chic))

    def critical_roots(self, sb2: float, rtol: float = RTOL, table: Table | None = None) -> np.ndarray:
        """Every q in [1e-8, 1e8] on the critical line chi1 = 1 with sigma_b^2 = sb2, ascending.

        The q where chi1 = 1 (Poole et al. 2016, eq. 7) and q = V(q) (eq. 3) at once, with
        sigma_w^2 = 1/E[phi'^2] and sigma_b^2 = sb2 (docs/derivations.md Sec. 3); whether q is
        a stable fixed point reached from q0 is left to the caller.  At most CRIT_MAX_ROOTS = 16.

        Parameters
        ----------
        sb2 : float
            sigma_b^2, the bias variance.
        rtol : float, optional
            Relative tolerance of the refinement (default ``RTOL = 1e-13``).
        table : Table, optional
            A :class:`~meanfield.codes.Table` of :func:`meanfield.kernels.tables.build_table`;
            it only speeds up the scan; results are refined by quadrature at ``rtol``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            The q on the critical line, ascending (empty if none).

        Raises
        ------
        NotConvergedError
            If the refinement of a root does not converge.
        """
        K = self.module
        roots = np.empty(K.CRIT_MAX_ROOTS)
        n, status = K.critical_roots(self.workspace(), self.no_table if table is None else table, float(sb2),
                                     float(rtol), roots)
        self.check(status, "critical-line search")
        return roots[:n].copy()


def kernels(nonlinearity) -> Kernels:
    """The :class:`Kernels` of ``nonlinearity`` (a Nonlinearity or a spec it accepts), built once.

    Parameters
    ----------
    nonlinearity : Nonlinearity or str or sympy.Expr
        A :class:`~meanfield.Nonlinearity`, or a spec it accepts (registry name or expression).

    Returns
    -------
    Kernels
        The nonlinearity's :class:`Kernels` (``Nonlinearity.kernels``).
    """
    from .nonlinearity import as_nonlinearity
    return as_nonlinearity(nonlinearity).kernels


def gauss_expect(nonlinearity, kind: Kind, q: float, rtol: float = RTOL) -> float:
    r"""E[g(\sqrt{q} z)], z ~ N(0, 1), for g of the given :class:`~meanfield.codes.Kind` (e.g. PHI2 = phi^2).

    See :meth:`Kernels.expect`.

    Parameters
    ----------
    nonlinearity : Nonlinearity or str or sympy.Expr
        A :class:`~meanfield.Nonlinearity`, or a spec it accepts (registry name or expression).
    kind : Kind
        The integrand g: PHI2, DPHI2, D2PHI2, PHI, DPHI, PHI2_ZZ or D3PHI2.
    q : float
        The variance (finite, >= 0).
    rtol : float, optional
        Relative tolerance (default ``RTOL = 1e-13``).

    Returns
    -------
    float
        The expectation.

    Raises
    ------
    ValueError
        If ``kind`` or ``q`` is invalid.
    NotConvergedError
        If the quadrature does not reach ``rtol``.
    DivergentIntegralError
        If the integrand is not finite or the expectation diverges.
    """
    return kernels(nonlinearity).expect(kind, q, rtol)


def gauss_expect2(nonlinearity, order_a: Order, order_b: Order, q11: float, q22: float,
                  c: float, one_minus_c: float | None = None, rtol: float = RTOL) -> float:
    r"""E[A(u1) B(u2)] with A, B = phi^(order) (0: phi, 1: phi') and (u1, u2) Gaussian (Poole et al.
    2016, eq. 5); see :meth:`Kernels.expect2`.

    Parameters
    ----------
    nonlinearity : Nonlinearity or str or sympy.Expr
        A :class:`~meanfield.Nonlinearity`, or a spec it accepts (registry name or expression).
    order_a, order_b : Order
        A = phi^(order_a), B = phi^(order_b) (:class:`~meanfield.codes.Order`).
    q11, q22 : float
        Variances of u1 and u2 (>= 0).
    c : float
        Correlation of u1 and u2, in [-1, 1].
    one_minus_c : float, optional
        1 - c, exactly (default: computed as ``1 - c``).
    rtol : float, optional
        Relative tolerance (default ``RTOL = 1e-13``).

    Returns
    -------
    float
        E[A(u1) B(u2)].

    Raises
    ------
    ValueError
        If an order is not an :class:`~meanfield.codes.Order`.
    NotConvergedError
        If the quadrature does not reach ``rtol``.
    DivergentIntegralError
        If the integrand is not finite or the expectation diverges.
    """
    return kernels(nonlinearity).expect2(order_a, order_b, q11, q22, c, one_minus_c, rtol)


def gauss_gap(nonlinearity, q: float, c: float, one_minus_c: float | None = None, rtol: float = RTOL) -> float:
    r"""E[(phi(u1) - phi(u2))^2] / 2 for u1, u2 of variance q and correlation c; see :meth:`Kernels.gap`.

    Parameters
    ----------
    nonlinearity : Nonlinearity or str or sympy.Expr
        A :class:`~meanfield.Nonlinearity`, or a spec it accepts (registry name or expression).
    q : float
        The variance of u1 and u2 (>= 0).
    c : float
        Their correlation, in [-1, 1].
    one_minus_c : float, optional
        1 - c, exactly (default: computed as ``1 - c``).
    rtol : float, optional
        Relative tolerance (default ``RTOL = 1e-13``).

    Returns
    -------
    float
        The gap E[(phi(u1) - phi(u2))^2] / 2 (docs/derivations.md eq. D5).

    Raises
    ------
    NotConvergedError
        If the quadrature does not reach ``rtol``.
    DivergentIntegralError
        If the integrand is not finite or the expectation diverges.
    """
    return kernels(nonlinearity).gap(q, c, one_minus_c, rtol)
