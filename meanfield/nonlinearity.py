"""A pointwise nonlinearity phi: its symbolic form, derivatives, kinks and numeric forms.

``Nonlinearity(spec)`` accepts a registry name (``"tanh"``), an expression string
in ``x`` (``"atan(x) + x/10"``, parsed safely by :mod:`meanfield.expression`) or a
sympy expression.  Non-smooth building blocks (``Abs``, ``Max``, ``Min``,
``sign``, ``Heaviside``) are rewritten as ``Piecewise`` so that every kink is an
explicit breakpoint: the quadrature splits its integrals there, and derivatives
are taken piece by piece (the classical derivative).  Where phi itself jumps,
phi' contains a Dirac delta; where phi' jumps (ReLU, hard tanh, SELU), phi''
does; these are recorded in ``delta_in_d1`` and ``delta_in_d2``.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from functools import cached_property

import numpy as np
import scipy.special
import sympy as sp
from sympy.codegen.ast import Assignment
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize
from sympy.printing.pycode import PythonCodePrinter

from .expression import ExpressionError, parse_expression, sigmoid, softplus, x

_SELU_LAMBDA = sp.Float("1.0507009873554804934193349852946", 30)
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 30)

#: Registry of named nonlinearities: name -> sympy expression in ``x``.
REGISTRY: dict[str, sp.Expr] = {
    "tanh": sp.tanh(x),
    "hard_tanh": sp.Max(-1, sp.Min(1, x)),
    "relu": sp.Max(0, x),
    "leaky_relu": sp.Piecewise((x, x > 0), (x / 100, True)),
    "erf": sp.erf(x),
    "sigmoid": sigmoid(x),
    "softplus": softplus(x),
    "swish": x * sigmoid(x),
    "gelu": x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
    "elu": sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True)),
    "selu": _SELU_LAMBDA * sp.Piecewise((x, x > 0), (_SELU_ALPHA * (sp.exp(x) - 1), True)),
    "sin": sp.sin(x),
    "linear": x,
    "abs": sp.Abs(x),
}
ALIASES = {"silu": "swish", "identity": "linear", "hardtanh": "hard_tanh", "leakyrelu": "leaky_relu"}


#: Nonlinearities built so far, by normalised spec (most recently used last).
CACHE_SIZE = 256
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _spec_key(spec):
    """The normalised form of a spec: equal keys give the same nonlinearity."""
    if isinstance(spec, str):
        key = spec.strip()
        key = ALIASES.get(key.lower(), key)
        return ("name", key.lower()) if key.lower() in REGISTRY else ("expression", key)
    if isinstance(spec, sp.Basic):
        return ("sympy", sp.srepr(spec))
    return ("other", id(type(spec)))     # rejected by _build; never cached


def registry_names() -> list[str]:
    """Names accepted by :class:`Nonlinearity` besides expressions.

    Returns
    -------
    list of str
        The registry names (sorted), followed by their aliases (sorted), e.g. ``"silu"``.
    """
    return sorted(REGISTRY) + sorted(ALIASES)


class Nonlinearity:
    """A scalar nonlinearity phi(x) with everything the theory and simulations need.

    Constructed as ``Nonlinearity(spec)``, where ``spec`` (str or sympy.Expr) is a registry
    name (see :func:`registry_names`; case-insensitive, aliases allowed), an expression string
    in ``x`` (parsed safely, never executed) or a sympy expression in one real variable.  A
    ``Nonlinearity`` passed as ``spec`` is returned unchanged, and equal specs share one
    instance (an LRU cache of :data:`CACHE_SIZE` entries), since construction costs
    50-570 ms of sympy.  Raises :class:`~meanfield.expression.ExpressionError` (a
    ``ValueError``) when ``spec`` is of another type, does not parse, depends on a symbol
    other than ``x``, has a breakpoint that cannot be located, or is not finite for real x.

    Attributes
    ----------
    name : str
        The registry name, or the expression as written.
    expr : sympy.Expr
        phi as given (for display).
    pw : sympy.Expr
        phi with non-smooth parts rewritten as ``Piecewise`` (what is differentiated).
    d1, d2 : sympy.Expr
        Classical first and second derivatives of ``pw`` (piece by piece).
    kinks : tuple of float
        Sorted points where phi or one of its derivatives may not be smooth.
    delta_in_d1, delta_in_d2, delta_in_d3 : bool
        phi jumps somewhere (so phi' has a Dirac delta) / phi' jumps (so phi'' has one) /
        phi'' jumps (so the third derivative has one).
    is_piecewise_linear : bool
        Every piece of ``pw`` is a polynomial of degree at most 1 in x (ReLU, hard tanh, abs).
    phi, dphi, d2phi : callable
        Vectorised float64 evaluation of ``pw``, ``d1``, ``d2``: a numpy array in, an array of
        the same shape out.
    """

    def __new__(cls, spec):
        if isinstance(spec, Nonlinearity):
            return spec                     # immutable: the same object serves
        key = _spec_key(spec)
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
        self = super().__new__(cls)
        self._build(spec)
        with _CACHE_LOCK:
            self = _CACHE.setdefault(key, self)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return self

    def __reduce__(self):
        return Nonlinearity, (self._spec,)

    def _build(self, spec):
        """Everything of ``__init__``; runs once per normalised spec (construction costs 50-570 ms of sympy)."""
        self._spec = spec
        if isinstance(spec, str):
            key = spec.strip()
            key = ALIASES.get(key.lower(), key)
            if key.lower() in REGISTRY:
                self.name = key.lower()
                expr = REGISTRY[self.name]
            else:
                self.name = key
                expr = parse_expression(key)
        elif isinstance(spec, sp.Basic):
            expr = _as_function_of_x(spec)
            self.name = str(expr)
        else:
            raise ExpressionError(
                f"a nonlinearity is a registry name, an expression string or a sympy expression; "
                f"got {type(spec).__name__}")
        self.expr = sp.sympify(expr)
        if not self.expr.free_symbols <= {x}:
            names = ", ".join(sorted(str(s) for s in self.expr.free_symbols - {x}))
            raise ExpressionError(f"nonlinearity may depend on x only; found {names}")
        self.pw = sp.piecewise_fold(self.expr.rewrite(sp.Piecewise))
        self.d1 = sp.piecewise_fold(sp.diff(self.pw, x))
        self.d2 = sp.piecewise_fold(sp.diff(self.d1, x))
        self.d3 = sp.piecewise_fold(sp.diff(self.d2, x))
        self.kinks = _breakpoints(self.pw)
        self.delta_in_d1 = any(_jumps(self.pw, k) for k in self.kinks)
        self.delta_in_d2 = self.delta_in_d1 or any(_jumps(self.d1, k) for k in self.kinks)
        self.delta_in_d3 = self.delta_in_d2 or any(_jumps(self.d2, k) for k in self.kinks)
        self.is_piecewise_linear = _is_piecewise_linear(self.pw)
        self.phi = _numpy_function(self.pw)
        self.dphi = _numpy_function(self.d1)
        self.d2phi = _numpy_function(self.d2)
        self._check_finite()

    def __repr__(self) -> str:
        return f"Nonlinearity({self.name!r})"

    @cached_property
    def kernels(self):
        """The typed facade of this phi's compiled kernels (:class:`meanfield.quadrature.Kernels`),
        built on first use (Numba compiles or loads them from the on-disk cache)."""
        from .quadrature import Kernels
        return Kernels(self)

    @cached_property
    def key(self) -> str:
        """A short hash identifying phi (used to name cached compiled kernels)."""
        return hashlib.sha256(sp.srepr(self.pw).encode()).hexdigest()[:16]

    @cached_property
    def range(self) -> float:
        """Dynamic range R = sup phi - inf phi (Poole et al. Theorem 1); ``inf`` if unbounded.

        Found numerically on a grid reaching |x| = 1e8: a nonlinearity whose values at
        1e8 still grow by more than 0.1% over those at 1e6 counts as unbounded.
        """
        grid = _probe_grid()
        with np.errstate(all="ignore"):
            v = self.phi(grid)
            far = self.phi(np.array([-1e8, -1e6, 1e6, 1e8]))
        if not np.all(np.isfinite(v)):
            return math.inf
        grow = np.abs(far[[0, 3]]) - np.abs(far[[1, 2]])
        if np.any(grow > 1e-3 * np.maximum(1.0, np.abs(far[[1, 2]]))):
            return math.inf
        return float(v.max() - v.min())

    @cached_property
    def is_monotone(self) -> bool:
        """True if phi is non-decreasing (checked on a dense grid, |x| <= 1e8)."""
        with np.errstate(all="ignore"):
            d = self.dphi(_probe_grid())
        return bool(np.all(d[np.isfinite(d)] >= -1e-12))

    def scalar_code(self) -> dict[str, str]:
        """Python source of the functions phi, dphi, d2phi, d3phi of one float ``x`` (for Numba).

        Printed by sympy's :class:`~sympy.printing.pycode.PythonCodePrinter` (sigmoid and softplus
        print their stable forms themselves, see :mod:`meanfield.expression`), with common
        subexpressions computed once (:func:`sympy.cse`) except in ``Piecewise`` expressions,
        where a subexpression of one branch must not be evaluated on the other.  Only the
        ``math`` module is referenced.

        Returns
        -------
        dict of str to str
            Keys ``"phi"``, ``"dphi"``, ``"d2phi"``, ``"d3phi"``; each value is the source of a
            ``def <key>(x): ... return float(...)`` of the classical (piece by piece) derivative,
            with ``exp(x) - 1`` and ``log(1 + x)`` printed as ``expm1`` and ``log1p``.
        """
        printer = PythonCodePrinter({"fully_qualified_modules": True})
        out = {}
        for name, e in (("phi", self.pw), ("dphi", self.d1), ("d2phi", self.d2), ("d3phi", self.d3)):
            # exp(x) - 1 -> expm1(x), log(1 + x) -> log1p(x): ELU/SELU keep full relative accuracy near 0
            e = optimize(e, [expm1_opt, log1p_opt])
            subs, (e,) = ([], (e,)) if e.has(sp.Piecewise) else sp.cse(e, symbols=sp.numbered_symbols("_c"))
            body = [printer.doprint(Assignment(lhs, rhs)) for lhs, rhs in subs]
            body.append(f"return float({printer.doprint(e)})")
            out[name] = "\n".join([f"def {name}(x):"] + ["    " + line for line in body])
        return out

    def _check_finite(self) -> None:
        with np.errstate(all="ignore"):
            bad = [v for v in (-1.0, -0.5, 0.5, 1.0) if not np.isfinite(self.phi(np.array([v]))[0])]
        if len(bad) == 4:
            raise ExpressionError(f"phi = {self.expr} is not finite for real x (e.g. at x = {bad[0]}); "
                                  f"a nonlinearity must be a real function of real x")


def as_nonlinearity(obj) -> Nonlinearity:
    """``obj`` if it is a :class:`Nonlinearity`, else ``Nonlinearity(obj)``.

    Parameters
    ----------
    obj : Nonlinearity or str or sympy.Expr
        A nonlinearity, a registry name, an expression string in ``x`` or a sympy expression.

    Returns
    -------
    Nonlinearity
        ``obj`` itself, or the (cached) nonlinearity built from it.

    Raises
    ------
    meanfield.expression.ExpressionError
        From :class:`Nonlinearity` when ``obj`` is not a valid spec.
    """
    return obj if isinstance(obj, Nonlinearity) else Nonlinearity(obj)


# --- helpers -----------------------------------------------------------------

def _as_function_of_x(expr: sp.Basic) -> sp.Expr:
    free = expr.free_symbols
    if len(free) > 1:
        raise ExpressionError(f"nonlinearity must depend on one variable; found {sorted(map(str, free))}")
    if len(free) == 1:
        (s,) = free
        expr = expr.subs(s, x)
    return expr


def _breakpoints(expr: sp.Expr) -> tuple[float, ...]:
    points = set()
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                try:
                    sol = sp.solveset(rel.lhs - rel.rhs, x, sp.S.Reals)
                except Exception:  # noqa: BLE001  (solveset raises many types on exotic conditions: say so, do not guess)
                    raise ExpressionError(f"cannot locate the breakpoint of condition {rel}; "
                                          f"write conditions as comparisons of x with numbers") from None
                if not isinstance(sol, sp.FiniteSet):
                    raise ExpressionError(f"condition {rel} does not give isolated breakpoints")
                points.update(float(s) for s in sol if s.is_real)
    return tuple(sorted(points))


def _jumps(expr: sp.Expr, k: float) -> bool:
    """Does ``expr`` jump at x = k?  (Compares values just left and right of k.)"""
    f = _numpy_function(expr)
    h = 1e-9 * max(1.0, abs(k))
    with np.errstate(all="ignore"):
        left, right = f(np.array([k - h, k + h]))
        slope = np.abs(f(np.array([k - 2 * h, k + 2 * h])) - np.array([left, right])) / h
    return bool(abs(right - left) > 1e-6 * max(1.0, abs(left), abs(right)) + 4 * h * np.max(slope))


def _is_piecewise_linear(expr: sp.Expr) -> bool:
    pieces = [e for e, _ in expr.args] if isinstance(expr, sp.Piecewise) else [expr]
    return all(p.is_polynomial(x) and sp.degree(p, x) <= 1 if p.has(x) else True for p in pieces)


def _probe_grid() -> np.ndarray:
    tail = np.logspace(-3, 8, 400)
    return np.concatenate([-tail[::-1], np.linspace(-20, 20, 4001), tail])


#: erf and erfc as scipy.special ufuncs (numpy has none); sigmoid and softplus print their own numpy code
_NUMPY_MODULES = [{"erf": scipy.special.erf, "erfc": scipy.special.erfc}, "numpy"]


def _numpy_function(expr: sp.Expr):
    """Vectorised float64 evaluation of ``expr``; always returns an array shaped like the input.

    The expression was built from whitelisted sympy objects only, so the source that
    lambdify generates from it contains nothing but arithmetic and math functions.
    """
    raw = sp.lambdify(x, expr, modules=_NUMPY_MODULES)

    def f(u):
        u = np.asarray(u, dtype=np.float64)
        with np.errstate(all="ignore"):  # Piecewise evaluates every branch; unused ones may overflow
            out = raw(u)
        return np.array(np.broadcast_to(out, u.shape), dtype=np.float64)

    return f
