r"""Published Gaussian kernels of nonlinearities, as sympy expressions.

For a few nonlinearities every Gaussian average of the mean-field theory is known in
closed form.  They are used first by :func:`meanfield.derive` (so its result never
depends on how fast sympy runs) and serve tests and fast paths as oracles.

With :math:`u_1 = \sqrt{q_1} z_1`, :math:`u_2 = \sqrt{q_2}(c z_1 + \sqrt{1-c^2} z_2)`
(Poole et al. 2016, eq. 5) a :class:`KnownKernel` holds

* ``cross`` :math:`= E[\phi(u_1)\phi(u_2)]` in :data:`Q1`, :data:`Q2`, :data:`C`;
* ``cross_slope`` :math:`= E[\phi'(u_1)\phi'(u_2)]` (``None`` where :math:`\phi'` has a Dirac delta);
* ``curvature`` :math:`= E[\phi''(\sqrt{q} z)^2]` in :data:`Q` (``None`` where :math:`\phi''` has one);

and from them the length map :math:`\mathcal{V}(q)` (eq. 3), the covariance map
:math:`\mathcal{C}(q_1, q_2, c)` (eq. 5), :math:`\chi_1` (eq. 7) and :math:`\chi_2` (eq. 9).

Families recognised (by the exact symbolic form of phi, not its name):

* :math:`\phi = a x + b|x|` (linear, ReLU, leaky ReLU, abs): arc-cosine kernels of
  degree 0 and 1 (Cho & Saul 2009), with :math:`E|u_1||u_2| = \frac{2}{\pi}\sqrt{q_1q_2}
  (\sqrt{1-c^2} + c \arcsin c)` and :math:`E[\mathrm{sign}\,u_1\, \mathrm{sign}\,u_2] =
  \frac{2}{\pi}\arcsin c`;
* :math:`\phi = m + s\,\mathrm{sign}(x)` (Heaviside step, sign): the degree-0 kernel;
* :math:`\mathrm{erf}`: Williams (1997), :math:`\frac{2}{\pi}\arcsin\frac{2 c\sqrt{q_1q_2}}
  {\sqrt{(1+2q_1)(1+2q_2)}}`;
* :math:`\sin, \cos`: :math:`E[\sin u_1 \sin u_2] = e^{-(q_1+q_2)/2}\sinh(c\sqrt{q_1q_2})`,
  :math:`E[\cos u_1\cos u_2] = e^{-(q_1+q_2)/2}\cosh(c\sqrt{q_1q_2})`.
"""
from __future__ import annotations

import dataclasses
import enum
import functools

import sympy as sp

from .expression import x
from .nonlinearity import Nonlinearity, as_nonlinearity

#: Symbols: variance q (q11 = q22), the two variances q1, q2, correlation c, sigma_w, sigma_b.
Q = sp.Symbol("q", positive=True)
Q1 = sp.Symbol("q_1", positive=True)
Q2 = sp.Symbol("q_2", positive=True)
C = sp.Symbol("c", real=True)
SIGMA_W = sp.Symbol("sigma_w", positive=True)
SIGMA_B = sp.Symbol("sigma_b", nonnegative=True)

CHO_SAUL = "arc-cosine kernel, Cho & Saul 2009"
WILLIAMS = "Williams 1997"
TRIG = "Gaussian characteristic function, E[exp(i u)] = exp(-q/2)"
LINEAR = "Gaussian second moments"


class Family(str, enum.Enum):
    """The families of :func:`known_kernel` (each has its own numeric fast path)."""
    ABS_LINEAR = "a*x + b*|x|"
    STEP = "m + s*sign(x)"
    ERF = "erf"
    SIN = "sin"
    COS = "cos"


@dataclasses.dataclass(frozen=True)
class KnownKernel:
    r"""Closed-form Gaussian averages of one nonlinearity (see the module docstring).

    Attributes
    ----------
    name : str
        Which family matched, e.g. ``"a*x + b*|x| (a = 1/2, b = 1/2)"``.
    source : str
        The reference of the formulas.
    cross : sympy.Expr
        :math:`E[\phi(u_1)\phi(u_2)]` in ``Q1, Q2, C``.
    cross_slope : sympy.Expr or None
        :math:`E[\phi'(u_1)\phi'(u_2)]` in ``Q1, Q2, C``; None where phi jumps.
    curvature : sympy.Expr or None
        :math:`E[\phi''(\sqrt{q} z)^2]` in ``Q``; None where phi' jumps.
    family : str
        Which :class:`Family` matched (the numeric fast path of :mod:`meanfield.fast_path` is
        written per family, in forms free of cancellation).
    params : tuple of float
        The family's parameters: (a, b) of a x + b|x|, (m, s) of m + s sign(x), () otherwise.
    """

    name: str
    source: str
    cross: sp.Expr
    cross_slope: sp.Expr | None
    curvature: sp.Expr | None
    family: str = ""
    params: tuple = ()

    def cross_at(self, q=Q, c=C):
        r""":math:`E[\phi(u_1)\phi(u_2)]` at equal variances :math:`q_1 = q_2 = q`.

        The integral of the covariance map (Poole et al. 2016, eq. 5) on the diagonal
        :math:`q_{11} = q_{22}`, as used by the C-map (eq. 6).

        Parameters
        ----------
        q : sympy.Expr or float, optional
            The common variance :math:`q_1 = q_2`; default the symbol :data:`Q`.
        c : sympy.Expr or float, optional
            The correlation coefficient :math:`c \in [-1, 1]`; default the symbol :data:`C`.

        Returns
        -------
        sympy.Expr
            The simplified expression (a number when ``q`` and ``c`` are numbers).
        """
        return sp.simplify(self.cross.subs({Q1: q, Q2: q, C: c}))

    def cross_slope_at(self, q=Q, c=C):
        r""":math:`E[\phi'(u_1)\phi'(u_2)]` at equal variances :math:`q_1 = q_2 = q`.

        The slope :math:`\partial_{q_{12}}` of the covariance map (Poole et al. 2016, eq. 5) by
        Gaussian integration by parts; at ``c = 1`` it gives :math:`\chi_1 / \sigma_w^2` (eq. 7).

        Parameters
        ----------
        q : sympy.Expr or float, optional
            The common variance :math:`q_1 = q_2`; default the symbol :data:`Q`.
        c : sympy.Expr or float, optional
            The correlation coefficient :math:`c \in [-1, 1]`; default the symbol :data:`C`.

        Returns
        -------
        sympy.Expr or None
            The simplified expression, or None where :math:`\phi'` has a Dirac delta (phi jumps).
        """
        return None if self.cross_slope is None else sp.simplify(self.cross_slope.subs({Q1: q, Q2: q, C: c}))

    @property
    def second(self):
        r""":math:`E[\phi(\sqrt q z)^2]`: the cross kernel at c = 1."""
        return self.cross_at(Q, 1)

    @property
    def slope(self):
        r""":math:`E[\phi'(\sqrt q z)^2]` (None where phi jumps)."""
        return self.cross_slope_at(Q, 1)

    def length_map(self, sigma_w=SIGMA_W, sigma_b=SIGMA_B):
        r"""The length map :math:`\mathcal{V}(q) = \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2`.

        Poole et al. 2016, eq. (3), in the symbol :data:`Q`.

        Parameters
        ----------
        sigma_w : sympy.Expr or float, optional
            Weight standard deviation :math:`\sigma_w` (not the variance); default :data:`SIGMA_W`.
        sigma_b : sympy.Expr or float, optional
            Bias standard deviation :math:`\sigma_b`; default :data:`SIGMA_B`.

        Returns
        -------
        sympy.Expr
            :math:`\mathcal{V}(q)` as an expression in :data:`Q`.
        """
        return sigma_w ** 2 * self.second + sigma_b ** 2

    def covariance_map(self, sigma_w=SIGMA_W, sigma_b=SIGMA_B):
        r"""The covariance map :math:`\mathcal{C}(q_1, q_2, c) = \sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2`.

        Poole et al. 2016, eq. (5); dividing by :math:`q^*` at :math:`q_1 = q_2 = q^*` gives
        the C-map of eq. (6).

        Parameters
        ----------
        sigma_w : sympy.Expr or float, optional
            Weight standard deviation :math:`\sigma_w`; default :data:`SIGMA_W`.
        sigma_b : sympy.Expr or float, optional
            Bias standard deviation :math:`\sigma_b`; default :data:`SIGMA_B`.

        Returns
        -------
        sympy.Expr
            The covariance :math:`q_{12}` of the next layer, in :data:`Q1`, :data:`Q2`, :data:`C`.
        """
        return sigma_w ** 2 * self.cross + sigma_b ** 2

    def chi1(self, sigma_w=SIGMA_W):
        r"""The stretch factor :math:`\chi_1(q) = \sigma_w^2 E[\phi'(\sqrt q z)^2]`.

        Poole et al. 2016, eq. (7), as a function of :math:`q` (evaluate at :math:`q^*`).

        Parameters
        ----------
        sigma_w : sympy.Expr or float, optional
            Weight standard deviation :math:`\sigma_w`; default :data:`SIGMA_W`.

        Returns
        -------
        sympy.Expr or None
            :math:`\chi_1` in :data:`Q`, or None where phi jumps (:math:`\phi'` has a delta).
        """
        s = self.slope
        return None if s is None else sigma_w ** 2 * s

    def chi2(self, sigma_w=SIGMA_W):
        r"""The curvature factor :math:`\chi_2(q) = \sigma_w^2 E[\phi''(\sqrt q z)^2]`.

        Poole et al. 2016, eq. (9), as a function of :math:`q` (evaluate at :math:`q^*`).

        Parameters
        ----------
        sigma_w : sympy.Expr or float, optional
            Weight standard deviation :math:`\sigma_w`; default :data:`SIGMA_W`.

        Returns
        -------
        sympy.Expr or None
            :math:`\chi_2` in :data:`Q`, or None where phi' jumps (:math:`\phi''` has a delta).
        """
        return None if self.curvature is None else sigma_w ** 2 * self.curvature


def known_kernel(phi) -> KnownKernel | None:
    """The closed-form kernel of ``phi`` if it belongs to a known family, else None.

    Parameters
    ----------
    phi : Nonlinearity or str
        A :class:`~meanfield.nonlinearity.Nonlinearity` or anything
        :func:`~meanfield.nonlinearity.as_nonlinearity` accepts (a registry name or an
        expression in ``x``). Matched by its exact symbolic form: ``"Max(0, x)"`` is ReLU,
        ``"Max(x, x/5)"`` a leaky ReLU, ``"3*x"`` linear, ``"Heaviside(x)"`` a step.

    Returns
    -------
    KnownKernel or None
        The kernel of the first family that matches (a x + b|x| -- Cho & Saul 2009 arc-cosine
        kernel of degree 1; m + s sign(x) -- degree 0; erf -- Williams 1997; sin, cos), or None
        when phi is in none of them.

    Raises
    ------
    ValueError
        From :func:`~meanfield.nonlinearity.as_nonlinearity` when ``phi`` is not a valid
        nonlinearity spec.
    """
    nl = as_nonlinearity(phi)
    return _homogeneous_linear(nl) or _step(nl) or _by_key(nl.key)


def _sides(nl: Nonlinearity):
    """(phi(0-), slope left, phi(0+), slope right) if phi is piecewise linear with no kink but 0."""
    if not nl.is_piecewise_linear or any(k != 0 for k in nl.kinks):
        return None
    vals = []
    for s in (-1, 1):
        e = nl.pw.subs(x, s * sp.Rational(1, 2))          # inside each side, away from the kink
        slope = nl.d1.subs(x, s * sp.Rational(1, 2))
        offset = sp.nsimplify(sp.simplify(e - slope * s * sp.Rational(1, 2)))
        vals += [offset, sp.nsimplify(sp.simplify(slope))]
    if not all(v.is_number and v.is_real for v in vals):
        return None
    return tuple(vals)


def _homogeneous_linear(nl: Nonlinearity) -> KnownKernel | None:
    """phi = a x + b |x|: ReLU (a = b = 1/2), leaky ReLU, abs (a = 0, b = 1), linear (b = 0)."""
    sides = _sides(nl)
    if sides is None or sides[0] != 0 or sides[2] != 0:
        return None
    left, right = sides[1], sides[3]
    a, b = (right + left) / 2, (right - left) / 2
    if a == 0 and b == 0:
        return None
    r = sp.sqrt(Q1 * Q2)
    # E[u1 |u2|] = 0 by the symmetry (u1, u2) -> (-u1, -u2); so only a^2 and b^2 terms remain
    cross = r * (a ** 2 * C + b ** 2 * 2 / sp.pi * (sp.sqrt(1 - C ** 2) + C * sp.asin(C)))
    cross_slope = a ** 2 + b ** 2 * 2 / sp.pi * sp.asin(C)
    return KnownKernel(name=f"a*x + b*|x| (a = {a}, b = {b})", source=CHO_SAUL if b != 0 else LINEAR,
                       cross=cross, cross_slope=cross_slope, curvature=sp.S.Zero if b == 0 else None,
                       family=Family.ABS_LINEAR, params=(float(a), float(b)))


def _step(nl: Nonlinearity) -> KnownKernel | None:
    """phi = m + s sign(x) (Heaviside: m = s = 1/2): the degree-0 arc-cosine kernel."""
    sides = _sides(nl)
    if sides is None or sides[1] != 0 or sides[3] != 0 or sides[0] == sides[2]:
        return None
    m, s = (sides[2] + sides[0]) / 2, (sides[2] - sides[0]) / 2
    return KnownKernel(name=f"m + s*sign(x) (m = {m}, s = {s})", source=CHO_SAUL,
                       cross=m ** 2 + s ** 2 * 2 / sp.pi * sp.asin(C), cross_slope=None, curvature=None,
                       family=Family.STEP, params=(float(m), float(s)))


def _by_key(key: str) -> KnownKernel | None:
    table = _keyed_kernels()
    return table.get(key)


@functools.lru_cache(maxsize=1)
def _keyed_kernels() -> dict:
    """Kernels of single smooth functions, keyed by the Nonlinearity key of their expression."""
    r, damp = sp.sqrt(Q1 * Q2), sp.exp(-(Q1 + Q2) / 2)
    kernels = {
        "erf(x)": KnownKernel(
            name="erf", source=WILLIAMS + "; its phi', phi'' averages are Gaussian integrals",
            cross=2 / sp.pi * sp.asin(2 * C * r / sp.sqrt((1 + 2 * Q1) * (1 + 2 * Q2))),
            # phi' = 2 exp(-x^2)/sqrt(pi): a Gaussian integral of exp(-u1^2 - u2^2)
            cross_slope=4 / (sp.pi * sp.sqrt((1 + 2 * Q1) * (1 + 2 * Q2) - 4 * C ** 2 * Q1 * Q2)),
            # phi'' = -4 x exp(-x^2)/sqrt(pi): E = 16/pi E[u^2 exp(-2u^2)]
            curvature=16 * Q / (sp.pi * (1 + 4 * Q) ** sp.Rational(3, 2)), family=Family.ERF),
        "sin(x)": KnownKernel(name="sin", source=TRIG, cross=damp * sp.sinh(C * r),
                              cross_slope=damp * sp.cosh(C * r), curvature=(1 - sp.exp(-2 * Q)) / 2,
                              family=Family.SIN),
        "cos(x)": KnownKernel(name="cos", source=TRIG, cross=damp * sp.cosh(C * r),
                              cross_slope=damp * sp.sinh(C * r), curvature=(1 + sp.exp(-2 * Q)) / 2,
                              family=Family.COS),
    }
    return {Nonlinearity(spec).key: k for spec, k in kernels.items()}
