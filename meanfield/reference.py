r"""High-precision reference values of the mean-field integrals, computed with mpmath.

This module is deliberately independent of the fast quadrature used by
:class:`meanfield.MeanField`: it evaluates the Gaussian integrals of Poole et al.
(2016) with mpmath's adaptive quadrature (``mp.quad``) at 20-30 significant digits,
so that tests can check the fast path against it.  It is slow (see the timings
below) and is not meant for production use.

Gaussian integrals are written with the standard Gaussian measure
:math:`\mathcal{D}z = e^{-z^2/2}\,dz/\sqrt{2\pi}` (Poole et al. eq. 3).  Every
integral is split into pieces on which the integrand is smooth:

* at the kinks :math:`k` of the nonlinearity, mapped to :math:`z = k/\sqrt{q}`, so
  that no piece contains a jump of :math:`\phi` or of a derivative;
* at :math:`z = \pm 2.5, \pm 5.5, \pm 9`, the scale of the Gaussian itself;
* for :math:`q \ge 1`, at :math:`z = 0` and :math:`z = \pm 4^j/\sqrt{q}`
  (:math:`j = -1, \dots, 3`, below 1.25), where :math:`\phi(\sqrt{q} z)` changes on
  the scale of its own argument, so that large :math:`q` (a nonlinearity that
  saturates within a tiny range of :math:`z`) stays accurate.

Accuracy and cost
-----------------
``mp.quad`` stops when successive refinements agree to about :math:`10^{-\mathrm{dps}}`
in absolute terms; a piece that does not converge raises
:class:`~meanfield.errors.NotConvergedError` rather than returning a doubtful number.
Measured relative errors of 1D integrals at dps = 30 (checked against dps = 50
for ten registry nonlinearities, q from 1e-3 to 1e4): below 1e-29.  Oscillating
nonlinearities at large q (sin at q = 1e4: a hundred periods per unit of z) do not
converge and raise.

Timings on the 2-core sandbox: a 1D integral at dps = 30 takes 0.02-0.1 s, q_star
about 0.5 s; a 2D integral (:func:`gauss_expect2`, nested Gauss-Legendre on a
Gaussian truncated where its weight is below :math:`10^{-\mathrm{dps}-8}`) at
dps = 20 takes 1.5-2 s for ReLU, 5-6 s for tanh and 7-15 s for erf (mpmath's erf
is slow) at q <= 3; at q = 1e4 the finer splitting makes it 2-3 times slower.
The working precision hardly changes the 2D cost (dps = 16 is 20% cheaper than 20).

References
----------
B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli, "Exponential
expressivity in deep neural networks through transient chaos", NeurIPS 2016.
"""
from __future__ import annotations

import itertools

import mpmath as mp
import sympy as sp

from .errors import DivergentIntegralError, MeanFieldError, NoFixedPointError, NotConvergedError, UndefinedQuantityError
from .expression import x
from .nonlinearity import as_nonlinearity

#: Default working precision (decimal digits) of 1D integrals.
DPS = 30
#: Default working precision of 2D integrals (nested quadrature is slow).
DPS_2D = 20

_GAUSS_SCALE = (2.5, 5.5, 9)          # |z| breakpoints: the scale of the Gaussian weight
_ARG_SCALE = (0.25, 1, 4, 16, 64)   # |x|: grading where phi's argument varies fast
_Z_MAX = 40                          # beyond |z| = 40 the Gaussian weight is below 1e-347
_SLACK_DIGITS = 5                    # accept an error estimate up to 10**(5 - dps)


# --- Gaussian integrals ----------------------------------------------------------

def gauss_expect(f, q, kinks=(), dps=DPS):
    r"""Gaussian average :math:`E[f(\sqrt{q}\,z)] = \int \mathcal{D}z\, f(\sqrt{q}\,z)`.

    Parameters
    ----------
    f : callable
        Takes and returns mpmath numbers (e.g. from :func:`mp_functions`).
    q : float or mpf
        Variance of the argument, :math:`q \ge 0`.
    kinks : sequence of float
        Points :math:`x` where :math:`f` or a derivative is not smooth; the
        integral is split at :math:`z = x/\sqrt{q}`.
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        The average, accurate to about :math:`10^{-\mathrm{dps}}` (absolute).

    Raises
    ------
    MeanFieldError
        If ``q < 0``.
    NotConvergedError
        If the quadrature does not converge.
    """
    with mp.workdps(dps):
        q = _variance(q, "q")
        if q == 0:
            return +f(mp.mpf(0))
        sq = mp.sqrt(q)
        return _gauss_integral(lambda z: f(sq * z), _breakpoints([(0, sq, kinks)]), dps, "tanh-sinh")


def gauss_expect2(f, g, q11, q22, c, kinks_f=(), kinks_g=(), dps=DPS_2D):
    r"""Bivariate Gaussian average :math:`E[f(u_1)\,g(u_2)]` of Poole et al. eq. 5.

    .. math::
        u_1 = \sqrt{q_{11}}\, z_1, \qquad
        u_2 = \sqrt{q_{22}}\,\bigl(c\, z_1 + \sqrt{1-c^2}\, z_2\bigr),

    with :math:`z_1, z_2` independent standard Gaussians, so that
    :math:`\langle u_a u_b\rangle = q_{ab}` with :math:`q_{12} = c\sqrt{q_{11} q_{22}}`.
    Computed as nested 1D integrals: the inner one over :math:`z_2` at fixed
    :math:`z_1`, split where :math:`u_2` crosses a kink of :math:`g`; the outer one
    split at the kinks of :math:`f` (in :math:`z_1`) and where
    :math:`\sqrt{q_{22}}\, c\, z_1` crosses a kink of :math:`g` (for small
    :math:`1-c^2` the inner average is nearly kinked there).  For :math:`|c| = 1`
    the average is the 1D integral :math:`E[f(\sqrt{q_{11}} z)\, g(\pm\sqrt{q_{22}} z)]`.

    Parameters
    ----------
    f, g : callable
        mpmath callables.
    q11, q22 : float or mpf
        Variances, :math:`\ge 0`.
    c : float or mpf
        Correlation coefficient, :math:`-1 \le c \le 1`.
    kinks_f, kinks_g : sequence of float
        Non-smooth points of ``f`` and ``g``.
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf

    Raises
    ------
    MeanFieldError
        For a variance below 0 or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    """
    return _expect2(f, lambda fu1, u2: fu1 * g(u2), q11, q22, c, kinks_f, kinks_g, dps)


def gauss_gap(f, q, c, kinks=(), dps=DPS_2D):
    r"""Half mean squared difference :math:`\tfrac12 E[(f(u_1) - f(u_2))^2]` at :math:`q_{11} = q_{22} = q`.

    Equal to :math:`E[f(u_1)^2] - E[f(u_1) f(u_2)]` (the two marginals are equal),
    but computed without the cancellation that difference suffers as
    :math:`c \to 1`: the distance of the correlation map from its fixed point at
    1 is :math:`1 - c^{l} = \sigma_w^2\, \tfrac12 E[(\phi(u_1)-\phi(u_2))^2] / \mathcal{V}(q)`.

    Parameters
    ----------
    f : callable
        mpmath callable (e.g. :math:`\phi` from :func:`mp_functions`).
    q : float or mpf
        Common variance :math:`q_{11} = q_{22} = q \ge 0` of :math:`u_1, u_2`.
    c : float or mpf
        Correlation coefficient, :math:`-1 \le c \le 1`.
    kinks : sequence of float
        Non-smooth points of ``f``.
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf
        :math:`\tfrac12 E[(f(u_1) - f(u_2))^2]`, non-negative.

    Raises
    ------
    MeanFieldError
        For :math:`q < 0` or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    """
    return _expect2(f, lambda fu1, u2: (fu1 - f(u2)) ** 2 / 2, q, q, c, kinks, kinks, dps)


def _expect2(f, h, q11, q22, c, kinks1, kinks2, dps):
    """E[h(f(u1), u2)] for the Gaussian pair of Poole eq. 5 (see :func:`gauss_expect2`).

    ``f(u1)`` is evaluated once per outer node, not once per inner one.
    """
    with mp.workdps(dps):
        q11, q22 = _variance(q11, "q11"), _variance(q22, "q22")
        c = mp.mpf(c)
        if abs(c) > 1:
            raise MeanFieldError(f"correlation c = {mp.nstr(c, 8)} is outside [-1, 1]")
        s11, s22 = mp.sqrt(q11), mp.sqrt(q22)
        outer = [(0, s11, kinks1), (0, s22 * c, kinks2)]
        if abs(c) == 1 or q22 == 0:
            # u2 is a deterministic multiple of z1: a 1D integral
            return _gauss_integral(lambda z: h(f(s11 * z), s22 * c * z), _breakpoints(outer), dps,
                                   "tanh-sinh")
        b2 = s22 * mp.sqrt(1 - c * c)
        # truncated Gaussian (checked by _gauss_integral): infinite tails would cost 30% more
        z_max = mp.sqrt(2 * (dps + 8) * mp.log(10))

        def inner(z1):
            fu1, a2 = f(s11 * z1), s22 * c * z1
            points = _breakpoints([(a2, b2, kinks2)], z_max=z_max)
            return _gauss_integral(lambda z2: h(fu1, a2 + b2 * z2), points, dps, "gauss-legendre")

        # the outer points include g's kinks at sqrt(q22) c z1 = k: for small 1 - c^2 the
        # inner average is a barely smoothed g(sqrt(q22) c z1), nearly kinked there
        width = b2 / abs(s22 * c) if c != 0 else mp.inf
        smoothed = [(k / (s22 * c), width) for k in kinks2] if width < 1 else []
        points = _breakpoints(outer, smoothed, z_max=z_max)
        return _gauss_integral(inner, points, dps, "gauss-legendre")


# --- the nonlinearity as mpmath functions -------------------------------------------

#: sigmoid and softplus print their own mpmath code (meanfield.expression)
_MP_MODULES = "mpmath"


def mp_functions(nonlinearity):
    r"""mpmath callables :math:`(\phi, \phi', \phi'')` of a nonlinearity.

    Built from the sympy expressions ``pw``, ``d1``, ``d2`` of
    :class:`~meanfield.nonlinearity.Nonlinearity` with ``sympy.lambdify(...,
    "mpmath")`` (``Piecewise`` becomes a conditional expression).  The
    derivatives are the classical ones, piece by piece: Dirac deltas at kinks are
    not represented (see ``delta_in_d1``/``delta_in_d2``).

    Parameters
    ----------
    nonlinearity : Nonlinearity or spec accepted by it

    Returns
    -------
    tuple of three callables
    """
    nl = as_nonlinearity(nonlinearity)
    return tuple(sp.lambdify(x, e, modules=_MP_MODULES) for e in (nl.pw, nl.d1, nl.d2))


# --- reference versions of the theory (Poole et al. 2016) ---------------------------

def length_map(phi, sigma_w, sigma_b, q, dps=DPS):
    r"""Length map, Poole et al. eq. 3.

    .. math:: \mathcal{V}(q \mid \sigma_w, \sigma_b) = \sigma_w^2 \int \mathcal{D}z\,
              \phi(\sqrt{q}\, z)^2 + \sigma_b^2 .

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q : float or mpf
        Squared length per neuron :math:`q^{l-1} \ge 0` of the layer below.
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        :math:`q^l = \mathcal{V}(q)`.

    Raises
    ------
    MeanFieldError
        If ``q < 0``.
    NotConvergedError
        If the quadrature does not converge.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    f = mp_functions(nl)[0]
    return _length_map(f, nl.kinks, sigma_w, sigma_b, q, dps)


def _length_map(f, kinks, sigma_w, sigma_b, q, dps):
    with mp.workdps(dps):
        return mp.mpf(sigma_w) ** 2 * gauss_expect(lambda u: f(u) ** 2, q, kinks, dps) + mp.mpf(sigma_b) ** 2


def length_map_slope(phi, sigma_w, sigma_b, q, dps=DPS):
    r"""Slope of the length map, :math:`d\mathcal{V}/dq`, by Stein's identity.

    .. math:: \frac{d\mathcal{V}}{dq} = \sigma_w^2\, E[\phi'^2 + \phi\,\phi'']
              = \frac{\sigma_w^2}{2q}\, E\bigl[\phi(\sqrt{q}z)^2\,(z^2 - 1)\bigr],

    the second form (differentiating the Gaussian density in :math:`q`) needs no
    derivative of :math:`\phi`, so it holds at kinks too (Dirac deltas in
    :math:`\phi''` included).  At :math:`q = q^*` this is :math:`e^{-1/\xi_q}`
    (Schoenholz et al. 2017).

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q : float or mpf
        Squared length per neuron, :math:`q > 0`.
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        :math:`d\mathcal{V}/dq` at ``q``.

    Raises
    ------
    MeanFieldError
        If ``q <= 0`` (the Stein form divides by q).
    NotConvergedError
        If the quadrature does not converge.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    f = mp_functions(nl)[0]
    with mp.workdps(dps):
        q = _variance(q, "q")
        if q == 0:
            raise MeanFieldError("the Stein form of dV/dq needs q > 0")
        sq = mp.sqrt(q)
        moment = gauss_expect(lambda u: f(u) ** 2 * ((u / sq) ** 2 - 1), q, nl.kinks, dps)
        return mp.mpf(sigma_w) ** 2 * moment / (2 * q)


def q_star(phi, sigma_w, sigma_b, q0=1.0, dps=DPS):
    r"""Fixed point :math:`q^* = \mathcal{V}(q^*)` of the length map reached from ``q0``.

    Iterates eq. 3 a few times from :math:`q^0`, brackets the root of
    :math:`F(q) = \mathcal{V}(q) - q` around the iterate with :math:`F > 0` below and
    :math:`F < 0` above (a stable crossing) in steps of a factor 4, then refines it
    with the bracketing solver of ``mp.findroot`` (Anderson-Bjorck).  Returns 0 if
    :math:`F < 0` all the way down to :math:`q = 10^{-30}` (e.g. tanh with
    :math:`\sigma_b = 0`, :math:`\sigma_w \le 1`), and the iterate itself where
    :math:`F` vanishes there (a map that is the identity, e.g. ReLU at
    :math:`\sigma_w^2 = 2`, :math:`\sigma_b = 0`).

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q0 : float, optional
        Starting squared length :math:`\ge 0` (default 1); selects the basin where the
        map has several stable fixed points.
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        :math:`q^*` (0 where the length decays to 0).

    Raises
    ------
    NoFixedPointError
        If :math:`F > 0` up to :math:`q = 10^{30}` (the length diverges).
    MeanFieldError
        If ``q0 < 0``.
    NotConvergedError
        If a quadrature or the root finder does not converge.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    f = mp_functions(nl)[0]
    with mp.workdps(dps):
        def F(q):
            return _length_map(f, nl.kinks, sigma_w, sigma_b, q, dps) - q

        q = _variance(q0, "q0")
        for _ in range(4):
            q = _length_map(f, nl.kinks, sigma_w, sigma_b, q, dps)
        tol = mp.mpf(10) ** (_SLACK_DIGITS - dps) * max(1, q)
        Fq = F(q)
        if abs(Fq) <= tol:
            return q
        lo = hi = q
        if Fq > 0:
            while F(hi) > 0:
                lo, hi = hi, 2 * hi + 1
                if hi > 1e30:
                    raise NoFixedPointError(
                        f"no fixed point: V(q) > q up to q = 1e30 at sigma_w = {sigma_w}, "
                        f"sigma_b = {sigma_b}; the length grows without bound")
        else:
            while F(lo) < 0:
                hi, lo = lo, lo / 2
                if lo < 1e-30:
                    return mp.mpf(0)
        try:
            return mp.findroot(F, (lo, hi), solver="anderson")
        except MeanFieldError:
            raise                       # a typed failure of the quadrature inside F
        except ValueError as e:         # mpmath's "Could not find root within given tolerance"
            raise NotConvergedError(
                f"q* not found: the root finder did not converge in [{mp.nstr(lo, 8)}, {mp.nstr(hi, 8)}] "
                f"at sigma_w = {sigma_w}, sigma_b = {sigma_b}; raise dps (now {dps})") from e


def _derivative(phi, what):
    """(Nonlinearity, mpmath phi'), refusing phi whose phi' holds a Dirac delta."""
    nl = as_nonlinearity(phi)
    if nl.delta_in_d1:
        raise UndefinedQuantityError(f"{what} is infinite for {nl.name}: phi jumps, so phi' has a Dirac delta")
    return nl, mp_functions(nl)[1]


def _fixed_q(nl, sigma_w, sigma_b, q, dps):
    return q_star(nl, sigma_w, sigma_b, dps=dps) if q is None else q


def chi1(phi, sigma_w, sigma_b, q=None, dps=DPS):
    r"""Stretch factor, Poole et al. eq. 7: :math:`\chi_1 = \sigma_w^2 \int \mathcal{D}z\, \phi'(\sqrt{q^*} z)^2`.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q : float or mpf, optional
        Squared length :math:`\ge 0` at which to evaluate; default :math:`q^*`
        (:func:`q_star` from :math:`q^0 = 1`).
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        :math:`\chi_1` (with ``q`` in place of :math:`q^*` where given).

    Raises
    ------
    UndefinedQuantityError
        If :math:`\phi` jumps (then :math:`\phi'` holds a Dirac delta and
        :math:`\chi_1` is infinite).
    NoFixedPointError
        If ``q`` is not given and the length map has no finite fixed point.
    MeanFieldError
        If ``q < 0``.
    NotConvergedError
        If a quadrature does not converge.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl, df = _derivative(phi, "chi1")
    with mp.workdps(dps):
        q = _fixed_q(nl, sigma_w, sigma_b, q, dps)
        return mp.mpf(sigma_w) ** 2 * gauss_expect(lambda u: df(u) ** 2, q, nl.kinks, dps)


def chi2(phi, sigma_w, sigma_b, q=None, dps=DPS):
    r"""Curvature factor, Poole et al. eq. 9: :math:`\chi_2 = \sigma_w^2 \int \mathcal{D}z\, \phi''(\sqrt{q^*} z)^2`.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q : float or mpf, optional
        Squared length :math:`\ge 0` at which to evaluate; default :math:`q^*`
        (:func:`q_star` from :math:`q^0 = 1`).
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    mpf
        :math:`\chi_2` (with ``q`` in place of :math:`q^*` where given).

    Raises
    ------
    UndefinedQuantityError
        If :math:`\phi'` jumps (ReLU, hard tanh, SELU, ...): :math:`\phi''` then holds
        a Dirac delta whose square has no finite integral.
    NoFixedPointError
        If ``q`` is not given and the length map has no finite fixed point.
    MeanFieldError
        If ``q < 0``.
    NotConvergedError
        If a quadrature does not converge.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    if nl.delta_in_d2:
        raise UndefinedQuantityError(
            f"chi2 is undefined for {nl.name}: phi' jumps, so phi'' has a Dirac delta")
    d2f = mp_functions(nl)[2]
    with mp.workdps(dps):
        q = _fixed_q(nl, sigma_w, sigma_b, q, dps)
        return mp.mpf(sigma_w) ** 2 * gauss_expect(lambda u: d2f(u) ** 2, q, nl.kinks, dps)


def covariance_map(phi, sigma_w, sigma_b, q11, q22, c, dps=DPS_2D):
    r"""Covariance map, Poole et al. eq. 5: :math:`q_{12}^l = \sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2`.

    :math:`u_1, u_2` as in :func:`gauss_expect2` with variances :math:`q_{11}, q_{22}`
    and correlation :math:`c = c_{12}^{l-1}`.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    q11, q22 : float or mpf
        Squared lengths :math:`q_{11}^{l-1}, q_{22}^{l-1} \ge 0` of the two inputs.
    c : float or mpf
        Their correlation :math:`c_{12}^{l-1}`, :math:`-1 \le c \le 1`.
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf
        :math:`q_{12}^l`.

    Raises
    ------
    MeanFieldError
        For a variance below 0 or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    f = mp_functions(nl)[0]
    with mp.workdps(dps):
        e = gauss_expect2(f, f, q11, q22, c, nl.kinks, nl.kinks, dps)
        return mp.mpf(sigma_w) ** 2 * e + mp.mpf(sigma_b) ** 2


def correlation_map(phi, sigma_w, sigma_b, c, q=None, dps=DPS_2D):
    r"""Correlation map, Poole et al. eq. 6: :math:`c^l = \mathcal{C}(c^{l-1}, q, q)/\mathcal{V}(q)`.

    Two inputs of equal length :math:`q` and correlation :math:`c`: the
    correlation one layer up.  At :math:`q = q^*` (the default)
    :math:`\mathcal{V}(q^*) = q^*` and this is eq. 6 exactly.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    c : float or mpf
        Correlation :math:`c^{l-1}` of the two inputs, :math:`-1 \le c \le 1`.
    q : float or mpf, optional
        Squared length :math:`\ge 0` of both inputs; default :math:`q^*`
        (:func:`q_star` from :math:`q^0 = 1`).
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf
        :math:`c^l`.

    Raises
    ------
    NoFixedPointError
        If ``q`` is not given and the length map has no finite fixed point.
    MeanFieldError
        For ``q < 0`` or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    with mp.workdps(dps):
        q = _fixed_q(nl, sigma_w, sigma_b, q, dps)
        return (covariance_map(nl, sigma_w, sigma_b, q, q, c, dps)
                / length_map(nl, sigma_w, sigma_b, q, dps))


def correlation_gap(phi, sigma_w, sigma_b, c, q=None, dps=DPS_2D):
    r""":math:`1 - c^l` for the map of :func:`correlation_map`, free of cancellation near :math:`c = 1`.

    .. math:: 1 - c^l = \frac{\sigma_w^2\, \tfrac12 E[(\phi(u_1) - \phi(u_2))^2]}{\mathcal{V}(q)} .

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    c : float or mpf
        Correlation :math:`c^{l-1}` of the two inputs, :math:`-1 \le c \le 1`.
    q : float or mpf, optional
        Squared length :math:`\ge 0` of both inputs; default :math:`q^*`
        (:func:`q_star` from :math:`q^0 = 1`).
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf
        :math:`1 - c^l` (see :func:`gauss_gap`).

    Raises
    ------
    NoFixedPointError
        If ``q`` is not given and the length map has no finite fixed point.
    MeanFieldError
        For ``q < 0`` or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl = as_nonlinearity(phi)
    f = mp_functions(nl)[0]
    with mp.workdps(dps):
        q = _fixed_q(nl, sigma_w, sigma_b, q, dps)
        gap = gauss_gap(f, q, c, nl.kinks, dps)
        return mp.mpf(sigma_w) ** 2 * gap / length_map(nl, sigma_w, sigma_b, q, dps)


def chi_c(phi, sigma_w, sigma_b, c, q=None, dps=DPS_2D):
    r"""Slope :math:`\partial c^l/\partial c^{l-1}` of the correlation map at ``c``.

    Using :math:`\partial E[\phi(u_1)\phi(u_2)]/\partial q_{12} = E[\phi'(u_1)\phi'(u_2)]`
    and :math:`q_{12} = c\, q`,

    .. math:: \frac{\partial c^l}{\partial c^{l-1}} = \frac{\sigma_w^2\, q\, E[\phi'(u_1)\phi'(u_2)]}{\mathcal{V}(q)},

    which at :math:`q = q^*` is :math:`\sigma_w^2 E[\phi'(u_1)\phi'(u_2)]`: :math:`\chi_1`
    at :math:`c = 1` (eq. 7) and :math:`e^{-1/\xi_c}` at :math:`c = c^*`
    (Schoenholz et al. 2017).

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity: a :class:`~meanfield.nonlinearity.Nonlinearity`, a registry
        name (``"tanh"``), an expression string in ``x`` or a sympy expression.
    sigma_w : float
        Weight standard deviation (:math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`).
    sigma_b : float
        Bias standard deviation.
    c : float or mpf
        Correlation :math:`c^{l-1}` of the two inputs, :math:`-1 \le c \le 1`.
    q : float or mpf, optional
        Squared length :math:`\ge 0` of both inputs; default :math:`q^*`
        (:func:`q_star` from :math:`q^0 = 1`).
    dps : int
        Working precision (20 keeps a call to a few seconds).

    Returns
    -------
    mpf
        :math:`\partial c^l/\partial c^{l-1}` at ``c``.

    Raises
    ------
    UndefinedQuantityError
        If :math:`\phi` jumps (then :math:`\phi'` holds a Dirac delta).
    NoFixedPointError
        If ``q`` is not given and the length map has no finite fixed point.
    MeanFieldError
        For ``q < 0`` or :math:`|c| > 1`.
    NotConvergedError, DivergentIntegralError
        For a quadrature that does not converge, or an integrand not negligible where
        the Gaussian is truncated.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    """
    nl, df = _derivative(phi, "the C-map slope")
    with mp.workdps(dps):
        q = _fixed_q(nl, sigma_w, sigma_b, q, dps)
        e = gauss_expect2(df, df, q, q, c, nl.kinks, nl.kinks, dps)
        return mp.mpf(sigma_w) ** 2 * q * e / length_map(nl, sigma_w, sigma_b, q, dps)


# --- quadrature helpers ---------------------------------------------------------------

def _variance(q, name):
    q = mp.mpf(q)
    if not q >= 0:  # also catches nan
        raise MeanFieldError(f"{name} = {mp.nstr(q, 8)} must be a variance >= 0")
    return q


def _breakpoints(args, smooth_kinks=(), z_max=None):
    r"""Sorted split points in :math:`z` for a Gaussian integral.

    ``args`` lists ``(a, b, kinks)``: a function of the argument :math:`a + b z`
    with the given kinks.  The points are

    * the Gaussian scale :math:`0, \pm 2.5, \pm 5.5, \pm 9`;
    * for each argument its kinks :math:`z = (k - a)/b`, and, if :math:`|b| \ge 1`
      (the argument varies at least as fast as the Gaussian), its zero :math:`-a/b`
      and the points :math:`(\pm 4^j - a)/b`, :math:`j = -1, \dots, 3`, closer to it
      than 1.25: a geometric grading that resolves the boundary layer of a
      saturating nonlinearity at large :math:`q` (erf(x) is within :math:`10^{-30}`
      of 1 only beyond x = 8, tanh beyond x = 35);
    * for each ``(z_k, w)`` in ``smooth_kinks`` (a kink smoothed over a width
      :math:`w`), the grading :math:`z_k \pm w, \pm 4w, \pm 16w`.

    Non-kink points closer than 2% (relative) to a point already kept are dropped:
    tiny pieces cost as much as large ones.  The ends are :math:`\pm\infty`, or
    :math:`\pm z_{max}` if given.
    """
    z_end = mp.inf if z_max is None else z_max
    kinks, others = set(), {mp.mpf(0)}
    others.update(mp.mpf(s) * sign for s in _GAUSS_SCALE for sign in (1, -1))
    for a, b, ks in args:
        if b == 0:
            continue
        kinks.update((k - a) / b for k in ks)
        steps = [mp.mpf(s) for s in _ARG_SCALE if s < _GAUSS_SCALE[0] / 2 * abs(b)] if abs(b) >= 1 else []
        if steps:
            others.add(-a / b)
            others.update((sign * s - a) / b for s in steps for sign in (1, -1))
    for zk, w in smooth_kinks:
        others.update(zk + sign * m * w for m in (1, 4, 16) for sign in (1, -1))
    inside = min(z_end, _Z_MAX)
    kept = sorted(p for p in kinks if abs(p) < inside)
    for p in sorted(others, key=abs):
        if abs(p) < inside and all(abs(p - k) > mp.mpf("0.02") * max(abs(p), mp.mpf("0.01")) for k in kept):
            kept.append(p)
    return [-z_end] + sorted(kept) + [z_end]


def _gauss_integral(h, points, dps, method):
    r""":math:`\int h(z)\, e^{-z^2/2} dz/\sqrt{2\pi}` over consecutive ``points``.

    Finite pieces use ``method``; infinite tails use tanh-sinh, which handles the
    transformed infinite interval with far fewer nodes.  Finite ends (a truncated
    Gaussian) are checked: the integrand must be negligible there.

    Raises
    ------
    NotConvergedError
        If a piece does not converge.
    DivergentIntegralError
        If the truncated tail is not negligible.
    """
    def weighted(z):
        return h(z) * mp.exp(-z * z / 2)

    ends = [p for p in (points[0], points[-1]) if not mp.isinf(p)]
    if ends:
        # a truncated Gaussian: the integrand must be negligible at the ends, on the
        # absolute scale of mp.quad's tolerance or relative to its size at the
        # breakpoints (checked first: a failed 2D integral is slow)
        typical = max(abs(weighted(p)) for p in points[1:-1])
        if any(abs(weighted(p)) > mp.mpf(10) ** -dps * max(1, typical) for p in ends):
            raise DivergentIntegralError(
                f"the integrand is not negligible at |z| = {mp.nstr(abs(ends[0]), 4)}, where the 2D "
                f"reference quadrature truncates the Gaussian; the nonlinearity grows too fast")
    value = err = mp.mpf(0)
    for a, b in itertools.pairwise(points):
        piece_method = "tanh-sinh" if mp.isinf(a) or mp.isinf(b) else method
        v, e = mp.quad(weighted, [a, b], method=piece_method, error=True)
        value += v
        err += e
    value /= mp.sqrt(2 * mp.pi)
    if err > mp.mpf(10) ** (_SLACK_DIGITS - dps) * max(1, abs(value)):
        raise NotConvergedError(
            f"mpmath quadrature did not converge (error estimate {mp.nstr(err, 3)} for value "
            f"{mp.nstr(value, 10)}); the integrand may grow too fast or have an unlisted kink")
    return value
