"""Each kernel fragment on its own, with the stand-in phi of meanfield/kernels/fragments/_phi_stub.py plugged in.

The stand-in is the cubic phi(x) = 1/4 + x - x^2/2 + x^3/6, so every Gaussian expectation is a
polynomial in the moments E[z^n] = (n-1)!!: the references below are exact (sympy), independent
of the quadrature.  The fragments run as ordinary modules here (not concatenated), which also
shows that their imports of each other are complete.
"""
from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import sympy as sp

from meanfield.codes import LayerField, Method, Moment, NestedField, Order, PhaseField, Status
from meanfield.kernels import run_blocks
from meanfield.kernels.fragments import ORDER

pytestmark = pytest.mark.slow        # compiles every fragment once (cached on disk afterwards)


def _import_fragments():
    """Import the fragments with Numba's disk cache in a directory named by the hash of their sources
    (stub, codes, every fragment): Numba's cache only checks a function's own file, so a changed
    fragment or code would otherwise leave its callers' cached machine code stale."""
    import hashlib
    import pathlib

    import numba

    from meanfield import kernels
    stub = (pathlib.Path(kernels.__file__).parent / "fragments" / "_phi_stub.py").read_text()
    key = hashlib.sha256((kernels._TEMPLATE_HASH + stub).encode()).hexdigest()[:10]
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(kernels.cache_dir().parent / "fragment-tests" / key)
    try:
        return {name: importlib.import_module(f"meanfield.kernels.fragments.{name}") for name in ("_phi_stub", *ORDER)}
    finally:
        numba.config.CACHE_DIR = saved


FRAGMENTS = _import_fragments()
COEFFICIENTS = FRAGMENTS["_phi_stub"].COEFFICIENTS

X, Z1, Z2, QS, C = sp.symbols("x z1 z2 q c", real=True)
PHI = sum(sp.Rational(a).limit_denominator(1000) * X ** k for k, a in enumerate(COEFFICIENTS))
DPHI = sp.diff(PHI, X)


def gauss(expr, *zs):
    """E[expr] over independent standard normal zs: exact, from E[z^n] = (n-1)!! (0 for odd n)."""
    poly = sp.Poly(sp.expand(expr), *zs)
    total = 0
    for powers, coef in poly.terms():
        m = 1
        for n in powers:
            m *= 0 if n % 2 else sp.factorial2(n - 1)
        total += coef * m
    return sp.simplify(total)


def e1(g, q):
    """E[g(sqrt(q) z)] for a polynomial g in X."""
    return float(gauss(g.subs(X, sp.sqrt(q) * Z1), Z1))


def e2(ga, gb, q11, q22, c):
    """E[ga(u1) gb(u2)], u1 = sqrt(q11) z1, u2 = sqrt(q22) (c z1 + sqrt(1 - c^2) z2)."""
    u1 = sp.sqrt(sp.nsimplify(q11)) * Z1
    u2 = sp.sqrt(sp.nsimplify(q22)) * (sp.nsimplify(c) * Z1 + sp.sqrt(1 - sp.nsimplify(c) ** 2) * Z2)
    return float(gauss(ga.subs(X, u1) * gb.subs(X, u2), Z1, Z2))


def frag(name):
    """Fragment ``name`` with the stand-in phi plugged in (as kernels_for plugs in a real phi)."""
    from meanfield.kernels import BoundKernels
    return BoundKernels(FRAGMENTS[name], FRAGMENTS["_phi_stub"].STUB, "stand-in cubic")


def test_every_fragment_imports_and_the_order_respects_dependencies():
    """Each fragment is an importable module, and imports only fragments listed before it."""
    import ast
    import pathlib
    seen = set()
    for name in ORDER:
        mod = FRAGMENTS[name]
        tree = ast.parse(pathlib.Path(mod.__file__).read_text())
        deps = {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert deps - {"_phi_stub"} <= seen, f"{name} imports {deps - seen} before they are generated"
        seen.add(name)


def test_gk15_gaussian_moments_of_the_cubic():
    from meanfield.codes import Kind
    gk = frag("gk15")
    q = 1.7
    cases = {Kind.PHI2: PHI ** 2, Kind.DPHI2: DPHI ** 2, Kind.D2PHI2: sp.diff(PHI, X, 2) ** 2,
             Kind.D3PHI2: sp.diff(PHI, X, 3) ** 2, Kind.PHI: PHI, Kind.DPHI: DPHI}
    for kind, g in cases.items():
        v, _err, st = gk.expect1(kind, 0.0, math.sqrt(q), 1e-13, 1e-15)
        assert st == Status.OK
        assert v == pytest.approx(e1(g, q), rel=1e-12), kind.name
    # Stein's identity: E[phi^2 (z^2 - 1)] = 2 q E[phi'^2 + phi phi''] / ... checked exactly instead
    v, _err, st = gk.expect1(Kind.PHI2_ZZ, 0.0, math.sqrt(q), 1e-13, 1e-15)
    want = float(gauss(PHI.subs(X, sp.sqrt(sp.nsimplify(q)) * Z1) ** 2 * (Z1 ** 2 - 1), Z1))
    assert v == pytest.approx(want, rel=1e-12)


def test_integrands_reject_unknown_kinds():
    integrands = frag("integrands")
    with pytest.raises(ValueError, match="unknown integrand kind"):
        integrands.g1(99, 0.5, 0.5, 0.0, 0.0)


def test_nested2d_products_and_gap():
    n2 = frag("nested2d")
    q11, q22, c = 0.8, 1.3, 0.6
    v, _e, st = n2.expect2(Order.PHI, Order.PHI, n2.PRODUCT, q11, q22, c, 1 - c, 1e-11)
    assert st == Status.OK and v == pytest.approx(e2(PHI, PHI, q11, q22, c), rel=1e-10)
    v, _e, st = n2.expect2(Order.DPHI, Order.DPHI, n2.PRODUCT, q11, q22, c, 1 - c, 1e-11)
    assert st == Status.OK and v == pytest.approx(e2(DPHI, DPHI, q11, q22, c), rel=1e-10)
    v, _e, st = n2.expect2(Order.PHI, Order.PHI, n2.GAP, q11, q11, c, 1 - c, 1e-11)
    want = e1(PHI ** 2, q11) - e2(PHI, PHI, q11, q11, c)
    assert st == Status.OK and v == pytest.approx(want, rel=1e-10)


def test_taylor_gap_and_rotated_coordinates_near_c_equal_one():
    """The gap E[(phi(u1) - phi(u2))^2]/2 at 1 - c = 1e-6 from its certified expansion and in
    rotated coordinates, against the exact polynomial (evaluated in 1 - c, no cancellation)."""
    gk, tg, rot = frag("gk15"), frag("taylor_gap"), frag("rotated")
    from meanfield.codes import Kind
    q, e = 0.9, 1e-6
    u1 = sp.sqrt(sp.nsimplify(q)) * Z1
    cc = 1 - sp.nsimplify(e)
    u2 = sp.sqrt(sp.nsimplify(q)) * (cc * Z1 + sp.sqrt(1 - cc ** 2) * Z2)
    exact = float(gauss((PHI.subs(X, u1) - PHI.subs(X, u2)) ** 2 / 2, Z1, Z2))
    v, bound, ok = tg._gap_taylor(gk.workspace(), q, e, 1e-12)
    assert ok and abs(v - exact) <= bound + 1e-15 * exact and v == pytest.approx(exact, rel=1e-11)
    v, _err, st = rot.expect_rotated(gk.workspace(), Kind.ROT_GAP, q, e, 1e-11)
    assert st == Status.OK and v == pytest.approx(exact, rel=1e-10)
    chi = e2(DPHI, DPHI, q, q, 1 - e)
    v, _err, st = rot.expect_rotated(gk.workspace(), Kind.ROT_CHI, q, e, 1e-11)
    assert st == Status.OK and v == pytest.approx(chi, rel=1e-10)


def test_hermite_coefficients_and_mehler_series():
    """a_n = E[phi(sqrt(q) z) He_n(z)]/sqrt(n!) vanish beyond n = 3 for a cubic; the series then
    reproduces the C-map exactly, with a tail T_N of zero."""
    gk, he, me, tab = frag("gk15"), frag("hermite"), frag("mehler"), frag("tables")
    q = 1.4
    coef = np.empty(8)
    he.hermite_coefficients(gk.workspace(), q, 7, coef)
    want = [float(gauss(PHI.subs(X, sp.sqrt(sp.nsimplify(q)) * Z1) * sp.hermite_prob(n, Z1), Z1)
                  / sp.sqrt(sp.factorial(n))) for n in range(8)]
    np.testing.assert_allclose(coef, want, rtol=0, atol=1e-13)
    S, st = me.mehler_series(gk.workspace(), tab.no_table(), q, 16, 1e-12)
    assert st == Status.OK and S.tail == pytest.approx(0.0, abs=1e-12)
    c = 0.35
    gap, _gb = me.mehler_gap(S, c, 1 - c)
    assert gap == pytest.approx(e1(PHI ** 2, q) - e2(PHI, PHI, q, q, c), rel=1e-12)
    chi, _xb = me.mehler_chi(S, q, c)
    assert chi == pytest.approx(e2(DPHI, DPHI, q, q, c), rel=1e-12)


def test_tables_interpolate_the_moments():
    from meanfield.kernels.tables import build_table
    gk, tab = frag("gk15"), frag("tables")
    T = build_table(tab, 0.1, 10.0, hermite=False)
    assert T.hermite.rows == 0 and np.all(np.isfinite(T.moments.err))
    W = gk.workspace()
    for q in (0.13, 1.0, 7.7):
        for row, g in ((Moment.PHI2, PHI ** 2), (Moment.DPHI2, DPHI ** 2), (Moment.D2PHI2, sp.diff(PHI, X, 2) ** 2)):
            v, _err, st = tab.moment(W, T, row, q, 1e-10)
            assert st == Status.OK and v == pytest.approx(e1(g, q), rel=1e-12)


def test_roots_illinois_finds_sqrt2():
    roots = frag("roots")
    lo, f_lo, hi, f_hi, side = 1.0, -1.0, 2.0, 2.0, np.int64(0)
    for _ in range(60):
        x = roots._secant_point(lo, f_lo, hi, f_hi)
        lo, f_lo, hi, f_hi, side = roots._illinois(x, x * x - 2.0, lo, f_lo, hi, f_hi, side)
        if hi - lo < 1e-15:
            break
    assert x == pytest.approx(math.sqrt(2.0), rel=1e-15)


def _fixed_point(sw2, sb2):
    """The smallest positive root of V(q) = q with V(q) = sw2 E[phi^2] + sb2 (a polynomial in q)."""
    V = sw2 * gauss(PHI.subs(X, sp.sqrt(QS) * Z1) ** 2, Z1) + sb2
    roots = [complex(r) for r in sp.Poly(sp.expand(V - QS), QS).nroots(n=30)]
    return min(r.real for r in roots if abs(r.imag) < 1e-12 and r.real > 0), V


def test_q_star_layer_map_phase_point_and_c_star():
    """q* (root of the polynomial V(q) = q), one layer of the two-input maps, a phase-diagram point
    and c* (root of the Mehler polynomial of the C-map), all against exact sympy references."""
    gk, qs_mod, tab, lm, pg, cs_mod = (frag(n) for n in ("gk15", "q_star", "tables", "layer_maps", "phase_grid",
                                                          "c_star"))
    sw2, sb2 = 0.2, 0.2
    qref, V = _fixed_point(sw2, sb2)
    assert float(V.subs(QS, 1.0)) < 1.0            # the orbit from q0 = 1 descends to the smallest root
    W = gk.workspace()
    T = tab.no_table()
    q, st = qs_mod.q_star(W, T, sw2, sb2, 1.0, 1e-13)
    assert st == Status.OK and q == pytest.approx(qref, rel=1e-13)
    # a phase-diagram point there (ordered phase: c* = 1)
    point = np.empty(len(PhaseField))
    pg.phase_point(T, sw2, sb2, 1.0, 0.01, 1e-11, True, point)
    assert point[PhaseField.Q_STATUS] == Status.OK and point[PhaseField.C_STATUS] == Status.OK
    assert point[PhaseField.Q_STAR] == pytest.approx(qref, rel=1e-12)
    chi1 = sw2 * e1(DPHI ** 2, qref)
    assert chi1 < 1 and point[PhaseField.CHI1] == pytest.approx(chi1, rel=1e-11)
    assert point[PhaseField.CHI2] == pytest.approx(sw2 * e1(sp.diff(PHI, X, 2) ** 2, qref), rel=1e-11)
    assert point[PhaseField.SLOPE] == pytest.approx(float(sp.diff(V, QS).subs(QS, qref)), rel=1e-11)
    assert point[PhaseField.C_STAR] == 1.0
    # one layer at (q, c)
    out = np.empty(len(LayerField))
    qq, c = 0.7, 0.4
    lm.layer_point(W, T, sw2, sb2, qq, c, 1e-11, out)
    qn = sw2 * e1(PHI ** 2, qq) + sb2
    assert out[LayerField.STATUS] == Status.OK
    assert out[LayerField.Q] == pytest.approx(qn, rel=1e-12)
    assert out[LayerField.C] == pytest.approx((sw2 * e2(PHI, PHI, qq, qq, c) + sb2) / qn, rel=1e-10)
    assert out[LayerField.CHI_C] == pytest.approx(sw2 * e2(DPHI, DPHI, qq, qq, c), rel=1e-10)
    # c* of the C-map c -> 1 - sw2 sum_n (1 - c^n) a_n^2 / q at a q with chi1 > 1 (chaotic)
    sw2, q = 0.85, 0.1           # chi1 = 1.03, and the map sends c = 0 to c' = 0.02 > 0
    a = [gauss(PHI.subs(X, sp.sqrt(sp.nsimplify(q)) * Z1) * sp.hermite_prob(n, Z1), Z1) / sp.sqrt(sp.factorial(n))
         for n in range(4)]
    cmap = 1 - sp.nsimplify(sw2) * sum((1 - C ** n) * a[n] ** 2 for n in range(1, 4)) / sp.nsimplify(q)
    fixed = [complex(r) for r in sp.Poly(sp.expand(cmap - C), C).nroots(n=30)]
    cref = max(r.real for r in fixed if abs(r.imag) < 1e-12 and -1 <= r.real < 1 - 1e-9)
    chic = float(sp.diff(cmap, C).subs(C, cref))
    chi1 = sw2 * e1(DPHI ** 2, q)
    assert chi1 > 1 and chi1 == pytest.approx(float(sp.diff(cmap, C).subs(C, 1)), rel=1e-12)   # Stein
    cs, _omc, chic2, st, method = cs_mod.c_star_and_chi(W, T, sw2, q, chi1, 1e-11)
    assert st == Status.OK and method == Method.SERIES
    assert cs == pytest.approx(cref, abs=1e-10) and chic2 == pytest.approx(chic, rel=1e-9)
    # the nested path (NEEDS_NESTED in grids) gives the same c*
    res = np.empty((1, len(NestedField)))
    run_blocks(cs_mod.c_star_nested_block, 1, np.array([sw2]), np.array([q]), np.array([chi1]), 1e-10,
               np.array([1 - cref]), res)
    assert res[0, NestedField.STATUS] == Status.OK
    assert res[0, NestedField.C_STAR] == pytest.approx(cref, abs=1e-9)
    assert res[0, NestedField.CHI_C] == pytest.approx(chic, rel=1e-8)


def test_critical_roots_of_the_cubic():
    """chi1 = 1 and q = V(q): q E[phi'^2] - E[phi^2] = sb2 E[phi'^2], a polynomial equation in q."""
    gk, crit, tab = frag("gk15"), frag("critical"), frag("tables")
    sb2 = 0.3
    e2q = gauss(PHI.subs(X, sp.sqrt(QS) * Z1) ** 2, Z1)
    d2q = gauss(DPHI.subs(X, sp.sqrt(QS) * Z1) ** 2, Z1)
    want = sorted(complex(r).real for r in sp.Poly(sp.expand(QS * d2q - e2q - sb2 * d2q), QS).nroots(n=30)
                  if abs(complex(r).imag) < 1e-12 and 1e-8 < complex(r).real < 1e8)
    roots = np.empty(16)
    n, st = crit.critical_roots(gk.workspace(), tab.no_table(), sb2, 1e-13, roots)
    assert st == Status.OK and n == len(want) >= 1
    np.testing.assert_allclose(roots[:n], want, rtol=1e-12)
