r"""Closed forms as fast paths: numpy evaluators of the Gaussian averages of a phi with a known kernel.

Where :func:`meanfield.known_kernel` recognises phi (ReLU, leaky ReLU, abs, linear, step/sign,
erf, sin, cos), every average the theory needs has a closed form; :func:`closed_form_of` turns
it into a :class:`ClosedForm` of vectorized numpy functions, which :class:`meanfield.MeanField`,
:func:`meanfield.phase_diagram`, :func:`meanfield.layer_map` and the critical line use instead
of the quadrature (pass ``closed_form=False`` to force the quadrature).  With
:math:`u_1 = \sqrt{q_1} z_1`, :math:`u_2 = \sqrt{q_2}(c z_1 + \sqrt{1-c^2} z_2)` (Poole et al.
2016, eq. 5) a ClosedForm gives

* ``second(q)`` :math:`= E[\phi(\sqrt q z)^2]` (length map, eq. 3);
* ``second_zz(q)`` :math:`= E[\phi(\sqrt q z)^2 (z^2 - 1)] = 2q\,\partial_q E[\phi^2]` (dV/dq);
* ``slope(q)`` :math:`= E[\phi'^2]` (chi1, eq. 7), ``curvature(q)`` :math:`= E[\phi''^2]` (chi2, eq. 9);
* ``cross(q1, q2, c, omc)`` :math:`= E[\phi(u_1)\phi(u_2)]` (eq. 5) and ``cross_slope`` with
  :math:`\phi'` (chi_c);
* ``gap(q, c, omc)`` :math:`= E[(\phi(u_1)-\phi(u_2))^2]/2 = E[\phi^2] - E[\phi(u_1)\phi(u_2)]`
  at :math:`q_1 = q_2 = q`, to full relative accuracy as :math:`c \to 1` (``omc`` = 1 - c).

Accuracy.  The formulas are written without cancellation, so each is good to a few units in
the last place (bound :data:`CLOSED_FORM_RTOL`, checked against mpmath at 30 digits in the
tests), better than the quadrature at any ``rtol`` it accepts:

* arc-cosine kernels: :math:`1 - \frac{2}{\pi}(\sqrt{1-c^2} + c\arcsin c) = (1-c) -
  \frac{2}{\pi}(\sin\theta - \theta\cos\theta)`, :math:`\theta = 2\arcsin\sqrt{(1-c)/2}`, with the
  Taylor series of :math:`\sin\theta - \theta\cos\theta` for :math:`\theta < 1`; the step gap is
  :math:`\frac{2}{\pi}\theta`;
* erf: :math:`\arcsin x` as :math:`\operatorname{atan2}(x, \sqrt{1-x^2})` with
  :math:`1 - x^2` expanded exactly (no :math:`\arcsin` near 1), and the gap
  :math:`\arcsin A - \arcsin cA` as one :math:`\operatorname{atan2}` whose numerator carries the
  factor :math:`1 - c^2` explicitly;
* sin, cos: products of ``expm1`` (:math:`e^{-q}(\sinh q - \sinh cq) =
  -\tfrac12\operatorname{expm1}(-q(1-c))(1 + e^{-q(1+c)})`), never overflowing.

Quantities a family lacks (phi' of a step has a Dirac delta) are None, as in the
:class:`~meanfield.KnownKernel`.  Closed forms that :func:`meanfield.derive` finds for other phi
become fast paths only after a check against the quadrature (:mod:`meanfield.derived_path`).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from .closed_forms import Family, known_kernel
from .codes import Evaluation
from .nonlinearity import as_nonlinearity

#: relative error bound of every closed-form average (a few units in the last place)
CLOSED_FORM_RTOL = 1e-15

_2_PI = 2.0 / math.pi


@dataclasses.dataclass(frozen=True)
class ClosedForm:
    r"""Vectorized closed forms of the Gaussian averages of one phi (see the module docstring).

    Each attribute is a numpy function of arrays (broadcasting) or None where the average is
    not available in closed form; then the quadrature computes it (``evaluation_of``).

    Attributes
    ----------
    name : str
        Which family (or phi, for derived forms) this is.
    source : str
        The reference of the formulas (e.g. Cho & Saul 2009, Williams 1997).
    second : callable or None
        ``second(q)``: :math:`E[\phi(\sqrt q z)^2]`, the integral of the length map
        (Poole et al. 2016, eq. 3).
    second_zz : callable or None
        ``second_zz(q)``: :math:`E[\phi(\sqrt q z)^2 (z^2 - 1)] = 2q\,\partial_q E[\phi^2]`.
    slope : callable or None
        ``slope(q)``: :math:`E[\phi'(\sqrt q z)^2]` (:math:`\chi_1/\sigma_w^2`, eq. 7).
    curvature : callable or None
        ``curvature(q)``: :math:`E[\phi''(\sqrt q z)^2]` (:math:`\chi_2/\sigma_w^2`, eq. 9).
    cross : callable or None
        ``cross(q1, q2, c, omc)``: :math:`E[\phi(u_1)\phi(u_2)]` (eq. 5); ``omc`` = 1 - c.
    cross_slope : callable or None
        ``cross_slope(q1, q2, c, omc)``: :math:`E[\phi'(u_1)\phi'(u_2)]`, the c-slope of the
        C-map (eq. 6).
    gap : callable or None
        ``gap(q, c, omc)``: :math:`E[(\phi(u_1)-\phi(u_2))^2]/2` at :math:`q_1 = q_2 = q`.
    derived : bool
        True for forms found by :func:`meanfield.derive` (:mod:`meanfield.derived_path`).
    notes : tuple of str
        Derived forms: the averages rejected by the check against the quadrature.
    affine : float or None
        k where :math:`E[\phi^2] = k q` exactly (a x + b|x|), else None.
    layer : callable or None
        ``layer(q, c, omc)``: (E[phi^2], gap, E[phi' phi']) at :math:`q_1 = q_2 = q` in one pass,
        or None.
    """
    name: str
    source: str
    second: Callable | None
    second_zz: Callable | None
    slope: Callable | None
    curvature: Callable | None
    cross: Callable | None
    cross_slope: Callable | None
    gap: Callable | None
    derived: bool = False
    notes: tuple = ()       # derived forms: what was rejected (meanfield.derived_path)
    #: k where E[phi^2] = k q exactly (a x + b|x|): the length map is affine in q, which the
    #: searches of meanfield.fast_solvers solve in one step where the answer is not marginal
    affine: float | None = None
    #: (E[phi^2], gap, E[phi' phi']) at q1 = q2 = q in one pass sharing subexpressions (layer_map), or None
    layer: Callable | None = None

    @property
    def describe(self) -> str:
        """One line for results and the CLI, e.g. ``closed form: arc-cosine kernel, Cho & Saul 2009``."""
        return f"{Evaluation.CLOSED_FORM.value}: {self.source}"

    def has(self, *names: str) -> bool:
        """Whether every named average (``"second"``, ``"gap"``, ...) is available in closed form.

        Parameters
        ----------
        *names : str
            Attribute names of the averages, e.g. ``"second", "slope"``.

        Returns
        -------
        bool
            True if none of them is None (also True for no names).

        Raises
        ------
        AttributeError
            If a name is not an attribute of :class:`ClosedForm`.
        """
        return all(getattr(self, n) is not None for n in names)


def describe(closed: ClosedForm | None) -> str:
    """The path line of a result: the closed form's source, or ``certified quadrature``.

    Parameters
    ----------
    closed : ClosedForm or None
        The closed form a computation used, or None where the quadrature computed it.

    Returns
    -------
    str
        :attr:`ClosedForm.describe`, or the value of ``Evaluation.QUADRATURE`` for None.
    """
    return closed.describe if closed is not None else Evaluation.QUADRATURE.value


def closed_form_of(phi, closed_form=True) -> ClosedForm | None:
    """The :class:`ClosedForm` of ``phi`` if its kernel is known (and ``closed_form`` is true), else None.

    Parameters
    ----------
    phi : Nonlinearity or spec
        The nonlinearity.
    closed_form : bool or "derive"
        False forces the quadrature (returns None).  ``"derive"`` also accepts closed forms that
        :func:`meanfield.derive` finds, once verified against the quadrature
        (:func:`meanfield.derived_path.verified_closed_form`).  True (default) uses the
        published kernels of :func:`meanfield.known_kernel` only (Cho & Saul 2009 arc-cosine
        kernels, Williams 1997 for erf, sin and cos).  None counts as False.

    Returns
    -------
    ClosedForm or None
        The (memoised per phi) closed form, or None where phi has no known kernel (and, with
        ``"derive"``, no verified derived one) or ``closed_form`` is false.

    Raises
    ------
    ValueError
        If ``closed_form`` is not True, False, None or ``"derive"``, or ``phi`` is not a valid
        nonlinearity spec.
    """
    if closed_form is False or closed_form is None:
        return None
    if closed_form not in (True, "derive"):
        raise ValueError(f"closed_form must be True, False or 'derive', got {closed_form!r}")
    nl = as_nonlinearity(phi)
    cache = _CACHE.setdefault(nl.key, {})
    if True not in cache:
        k = known_kernel(nl)
        cache[True] = None if k is None else _numeric(k, float(nl.phi(np.array([0.0]))[0]))
    if cache[True] is not None or closed_form is True:
        return cache[True]
    from .derived_path import verified_closed_form
    return verified_closed_form(nl)


_CACHE: dict = {}   # per phi key: the numeric closed form (pure function of phi: safe to memoise)


def _theta(c, omc):
    """arccos(c) accurate for c near 1 (from 1 - c)."""
    c, omc = np.asarray(c, dtype=float), np.asarray(omc, dtype=float)
    with np.errstate(invalid="ignore"):
        near = 2.0 * np.arcsin(np.sqrt(np.clip(omc, 0.0, 2.0) / 2.0))
        return np.where(c >= 0.0, near, np.arccos(np.clip(c, -1.0, 1.0)))


# Taylor series of sin t - t cos t = sum_{k>=1} (-1)^(k+1) 2k t^(2k+1) / (2k+1)!, in t^2, for t < 1
_SC_COEF = np.array([(-1.0) ** (k + 1) * 2 * k / math.factorial(2 * k + 1) for k in range(1, 16)])


def _sin_minus_tcos(t):
    """sin t - t cos t without cancellation at small t: the series below t = 1/4 (8 terms: the
    next is 1e-13 of the first), directly above (loses at most a factor 3/t^2 < 50 there, which
    the callers' leading term e ~ t^2/2 absorbs: their error stays below 1e-15 relative)."""
    t = np.asarray(t, dtype=float)
    out = np.sin(t) - t * np.cos(t)
    small = np.nonzero(np.ravel(t) < 0.25)[0]
    if small.size:
        ts = np.ravel(t)[small]
        t2 = ts * ts
        ser = np.zeros_like(ts)
        for a in _SC_COEF[:8][::-1]:
            ser = ser * t2 + a
        flat = np.ravel(out) if out.ndim else out.reshape(1)
        flat[small] = ser * t2 * ts
        out = flat.reshape(np.shape(t))
    return out


def _arccos_gap(c, omc):
    """1 - (2/pi)(sqrt(1-c^2) + c arcsin c): even in c; e - (2/pi)(sin t - t cos t) at |c| = 1 - e."""
    c, omc = np.asarray(c, dtype=float), np.asarray(omc, dtype=float)
    e = np.where(c >= 0.0, omc, 1.0 + c)          # 1 - |c|, from 1 - c where c is near 1
    t = 2.0 * np.arcsin(np.sqrt(np.clip(e, 0.0, 1.0) / 2.0))
    return e - _2_PI * _sin_minus_tcos(t)


def _lead_plus_asin(lead: float, w: float, c):
    """lead + w (2/pi) arcsin c.  Where lead >= w (ReLU, leaky ReLU, Heaviside: the kernel may
    vanish at c = -1) as (lead - w) + w (2/pi) arccos(-c), a sum of terms >= 0 that keeps its
    relative accuracy as c -> -1; else (abs: the kernel vanishes at c = 0) the arcsin form."""
    c = np.clip(np.asarray(c, dtype=float), -1.0, 1.0)
    if lead >= w:
        return (lead - w) + w * _2_PI * np.arccos(-c)
    return lead + w * _2_PI * np.arcsin(c)


def _one_minus_c2(c, omc):
    """(1 - c)(1 + c): 1 - c from ``omc`` (accurate near c = 1), 1 + c exact near c = -1."""
    return np.asarray(omc, dtype=float) * (1.0 + np.asarray(c, dtype=float))


def _abs_linear(a: float, b: float, name: str, source: str) -> ClosedForm:
    a2, b2 = a * a, b * b
    k2 = a2 + b2

    def cross(q1, q2, c, omc):
        # (2/pi)(sqrt(1-c^2) + c arcsin c) = 1 - g(c) (g: _arccos_gap); for c < 0 the terms a^2 c
        # and b^2 are regrouped so that ReLU's kernel keeps its relative accuracy as c -> -1
        c = np.asarray(c, dtype=float)
        g = _arccos_gap(c, omc)
        inner = np.where(c >= 0.0, a2 * c + b2 * (1.0 - g), (b2 - a2) + a2 * (1.0 + c) - b2 * g)
        return np.sqrt(np.asarray(q1, dtype=float) * q2) * inner

    return ClosedForm(
        name=name, source=source,
        second=lambda q: k2 * np.asarray(q, dtype=float),
        second_zz=lambda q: 2.0 * k2 * np.asarray(q, dtype=float),
        slope=lambda q: np.full(np.shape(q), k2),
        curvature=(lambda q: np.zeros(np.shape(q))) if b == 0 else None,
        cross=cross,
        cross_slope=lambda q1, q2, c, omc: _lead_plus_asin(a2, b2, c) + 0.0 * (q1 + q2),
        gap=lambda q, c, omc: np.asarray(q, dtype=float) * (a2 * np.asarray(omc, dtype=float)
                                                             + b2 * _arccos_gap(c, omc)),
        affine=k2)


def _step(m: float, s: float, phi0: float, name: str, source: str) -> ClosedForm:
    m2, s2 = m * m, s * s

    def second(q):
        q = np.asarray(q, dtype=float)
        return np.where(q > 0.0, m2 + s2, phi0 * phi0)        # at q = 0: phi(0)^2 exactly

    return ClosedForm(
        name=name, source=source, second=second,
        second_zz=lambda q: np.zeros(np.shape(q)), slope=None, curvature=None,
        cross=lambda q1, q2, c, omc: _lead_plus_asin(m2, s2, c) + 0.0 * (q1 + q2),
        cross_slope=None,
        gap=lambda q, c, omc: np.where(np.asarray(q) > 0.0, s2 * _2_PI * _theta(c, omc), 0.0))


def _erf(name: str, source: str) -> ClosedForm:
    def cross_den(q1, q2, c, omc):
        # (1+2q1)(1+2q2) - 4 c^2 q1 q2, with 1 - c^2 kept explicit
        return np.sqrt(1.0 + 2.0 * q1 + 2.0 * q2 + 4.0 * q1 * q2 * _one_minus_c2(c, omc))

    def second(q):
        q = np.asarray(q, dtype=float)
        return _2_PI * np.arctan2(2.0 * q, np.sqrt(1.0 + 4.0 * q))

    def layer(q, c, omc):
        q, c, omc = (np.asarray(v, dtype=float) for v in (q, c, omc))
        s1 = np.sqrt(1.0 + 4.0 * q)
        s2 = np.sqrt(1.0 + 4.0 * q + 4.0 * q * q * _one_minus_c2(c, omc))
        return _2_PI * np.arctan2(2.0 * q, s1), gap(q, c, omc, s1, s2), 4.0 / (math.pi * s2)

    def gap(q, c, omc, s1=None, s2=None):
        q, c, omc = (np.asarray(v, dtype=float) for v in (q, c, omc))
        w = _one_minus_c2(c, omc)
        if s1 is None:
            s1 = np.sqrt(1.0 + 4.0 * q)
            s2 = np.sqrt(1.0 + 4.0 * q + 4.0 * q * q * w)
        # arcsin A - arcsin cA, A = 2q/(1+2q), as one atan2 carrying the factor 1 - c^2
        # numerator A sqrt(1-c^2A^2) - cA sqrt(1-A^2), times (1+2q)^2: for c > 0 rewritten with the
        # factor 1 - c^2 explicit (no cancellation as c -> 1); for c <= 0 a sum of terms >= 0
        num = np.where(c > 0.0, 2.0 * q * w * (1.0 + 2.0 * q) ** 2 / (s2 + np.abs(c) * s1), 2.0 * q * (s2 - c * s1))
        return _2_PI * np.arctan2(num, s1 * s2 + 4.0 * c * q * q)

    return ClosedForm(
        name=name, source=source, second=second,
        second_zz=lambda q: 8.0 * q / (math.pi * (1.0 + 2.0 * q) * np.sqrt(1.0 + 4.0 * q)),
        slope=lambda q: 4.0 / (math.pi * np.sqrt(1.0 + 4.0 * np.asarray(q, dtype=float))),
        curvature=lambda q: 16.0 * q / (math.pi * (1.0 + 4.0 * np.asarray(q, dtype=float)) ** 1.5),
        cross=lambda q1, q2, c, omc: _2_PI * np.arctan2(2.0 * c * np.sqrt(q1 * q2), cross_den(q1, q2, c, omc)),
        cross_slope=lambda q1, q2, c, omc: 4.0 / (math.pi * cross_den(q1, q2, c, omc)),
        gap=gap, layer=layer)


def _damped(q1, q2, c, sign):
    """e^{-(q1+q2)/2} sinh(c sqrt(q1 q2)) (sign -1) or cosh (sign +1), without overflow."""
    q1, q2, c = (np.asarray(v, dtype=float) for v in (q1, q2, c))
    m, x = (q1 + q2) / 2.0, c * np.sqrt(q1 * q2)
    split = (np.exp(x - m) + sign * np.exp(-x - m)) / 2.0
    if sign < 0:   # small x: sinh's two exponentials cancel
        with np.errstate(over="ignore", invalid="ignore"):
            direct = np.exp(-m) * np.sinh(x)
        return np.where(np.abs(x) < 1.0, direct, split)
    return split


def _trig(cosine: bool, name: str, source: str) -> ClosedForm:
    sg = -1.0 if cosine else 1.0      # E[phi^2] = (1 -+ e^{-2q})/2 for sin, cos

    def half(sign):
        return lambda q: (1.0 + sign * np.exp(-2.0 * np.asarray(q, dtype=float))) / 2.0 if sign > 0 \
            else -np.expm1(-2.0 * np.asarray(q, dtype=float)) / 2.0

    def gap(q, c, omc):
        q, c, omc = (np.asarray(v, dtype=float) for v in (q, c, omc))
        a, b = q * (2.0 - omc) / 2.0, q * omc / 2.0          # q(1+c)/2 and q(1-c)/2: a + b = q
        if cosine:
            return np.expm1(-2.0 * a) * np.expm1(-2.0 * b) / 2.0
        return -np.expm1(-2.0 * b) * (1.0 + np.exp(-2.0 * a)) / 2.0

    return ClosedForm(
        name=name, source=source,
        second=half(-sg), second_zz=lambda q: sg * 2.0 * q * np.exp(-2.0 * np.asarray(q, dtype=float)),
        slope=half(sg), curvature=half(-sg),
        cross=lambda q1, q2, c, omc: _damped(q1, q2, c, 1.0 if cosine else -1.0),
        cross_slope=lambda q1, q2, c, omc: _damped(q1, q2, c, -1.0 if cosine else 1.0),
        gap=gap)


def _numeric(k, phi0: float) -> ClosedForm:
    fam = Family(k.family)
    if fam == Family.ABS_LINEAR:
        return _abs_linear(*k.params, name=k.name, source=k.source)
    if fam == Family.STEP:
        return _step(*k.params, phi0=phi0, name=k.name, source=k.source)
    if fam == Family.ERF:
        return _erf(k.name, k.source)
    return _trig(fam == Family.COS, k.name, k.source)
