"""Closed forms found by :func:`meanfield.derive`, verified against the quadrature, as fast paths.

Turned on by ``closed_form="derive"`` (:class:`meanfield.MeanField`, :func:`meanfield.phase_diagram`,
:func:`meanfield.layer_map`, the critical line) or ``meanfield phase PHI --derive``.  For a phi
without a published kernel, :func:`verified_closed_form` runs :func:`meanfield.derive` (sympy, in
child processes with its work budget: deterministic) and turns each average it found into a numpy
function (``sympy.lambdify`` of the sympy tree that meanfield's parser built: no user string is
ever executed).  Before any is used, each is compared with the certified quadrature at
:data:`CHECK_Q` x :data:`CHECK_C` to :data:`CHECK_RTOL`:

* agreeing averages become this phi's fast path for the process (memoised per phi);
* a disagreeing one is **rejected**: a ``UserWarning`` names it and the largest discrepancy,
  ``ClosedForm.notes`` (and so ``evaluation_source`` of every result) records it, and the
  quadrature computes that average.

Derived forms serve E[phi^2], its slope in q, E[phi'^2], E[phi''^2] and E[phi'(u1) phi'(u2)].
The gap E[(phi(u1) - phi(u2))^2]/2, hence c* and c' near 1, stays with the quadrature: a derived
cross kernel subtracted from E[phi^2] loses all digits as c -> 1 and sympy gives no stable form.
"""
from __future__ import annotations

import warnings

import numpy as np
import sympy as sp

from .closed_forms import C, Q
from .codes import Kind, Order
from .fast_path import _CACHE, ClosedForm
from .nonlinearity import as_nonlinearity

#: where each derived average is checked against the quadrature
CHECK_Q = (1e-3, 0.05, 0.4, 1.0, 3.0, 20.0)
CHECK_C = (-0.8, -0.1, 0.35, 0.9)
#: agreement required: the quadrature's own tolerance (1e-13) with headroom for the rounding of
#: formulas that sympy did not write for numerical stability
CHECK_RTOL = 1e-11

SOURCE = "derived by sympy (meanfield.derive), verified against the quadrature"


def _derive(nl):
    from .derivation import derive
    return derive(nl)


def _numpy(expr, *syms):
    f = sp.lambdify(syms, expr, modules="numpy")
    return lambda *a: np.asarray(f(*(np.asarray(v, dtype=float) for v in a)), dtype=float) + 0.0 * sum(
        np.asarray(v, dtype=float) for v in a)


def verified_closed_form(phi, rtol: float = 1e-13) -> ClosedForm | None:
    """The verified derived closed form of ``phi`` (memoised per phi), or None if derive() found none
    that agrees with the quadrature.  Disagreeing averages are rejected with a warning.

    Each average :func:`meanfield.derive` found (E[phi^2] of the length map, Poole et al. 2016,
    eq. 3; its q-slope; E[phi'^2] of chi1, eq. 7; E[phi''^2] of chi2, eq. 9; and the
    equal-variance cross kernel E[phi'(u1) phi'(u2)], the c-slope of the covariance map, eq. 5)
    is compared with the quadrature at :data:`CHECK_Q` (x :data:`CHECK_C`) and kept only if it
    agrees to :data:`CHECK_RTOL`.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        The nonlinearity (anything :func:`~meanfield.nonlinearity.as_nonlinearity` accepts).
    rtol : float, optional
        Relative tolerance of the reference quadrature the derived forms are checked against
        (default 1e-13).  The memo is per phi only: a later call with another ``rtol`` returns
        the first result.

    Returns
    -------
    ClosedForm or None
        A :class:`~meanfield.fast_path.ClosedForm` with ``derived=True``: the accepted averages
        as numpy functions (``cross``, ``gap`` and the rejected ones None; ``cross_slope`` gives
        NaN where ``q1 != q2``), ``source`` listing what was found and rejected, ``notes`` the
        rejections.  None if no average was found or all were rejected.

    Warns
    -----
    UserWarning
        For each rejected average, naming it and its largest relative discrepancy.
    """
    nl = as_nonlinearity(phi)
    cache = _CACHE.setdefault(nl.key, {})
    if "derive" in cache:
        return cache["derive"]
    d = _derive(nl)
    K = nl.kernels
    funcs, notes = {}, []

    def check(name, expr, syms, quad, points):
        if expr is None:
            return None
        try:
            f = _numpy(expr, *syms)
            got = np.array([float(f(*p)) for p in points])
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            got = np.full(len(points), np.nan)
        ref = np.array([quad(*p) for p in points])
        err = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
        worst = float(np.nanmax(err)) if np.all(np.isfinite(got)) else np.inf
        if not worst <= CHECK_RTOL:
            msg = (f"derived closed form of {name} for phi = {nl.name} rejected: it differs from the certified "
                   f"quadrature by {worst:.3g} relative (> {CHECK_RTOL:g}); the quadrature computes it")
            warnings.warn(msg, UserWarning, stacklevel=3)
            notes.append(f"{name} rejected ({worst:.3g} off the quadrature)")
            return None
        return f

    ones = [(q,) for q in CHECK_Q]
    pairs = [(q, c) for q in CHECK_Q for c in CHECK_C]
    second = d.second.value
    funcs["second"] = check("E[phi^2]", second, (Q,), lambda q: K.expect(Kind.PHI2, q, rtol), ones)
    if funcs["second"] is not None:
        zz = sp.simplify(2 * Q * sp.diff(second, Q))
        funcs["second_zz"] = check("E[phi^2 (z^2-1)]", zz, (Q,), lambda q: K.expect(Kind.PHI2_ZZ, q, rtol), ones)
    funcs["slope"] = check("E[phi'^2]", d.slope.value, (Q,), lambda q: K.expect(Kind.DPHI2, q, rtol), ones)
    funcs["curvature"] = check("E[phi''^2]", d.curvature.value, (Q,),
                               lambda q: K.expect(Kind.D2PHI2, q, rtol), ones)
    xs = check("E[phi'(u1) phi'(u2)]", d.cross_slope.value, (Q, C),
               lambda q, c: K.expect2(Order.DPHI, Order.DPHI, q, q, c, rtol=rtol), pairs)
    if xs is not None:
        def cross_slope(q1, q2, c, omc, f=xs):
            # derived at q1 = q2 only (derive()'s cross kernels are at equal variances)
            q1, q2 = np.asarray(q1, dtype=float), np.asarray(q2, dtype=float)
            return np.where(q1 == q2, f(q1, c), np.nan)
        funcs["cross_slope"] = cross_slope
    if not any(v is not None for v in funcs.values()):
        cache["derive"] = None
        return None
    found = ", ".join(k for k, v in funcs.items() if v is not None)
    rejected = f"; {'; '.join(notes)}" if notes else ""
    cf = ClosedForm(name=nl.name, source=f"{SOURCE} ({found}){rejected}", second=funcs.get("second"),
                    second_zz=funcs.get("second_zz"), slope=funcs.get("slope"),
                    curvature=funcs.get("curvature"), cross=None, cross_slope=funcs.get("cross_slope"),
                    gap=None, derived=True, notes=tuple(notes))
    cache["derive"] = cf
    return cf
