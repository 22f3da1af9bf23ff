"""Closed forms as fast paths (meanfield.fast_path): every closed-form average against the published
formulas evaluated by mpmath at 40 digits, and every path (MeanField, layer_map) against the
certified quadrature forced with closed_form=False."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import meanfield as mf
from meanfield.closed_forms import Q1, Q2, C, Q
from meanfield.codes import Evaluation

FAMILIES = ["relu", "Max(x, x/5)", "Abs(x)", "3*x", "Heaviside(x)", "sign(x)", "erf(x)", "sin(x)", "cos(x)"]
QS = [1e-4, 0.03, 1.0, 7.5, 300.0]
# c and 1 - c, exact in binary: near c = 1 the gap must keep its relative accuracy
CS = [(-0.99, 1.99), (-0.5, 1.5), (0.0, 1.0), (0.3, 0.7), (0.9, 0.1), (1 - 2.0 ** -20, 2.0 ** -20),
      (1 - 2.0 ** -40, 2.0 ** -40), (1.0, 0.0)]


def _mp(expr, *syms):
    """The published sympy expression as an mpmath function (40 digits): independent of fast_path."""
    return sp.lambdify(syms, expr, modules="mpmath")


def _rel(a, b, floor=0.0):
    return abs(a - b) / max(abs(b), floor) if (b != 0 or floor) else abs(a)


@pytest.mark.parametrize("phi", FAMILIES)
def test_every_closed_form_matches_the_published_formula_at_40_digits(phi):
    k = mf.known_kernel(phi)
    cf = mf.closed_form_of(phi)
    assert k is not None and cf is not None
    mpmath.mp.dps = 40
    cross = _mp(k.cross, Q1, Q2, C)
    cross_slope = None if k.cross_slope is None else _mp(k.cross_slope, Q1, Q2, C)
    curvature = None if k.curvature is None else _mp(k.curvature, Q)
    for q in QS:
        mq = mpmath.mpf(q)
        second = cross(mq, mq, 1)
        assert _rel(float(cf.second(q)), float(second)) <= 4e-15, (phi, q)
        # E[phi^2 (z^2 - 1)] = 2 q d/dq E[phi^2] (Stein's identity), by mpmath's numerical derivative
        zz = 2 * mq * mpmath.diff(lambda t: cross(t, t, 1), mq)
        assert abs(float(cf.second_zz(q)) - float(zz)) <= 4e-15 * max(abs(float(zz)), float(second)), (phi, q)
        if cross_slope is not None:
            assert _rel(float(cf.slope(q)), float(cross_slope(mq, mq, 1))) <= 4e-15
        assert (cf.curvature is None) == (curvature is None)
        if curvature is not None:
            assert abs(float(cf.curvature(q)) - float(curvature(mq))) <= 4e-15 * max(1.0, abs(float(curvature(mq))))
        for c, omc in CS:
            mc = 1 - mpmath.mpf(omc)
            ref = cross(mq, mq, mc)
            assert _rel(float(cf.cross(q, q, c, omc)), float(ref), floor=1e-300) <= 1e-14 or \
                abs(float(cf.cross(q, q, c, omc)) - float(ref)) <= 4e-16 * float(second), (phi, q, c)
            gap = second - ref                       # no cancellation at 40 digits
            got = float(cf.gap(q, c, omc))
            assert abs(got - float(gap)) <= 1e-14 * abs(float(gap)) + 1e-300, (phi, q, c, got, float(gap))
            if cross_slope is not None:
                ref = cross_slope(mq, mq, mc)
                assert abs(float(cf.cross_slope(q, q, c, omc)) - float(ref)) <= 1e-14 * max(abs(float(ref)), 1e-3)
        # unequal variances (the covariance map of two inputs of different lengths)
        ref = cross(mq, mpmath.mpf(2.5), mpmath.mpf("0.625"))
        assert abs(float(cf.cross(q, 2.5, 0.625, 0.375)) - float(ref)) <= 1e-14 * max(abs(float(ref)), 1e-6)


def test_closed_forms_match_the_forced_quadrature_in_the_layer_map():
    rng = np.random.default_rng(1)
    n = 300
    sw, sb = rng.uniform(0.5, 3, n), rng.uniform(0, 1, n)
    q, c = 10.0 ** rng.uniform(-3, 2, n), rng.uniform(-1, 1, n)
    c[:20] = 1 - 10.0 ** rng.uniform(-12, -2, 20)
    for phi in ("erf(x)", "relu", "sin(x)", "Heaviside(x)"):
        a = mf.layer_map(phi, sw, sb, q, c)
        b = mf.layer_map(phi, sw, sb, q, c, rtol=1e-13, closed_form=False)
        assert a.evaluation == Evaluation.CLOSED_FORM and b.evaluation == Evaluation.QUADRATURE
        assert np.all(a.status == 0) and np.all(b.status == 0)
        np.testing.assert_allclose(a.q, b.q, rtol=1e-12)
        np.testing.assert_allclose(a.c, b.c, rtol=0, atol=1e-12)
        if phi == "Heaviside(x)":
            assert np.all(np.isnan(a.chi_c)) and np.all(np.isnan(b.chi_c))
        else:
            # the quadrature's chi_c is good to ~1e-17 absolute where it is tiny (sin at q ~ 50:
            # e^{-q} cosh(cq) ~ 1e-22); the closed form is right there (checked with mpmath above)
            np.testing.assert_allclose(a.chi_c, b.chi_c, rtol=1e-11, atol=1e-15)


def test_layer_map_relu_is_the_arc_cosine_kernel_by_hand():
    # Cho & Saul 2009, degree 1 with the 1/2 of ReLU: q12' = sw2 q (sin t + (pi - t) cos t)/(2 pi) + sb2
    q, c, sw, sb = np.array([0.5, 2.0]), np.array([0.2, -0.7]), 1.3, 0.4
    t = np.arccos(c)
    qn = sw ** 2 * q / 2 + sb ** 2
    cn = (sw ** 2 * q * (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi) + sb ** 2) / qn
    res = mf.layer_map("relu", sw, sb, q, c)
    np.testing.assert_allclose(res.q, qn, rtol=1e-15)
    np.testing.assert_allclose(res.c, cn, rtol=1e-14)
    np.testing.assert_allclose(res.chi_c, sw ** 2 * (np.pi - t) / (2 * np.pi), rtol=1e-14)
    assert res.source == "closed form: arc-cosine kernel, Cho & Saul 2009"


@pytest.mark.parametrize("phi,sw,sb", [("erf(x)", 2.0, 0.3), ("erf(x)", 0.8, 0.05), ("relu", 1.3, 0.4),
                                       ("sin(x)", 2.5, 0.2), ("cos(x)", 1.2, 0.5), ("Max(x, x/5)", 1.1, 0.3),
                                       ("Abs(x)", 0.9, 0.1)])
def test_meanfield_closed_form_agrees_with_forced_quadrature(phi, sw, sb):
    a = mf.MeanField(phi, sw, sb)
    b = mf.MeanField(phi, sw, sb, closed_form=False)
    assert a.evaluation == Evaluation.CLOSED_FORM and b.evaluation == Evaluation.QUADRATURE
    assert a.evaluation_source.startswith("closed form: ") and b.evaluation_source == "certified quadrature"
    assert a.q_star() == pytest.approx(b.q_star(), rel=1e-13)
    assert a.length_map(0.7) == pytest.approx(b.length_map(0.7), rel=1e-13)
    assert a.length_map_slope(0.7) == pytest.approx(b.length_map_slope(0.7), rel=1e-12)
    assert a.chi1() == pytest.approx(b.chi1(), rel=1e-13)
    assert a.c_star() == pytest.approx(b.c_star(), rel=1e-11, abs=1e-12)
    assert a.chi_c() == pytest.approx(b.chi_c(), rel=1e-10)
    assert a.chi_c(0.4) == pytest.approx(b.chi_c(0.4), rel=1e-12)
    assert a.covariance_map(0.5, 2.0, 0.3) == pytest.approx(b.covariance_map(0.5, 2.0, 0.3), rel=1e-12)
    # the quadrature of a kinked phi gives up at 1 - c = 1e-9 (NotConvergedError); the closed form does
    # not, and is checked there against mpmath above
    e = 1e-3 if a.phi.delta_in_d2 else 1e-9
    assert a.correlation_gap(1 - e, e) == pytest.approx(b.correlation_gap(1 - e, e), rel=1e-10)
    np.testing.assert_allclose(a.correlation_trajectory(0.1, 6), b.correlation_trajectory(0.1, 6), rtol=1e-11)
    assert a.convergence_depth() == b.convergence_depth()
    fa, fb = a.fixed_points(), b.fixed_points()
    # sin, cos: the quadrature of an oscillating phi gives up at large q ("unresolved"); the closed
    # form scans the whole range (1e10) and resolves what happens above
    assert len(fa) == len(fb) and (fa.above == fb.above or fb.above == "unresolved")
    assert fa.scanned[1] >= fb.scanned[1]
    for p, r in zip(fa, fb):
        assert p.q == pytest.approx(r.q, rel=1e-12, abs=1e-300) and p.stable == r.stable
    if not a.phi.delta_in_d2:
        assert a.chi2() == pytest.approx(b.chi2(), rel=1e-12)


def test_closed_form_path_reporting_and_bad_keyword():
    assert mf.MeanField("tanh", 1.0, 0.1).evaluation == Evaluation.QUADRATURE     # no closed form known
    assert mf.closed_form_of("tanh") is None
    assert mf.closed_form_of("relu", closed_form=False) is None
    assert Evaluation.CLOSED_FORM.value == "closed form" and Evaluation.QUADRATURE.value == "certified quadrature"
    with pytest.raises(ValueError, match="closed_form must be True, False or 'derive'"):
        mf.MeanField("relu", 1.0, 0.1, closed_form="yes")
    with pytest.raises(ValueError, match="every q must be finite and > 0"):
        mf.layer_map("relu", 1.0, 0.1, [-1.0], [0.5])
    with pytest.raises(ValueError, match="every c must be finite and in"):
        mf.layer_map("relu", 1.0, 0.1, [1.0], [1.5])


def test_gap_keeps_relative_accuracy_as_c_goes_to_one():
    # for smooth phi, E[(phi(u1) - phi(u2))^2]/2 -> (1 - c) q E[phi'^2] as c -> 1 (first-order Taylor)
    for phi in ("erf(x)", "sin(x)", "cos(x)"):
        cf = mf.closed_form_of(phi)
        for omc in (1e-8, 1e-12, 1e-15):
            q = 1.7
            assert cf.gap(q, 1 - omc, omc) / (omc * q * cf.slope(q)) == pytest.approx(1.0, rel=10 * omc + 1e-14)
    # ReLU: 1 - (2/pi)(sqrt(1-c^2) + c asin c) = (1-c) - (2/pi)(2(1-c))^{3/2}/3 + ...: leading terms by hand
    cf = mf.closed_form_of("Abs(x)")
    e = 1e-10
    assert cf.gap(1.0, 1 - e, e) == pytest.approx(e - 2 / math.pi * (2 * e) ** 1.5 / 3, rel=1e-12)


def _same(a, b, rel, absolute=0.0):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=rel, atol=absolute)


@pytest.mark.parametrize("phi", ["erf(x)", "relu", "sin(x)", "Heaviside(x)"])
def test_phase_diagram_closed_form_agrees_with_forced_quadrature(phi):
    sw, sb = np.linspace(0.5, 4.0, 9), np.linspace(0.0, 1.0, 5)
    a = mf.phase_diagram(phi, sw, sb)
    b = mf.phase_diagram(phi, sw, sb, closed_form=False)
    assert a.evaluation == Evaluation.CLOSED_FORM and b.evaluation == Evaluation.QUADRATURE
    assert a.evaluation_source.startswith("closed form: ")
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.convergence_depth, b.convergence_depth)
    _same(a.q_star, b.q_star, 1e-10)            # grids run the quadrature at rtol 1e-10
    _same(a.chi1, b.chi1, 1e-10)
    _same(a.chi2, b.chi2, 1e-10)
    _same(a.c_star, b.c_star, 1e-8, 1e-10)
    _same(a.xi_c, b.xi_c, 1e-7)
    if phi != "Heaviside(x)":      # step: dV/dq = 0 exactly (xi_q = 0); the quadrature gives ~1e-17
        _same(a.xi_q, b.xi_q, 1e-8)
    _same(a.critical_sigma_w, b.critical_sigma_w, 1e-7)
    assert [(p.sigma_b, p.stable, p.reached) for p in a.critical_points] == \
        [(p.sigma_b, p.stable, p.reached) for p in b.critical_points]
    assert all(p.evaluation == Evaluation.CLOSED_FORM for p in a.critical_points)


def test_phase_diagram_saves_and_loads_its_path(tmp_path):
    pd = mf.phase_diagram("erf(x)", [1.0, 2.0], [0.1, 0.5])
    pd.save(tmp_path / "erf")
    back = mf.PhaseDiagram.load(tmp_path / "erf")
    assert back.evaluation == Evaluation.CLOSED_FORM and back.evaluation_source == pd.evaluation_source
    assert back.critical_points == pd.critical_points


def test_erf_critical_line_against_its_closed_form_by_hand():
    # chi1 = sw^2 4/(pi sqrt(1 + 4q)) = 1 and q = sw^2 (2/pi) asin(2q/(1+2q)) + sb^2 (Williams 1997), by mpmath
    mpmath.mp.dps = 30
    for sb in (0.05, 0.3, 1.0):
        pts = mf.critical_points("erf(x)", sb)
        crit = [p for p in pts if p.critical]
        assert len(crit) == 1 and crit[0].evaluation == Evaluation.CLOSED_FORM
        p = crit[0]
        q, sw2 = mpmath.mpf(p.q_star), mpmath.mpf(p.sigma_w) ** 2
        assert abs(sw2 * 4 / (mpmath.pi * mpmath.sqrt(1 + 4 * q)) - 1) < 1e-14
        assert abs(sw2 * 2 / mpmath.pi * mpmath.asin(2 * q / (1 + 2 * q)) + sb ** 2 - q) < 1e-13 * q
        assert p.sigma_w == pytest.approx(mf.critical_sigma_w("erf(x)", sb, closed_form=False), rel=1e-12)
    # sigma_b = 0: the line ends at q* = 0, sigma_w = 1/phi'(0) = sqrt(pi)/2
    assert mf.critical_sigma_w("erf(x)", 0.0) == pytest.approx(math.sqrt(math.pi) / 2, rel=1e-15)
    line = mf.critical_line("erf(x)", q=[0.1, 1.0, 10.0])
    ref = mf.critical_line("erf(x)", q=[0.1, 1.0, 10.0], closed_form=False)
    np.testing.assert_allclose(line.sigma_w, ref.sigma_w, rtol=1e-13)
    np.testing.assert_allclose(line.sigma_b, ref.sigma_b, rtol=1e-12)
    np.testing.assert_allclose(line.slope, ref.slope, rtol=1e-12)


@pytest.fixture(scope="module")
def x2_derivation():
    """derive("x**2 + x") once for the module (sympy: ~10-20 s)."""
    from meanfield.derivation import derive
    return derive("x**2 + x")


@pytest.mark.slow
def test_derived_closed_form_is_verified_and_used(monkeypatch, x2_derivation):
    # x^2 + x: derive() finds every average; E[phi^2] = q (3q + 1) is checked here by hand too
    from meanfield import derived_path, fast_path
    monkeypatch.setattr(fast_path, "_CACHE", {})
    monkeypatch.setattr(derived_path, "_CACHE", fast_path._CACHE)
    monkeypatch.setattr(derived_path, "_derive", lambda nl: x2_derivation)
    m = mf.MeanField("x**2 + x", 0.5, 0.3, q0=0.5, closed_form="derive")
    assert m.evaluation == Evaluation.CLOSED_FORM and "derived by sympy" in m.evaluation_source
    ref = mf.MeanField("x**2 + x", 0.5, 0.3, q0=0.5, closed_form=False)
    assert m.length_map(0.7) == pytest.approx(0.25 * 0.7 * (3 * 0.7 + 1) + 0.09, rel=1e-15)
    assert m.q_star() == pytest.approx(ref.q_star(), rel=1e-13)
    assert m.chi1() == pytest.approx(ref.chi1(), rel=1e-13)
    assert m.chi2() == pytest.approx(ref.chi2(), rel=1e-13)
    assert m.chi_c(0.3) == pytest.approx(ref.chi_c(0.3), rel=1e-12)
    assert mf.MeanField("x**2 + x", 0.5, 0.3).evaluation == Evaluation.QUADRATURE   # only on request


@pytest.mark.slow
def test_wrong_derived_form_is_rejected_reported_and_never_used(monkeypatch, x2_derivation):
    import dataclasses

    from meanfield import derived_path, fast_path

    monkeypatch.setattr(fast_path, "_CACHE", {})
    monkeypatch.setattr(derived_path, "_CACHE", fast_path._CACHE)
    real = x2_derivation

    def wrong(nl):    # E[phi^2] off by 1e-6 relative, E[phi'^2] right
        return dataclasses.replace(real, second=dataclasses.replace(real.second, value=real.second.value * (1 + 1e-6)))

    monkeypatch.setattr(derived_path, "_derive", wrong)
    with pytest.warns(UserWarning, match=r"derived closed form of E\[phi\^2\] for phi = .* rejected"):
        m = mf.MeanField("x**2 + x", 0.5, 0.3, q0=0.5, closed_form="derive")
    assert "E[phi^2] rejected" in m.evaluation_source
    assert m._cf.second is None and m._cf.slope is not None
    ref = mf.MeanField("x**2 + x", 0.5, 0.3, q0=0.5, closed_form=False)
    # the rejected moment is never used: the length map is the quadrature's, not the 1e-6-off form
    assert m.length_map(0.7) == pytest.approx(ref.length_map(0.7), rel=1e-13)
    assert m.q_star() == pytest.approx(ref.q_star(), rel=1e-13)


def test_cli_prints_the_path_and_quadrature_forces_it(capsys, tmp_path):
    from meanfield.cli import main

    assert main(["point", "relu", "--sigma-w", "1.3", "--sigma-b", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "# evaluation: closed form: arc-cosine kernel, Cho & Saul 2009" in out
    assert main(["point", "relu", "--sigma-w", "1.3", "--sigma-b", "0.4", "--quadrature"]) == 0
    out_q = capsys.readouterr().out
    assert "# evaluation: certified quadrature" in out_q
    # the same q* either way, to the digits printed (12)
    line = [s for s in out.splitlines() if s.strip().startswith("q*")]
    assert line and line == [s for s in out_q.splitlines() if s.strip().startswith("q*")]
    assert main(["phase", "erf", "--sigma-w", "1:2:3", "--sigma-b", "0.1:0.5:2", "--quiet",
                 "--out", str(tmp_path / "p")]) == 0
    assert "# evaluation: closed form: Williams 1997" in capsys.readouterr().out


def test_closed_form_paths_compile_nothing():
    # the compiled kernels are a cached property of the Nonlinearity: never built on the closed-form paths
    nl = mf.Nonlinearity("erf(x)")
    vars(nl).pop("kernels", None)      # an earlier test may have built them (instances are shared)
    m = mf.MeanField(nl, 2.0, 0.3)
    m.q_star(), m.chi1(), m.chi2(), m.c_star(), m.depth_scales(), m.fixed_points(), m.convergence_depth()
    mf.phase_diagram(nl, [1.0, 2.0], [0.0, 0.3])
    mf.layer_map(nl, 2.0, 0.3, [1.0], [0.5])
    mf.critical_sigma_w(nl, 0.3), mf.critical_line(nl, q=[1.0])
    assert "kernels" not in vars(nl)
    mf.MeanField(nl, 2.0, 0.3, closed_form=False).q_star()
    assert "kernels" in vars(nl)


@pytest.mark.parametrize("sw,sb", [(2.0, 0.3), (3.0, 0.05), (1.6, 0.8)])
def test_erf_q_star_and_c_star_against_mpmath_roots(sw, sb):
    # q* = sw^2 (2/pi) asin(2q/(1+2q)) + sb^2 and c* = C(c*)/q* (Williams 1997), solved by mpmath at 30 digits
    mpmath.mp.dps = 30
    sw2, sb2 = mpmath.mpf(sw) ** 2, mpmath.mpf(sb) ** 2

    def k(q, c):
        return 2 / mpmath.pi * mpmath.asin(2 * c * q / (1 + 2 * q))

    q = mpmath.findroot(lambda t: sw2 * k(t, 1) + sb2 - t, (mpmath.mpf("0.01"), mpmath.mpf(100)), solver="illinois")
    m = mf.MeanField("erf(x)", sw, sb)
    assert m.q_star() == pytest.approx(float(q), rel=4e-16 * 4)
    c = mpmath.findroot(lambda t: (sw2 * k(q, t) + sb2) / q - t, (mpmath.mpf(0), mpmath.mpf("0.999999")),
                        solver="illinois")
    # c* is converged to 1e-13 relative in 1 - c* (the kernels' criterion), i.e. about 1e-13 absolute
    assert m.c_star() == pytest.approx(float(c), rel=1e-13, abs=2e-13)
    chi_c = sw2 * 4 / (mpmath.pi * mpmath.sqrt((1 + 2 * q) ** 2 - 4 * c * c * q * q))
    assert m.chi_c() == pytest.approx(float(chi_c), rel=1e-13)


def test_convergence_depth_agrees_between_paths_when_the_orbit_converges_at_max_depth():
    """ReLU, sigma_w^2 = sigma_b^2 = 1: q^l - q* = (1/2)^(l-1) (q0 - q*) exactly (q* = 2).  From q0 = 10
    and tol 0.01 (|q - q*| <= 0.02) that takes 9 applications: 8 / 2^9 = 0.0156 <= 0.02 < 8 / 2^8.  Both
    paths return 9 for max_depth 9 and more, and say that it did not converge below."""
    for closed in (True, False):
        m = mf.MeanField("relu", 1.0, 1.0, closed_form=closed)
        assert [m.convergence_depth(q0=10.0, tol=0.01, max_depth=d) for d in (9, 12)] == [9, 9], closed
        with pytest.raises(mf.NotConvergedError, match="after 8 layers"):
            m.convergence_depth(q0=10.0, tol=0.01, max_depth=8)
