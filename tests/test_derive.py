"""meanfield.derive: closed forms against independent formulas and the mpmath reference.

Independent references: ReLU V(q) = sigma_w^2 q/2 + sigma_b^2 and chi1 = sigma_w^2/2 and
linear V = sigma_w^2 q + sigma_b^2 (elementary Gaussian moments); erf E[phi'^2] =
4/(pi sqrt(1+4q)); the known-kernel table (Cho & Saul 2009, Williams 1997) and
sympy's piecewise results against meanfield.reference (mpmath quadrature).
"""
import mpmath as mp
import pytest
import sympy as sp

from meanfield import reference as R
from meanfield.derive import C, Q, SIGMA_B, SIGMA_W, derive


def agrees(expr, mp_value, rel=1e-12, **values):
    """Numeric value of a sympy closed form vs an mpmath reference value."""
    v = sp.N(expr.subs({Q: values.get("q"), C: values.get("c", 0),
                        SIGMA_W: values.get("sigma_w", 1), SIGMA_B: values.get("sigma_b", 0)}), 30)
    return abs(mp.mpf(str(v)) - mp_value) <= rel * abs(mp_value)


@pytest.fixture(scope="module")
def relu():
    return derive("relu")


@pytest.fixture(scope="module")
def erf():
    return derive("erf", timeout=3)


def test_relu_closed_forms(relu):
    assert relu.second.source == "sympy" and relu.slope.source == "sympy"
    assert sp.simplify(relu.length_map - (SIGMA_W ** 2 * Q / 2 + SIGMA_B ** 2)) == 0
    assert sp.simplify(relu.chi1 - SIGMA_W ** 2 / 2) == 0
    assert sp.simplify(relu.length_map_slope - SIGMA_W ** 2 / 2) == 0
    for q in (0.3, 2.0, 17.0):
        assert agrees(relu.length_map, R.length_map("relu", 1.3, 0.2, q), q=q, sigma_w=1.3, sigma_b=0.2)


def test_relu_known_kernels_against_mpmath(relu):
    assert "Cho & Saul" in relu.cross.source and "Cho & Saul" in relu.cross_slope.source
    q, c = 1.7, 0.35
    f, df, _ = R.mp_functions("relu")
    assert agrees(relu.cross.value, R.gauss_expect2(f, f, q, q, c, (0.0,), (0.0,)), q=q, c=c)
    assert agrees(relu.cross_slope.value, R.gauss_expect2(df, df, q, q, c, (0.0,), (0.0,)), q=q, c=c)


def test_linear_closed_forms():
    d = derive("linear")
    assert sp.simplify(d.length_map - (SIGMA_W ** 2 * Q + SIGMA_B ** 2)) == 0
    assert sp.simplify(d.cross.value - C * Q) == 0 and d.cross.source == "sympy"
    assert d.chi2 == 0


def test_erf_closed_forms(erf):
    assert erf.slope.source == "sympy"
    assert sp.simplify(erf.slope.value - 4 / (sp.pi * sp.sqrt(1 + 4 * Q))) == 0
    assert agrees(erf.chi2, R.chi2("erf", 1.5, 0.0, q=0.8), q=0.8, sigma_w=1.5)


def test_erf_known_kernels_against_mpmath(erf):
    assert "Williams" in erf.cross.source
    q, c = 0.6, -0.45
    f, df, _ = R.mp_functions("erf")
    assert agrees(erf.cross.value, R.gauss_expect2(f, f, q, q, c), q=q, c=c)
    assert agrees(erf.cross_slope.value, R.gauss_expect2(df, df, q, q, c), q=q, c=c)
    assert agrees(erf.second.value, R.gauss_expect(lambda u: f(u) ** 2, q), q=q)


@pytest.mark.parametrize("name", ["hard_tanh", "selu"])
def test_piecewise_sympy_results_against_mpmath(name):
    d = derive(name, timeout=4)
    assert d.second.source == "sympy" and d.slope.source == "sympy"
    for q in (0.4, 3.0):
        assert agrees(d.length_map, R.length_map(name, 1.1, 0.3, q), q=q, sigma_w=1.1, sigma_b=0.3)
        assert agrees(d.chi1, R.chi1(name, 1.1, 0.3, q=q), q=q, sigma_w=1.1, sigma_b=0.3)


def test_tanh_has_no_closed_form_and_renders():
    d = derive("tanh", timeout=1.5)
    for m in (d.second, d.slope, d.curvature, d.cross, d.cross_slope):
        assert m.value is None and m.source == "no closed form found"
    assert d.length_map is None and d.chi1 is None
    md = d.to_markdown()
    assert "none found" in md


def test_dirac_deltas():
    relu = derive("relu", timeout=0.5)
    assert relu.deltas_d1 == () and relu.deltas_d2 == ((0, 1),)
    assert "Dirac" in relu.curvature.source and relu.chi2 is None
    ht = derive("hard_tanh", timeout=0.5)
    assert ht.deltas_d2 == ((-1, 1), (1, -1))
    selu = derive("selu", timeout=0.5)
    (k, w), = selu.deltas_d2
    lam, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    assert k == 0 and abs(float(w) - lam * (1 - alpha)) < 1e-12  # phi'(0+) - phi'(0-)
    step = derive("Heaviside(x)", timeout=0.5)
    assert step.deltas_d1 == ((0, 1),) and step.slope.value is None
    assert "DiracDelta(x)" in relu.to_markdown()


def test_markdown_and_latex_carry_the_equation_labels(relu):
    md = relu.to_markdown()
    for tag in ("3", "5", "6", "7", "8", "9", "S1", "S2"):
        assert f"\\tag{{{tag}}}" in md
    assert md.count("$$") % 2 == 0
    tex = relu.to_latex()
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert tex.count("\\begin{equation}") == tex.count("\\end{equation}") == md.count("$$") // 2


def test_numbers_are_substituted_and_fixed_point_solved():
    d = derive("relu", sigma_w=1.2, sigma_b=0.3)
    # q* = sigma_b^2 / (1 - sigma_w^2/2) = 0.09/0.28
    assert d.q_star == (sp.Rational(9, 28),)
    assert abs(float(d.q_star[0]) - R.q_star("relu", 1.2, 0.3)) < 1e-14
    assert sp.simplify(d.chi1 - sp.Rational(18, 25)) == 0
    assert "\\frac{9}{28}" in d.to_markdown()


def test_zero_timeout_falls_back_to_the_table():
    d = derive("relu", timeout=0.0)
    assert "Cho & Saul" in d.second.source
    assert sp.simplify(d.second.value - Q / 2) == 0


def test_bad_sigma():
    with pytest.raises(ValueError, match="sigma_w"):
        derive("relu", sigma_w=-1.0, sigma_b=0.1, timeout=0.1)
