"""meanfield.derive: closed forms against independent formulas and the mpmath reference.

Independent references: ReLU V(q) = sigma_w^2 q/2 + sigma_b^2 and chi1 = sigma_w^2/2 and
linear V = sigma_w^2 q + sigma_b^2 (elementary Gaussian moments); erf E[phi'^2] =
4/(pi sqrt(1+4q)) and E[phi''^2] = 16 q/(pi (1+4q)^(3/2)) (Gaussian integrals of
x^2 exp(-2x^2)); every known kernel of meanfield.closed_forms against quadrature of phi written here
(mpmath through meanfield.reference's integrators for kinked phi, a 90-node Gauss-Hermite rule for
smooth entire phi);
sympy's piecewise results against meanfield.reference (mpmath quadrature).
"""
import math
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import meanfield as mf
from meanfield import reference as R
from meanfield.closed_forms import Q1, Q2, known_kernel
from meanfield.codes import Kind
from meanfield.derivation import SIGMA_B, SIGMA_W, C, Outcome, Q, _run_attempts, derive


def agrees(expr, mp_value, rel=1e-12, **values):
    """Numeric value of a sympy closed form vs an mpmath reference value."""
    symbols = {"q": Q, "c": C, "q1": Q1, "q2": Q2, "sigma_w": SIGMA_W, "sigma_b": SIGMA_B}
    given = {SIGMA_W: 1, SIGMA_B: 0, C: 0} | {symbols[k]: v for k, v in values.items()}
    v = sp.N(expr.subs(given), 30)
    return abs(mp.mpf(str(v)) - mp_value) <= rel * max(abs(mp_value), mp.mpf(1e-30))


@pytest.fixture(scope="module")
def relu():
    return derive("relu")


@pytest.fixture(scope="module")
def erf():
    return derive("erf", timeout=3)


def test_relu_closed_forms(relu):
    assert "Cho & Saul" in relu.second.source and "Cho & Saul" in relu.slope.source
    assert sp.simplify(relu.length_map - (SIGMA_W ** 2 * Q / 2 + SIGMA_B ** 2)) == 0
    assert sp.simplify(relu.chi1 - SIGMA_W ** 2 / 2) == 0
    assert sp.simplify(relu.length_map_slope - SIGMA_W ** 2 / 2) == 0
    for q in (0.3, 2.0, 17.0):
        assert agrees(relu.length_map, R.length_map("relu", 1.3, 0.2, q), q=q, sigma_w=1.3, sigma_b=0.2)


def test_derive_uses_the_known_kernel(relu):
    assert "Cho & Saul" in relu.cross.source and "Cho & Saul" in relu.cross_slope.source
    # the arc-cosine kernel as Cho & Saul write it (degree 1), independent of closed_forms' a x + b|x| form
    theta = sp.acos(C)
    ref = Q / (2 * sp.pi) * (sp.sqrt(1 - C ** 2) + (sp.pi - theta) * C), (sp.pi - theta) / (2 * sp.pi)
    for got, want in zip((relu.cross.value, relu.cross_slope.value), ref):
        assert sp.simplify((got - want).rewrite(sp.acos)) == 0


def test_linear_closed_forms():
    d = derive("linear")
    assert sp.simplify(d.length_map - (SIGMA_W ** 2 * Q + SIGMA_B ** 2)) == 0
    assert sp.simplify(d.cross.value - C * Q) == 0
    assert d.chi2 == 0


ERF_CHI2 = 16 * Q * SIGMA_W ** 2 / (sp.pi * (4 * Q + 1) ** sp.Rational(3, 2))


@pytest.mark.parametrize("timeout, work", [(None, 5.0), (0.0, 5.0), (None, 0.0)])
def test_erf_closed_forms_do_not_depend_on_time(timeout, work):
    """chi2 of erf comes from the known kernel: no sympy attempt, no clock, no budget involved."""
    d = derive("erf", timeout=timeout, work=work)
    assert sp.simplify(d.chi2 - ERF_CHI2) == 0
    assert sp.simplify(d.slope.value - 4 / (sp.pi * sp.sqrt(1 + 4 * Q))) == 0
    assert "Williams" in d.cross.source and "known result" in d.curvature.source


def test_erf_closed_forms_against_mpmath(erf):
    for q in (0.01, 0.8, 3.0, 40.0):
        assert agrees(erf.chi2, R.chi2("erf", 1.5, 0.0, q=q), q=q, sigma_w=1.5)
        assert agrees(erf.chi1, R.chi1("erf", 1.5, 0.0, q=q), q=q, sigma_w=1.5)
        assert agrees(erf.length_map, R.length_map("erf", 1.5, 0.2, q), q=q, sigma_w=1.5, sigma_b=0.2)


def _expect2_hermite(f, g, q1, q2, c, n=90):
    """E[f(u1) g(u2)] by a tensor Gauss-Hermite rule: exact to rounding for the smooth entire phi here."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    s1, s2, r = math.sqrt(q1), math.sqrt(q2), math.sqrt(1 - c * c)
    return mp.mpf(sum(wi * wj * float(f(s1 * zi)) * float(g(s2 * (c * zi + r * zj)))
                      for zi, wi in zip(z, w) for zj, wj in zip(z, w)))


def _sign(u):
    return mp.sign(u)


# phi, phi', phi'' written directly in mpmath (None where a Dirac delta makes the average undefined)
MP_PHI = {
    "relu": (lambda u: max(u, 0), lambda u: mp.mpf(u > 0), None, (0.0,)),
    "leaky_relu": (lambda u: u if u > 0 else u / 100, lambda u: mp.mpf(1) if u > 0 else mp.mpf(1) / 100, None,
                   (0.0,)),
    "abs": (abs, _sign, None, (0.0,)),
    "linear": (lambda u: u, lambda u: mp.mpf(1), lambda u: mp.mpf(0), ()),
    "Heaviside(x)": (lambda u: mp.mpf(u > 0), None, None, (0.0,)),
    "sign(x)": (_sign, None, None, (0.0,)),
    "erf": (mp.erf, lambda u: 2 / mp.sqrt(mp.pi) * mp.exp(-u ** 2),
            lambda u: -4 * u / mp.sqrt(mp.pi) * mp.exp(-u ** 2), ()),
    "sin": (mp.sin, mp.cos, lambda u: -mp.sin(u), ()),
    "cos(x)": (mp.cos, lambda u: -mp.sin(u), lambda u: -mp.cos(u), ()),
}


@pytest.mark.parametrize("name", sorted(MP_PHI))
def test_every_known_kernel_against_mpmath_quadrature(name):
    """C(q1, q2, c) with q1 != q2, E[phi' phi'] and E[phi''^2] at several q, against mpmath."""
    f, df, d2f, kinks = MP_PHI[name]
    k = known_kernel(name)
    assert k is not None
    q1, q2, c = (0.3, 2.2, 0.6) if name < "l" else (1.5, 0.7, -0.8)   # both signs of c over the set
    expect2 = _expect2_hermite if not kinks else (lambda f, g, *a: R.gauss_expect2(f, g, *a, kinks, kinks, dps=10))
    assert agrees(k.cross, expect2(f, f, q1, q2, c), rel=1e-8, q1=q1, q2=q2, c=c)
    if df is None:
        assert k.cross_slope is None and k.chi1() is None
    else:
        assert agrees(k.cross_slope, expect2(df, df, q1, q2, c), rel=1e-8, q1=q1, q2=q2, c=c)
    for q in (0.05, 1.0, 7.5):
        assert agrees(k.length_map(1.3, 0.4), 1.69 * R.gauss_expect(lambda u: f(u) ** 2, q, kinks) + 0.16, q=q)
        if d2f is None:
            assert k.chi2() is None
        else:
            assert agrees(k.chi2(1.3) + 1, 1.69 * R.gauss_expect(lambda u: d2f(u) ** 2, q, kinks) + 1, q=q)


def test_unknown_phi_has_no_known_kernel():
    for name in ("tanh", "x + 1", "hard_tanh", "Max(0, x) + 1"):
        assert known_kernel(name) is None


def test_known_kernel_recognises_the_family_not_the_name():
    k = known_kernel("Max(x, x/5)")              # leaky ReLU of slope 1/5
    assert sp.simplify(k.second - sp.Rational(13, 25) * Q) == 0   # E[phi^2] = (1 + 1/25) q / 2


@pytest.mark.parametrize("name", ["hard_tanh", "selu"])
def test_piecewise_sympy_results_against_mpmath(name):
    d = derive(name)
    assert d.second.source == "sympy" and d.slope.source == "sympy"
    for q in (0.4, 3.0):
        assert agrees(d.length_map, R.length_map(name, 1.1, 0.3, q), q=q, sigma_w=1.1, sigma_b=0.3)
        assert agrees(d.chi1, R.chi1(name, 1.1, 0.3, q=q), q=q, sigma_w=1.1, sigma_b=0.3)


def test_tanh_has_no_closed_form_and_says_why():
    d = derive("tanh", work=0.5)
    for m in (d.second, d.slope, d.curvature, d.cross, d.cross_slope):
        assert m.value is None and m.source.startswith("no closed form found")
        assert "stopped waiting" not in m.source
    assert d.length_map is None and d.chi1 is None
    assert "no closed form found" in d.to_markdown()


def _spin():
    while True:
        pass


def _sleep(seconds):
    import time
    time.sleep(seconds)
    return sp.Integer(1)


def test_attempts_end_by_cpu_budget_not_by_the_clock():
    """A CPU-bound attempt is stopped by its CPU-seconds, however long that takes on the wall clock."""
    r = _run_attempts({"spin": (_spin, ()), "quick": (sp.Integer, (7,))}, work=1, timeout=None)
    assert r["spin"].outcome is Outcome.BUDGET
    assert r["quick"].outcome is Outcome.FOUND and r["quick"].value == 7


def test_timeout_only_limits_waiting_and_is_reported():
    r = _run_attempts({"slow": (_sleep, (60,))}, work=None, timeout=0.2)
    assert r["slow"].outcome is Outcome.NOT_WAITED
    d = derive("tanh", timeout=0.0)
    assert "stopped waiting" in d.second.source


def test_derive_can_be_called_twice_from_the_package():
    """`import meanfield.derivation` (or a first call) must not replace the function by a module."""
    import meanfield.derivation  # noqa: F401
    first = mf.derive("relu", timeout=0)
    second = mf.derive("relu", timeout=0)
    assert callable(mf.derive) and first.second.value == second.second.value == Q / 2


def test_dirac_deltas():
    relu = derive("relu", work=0.5)
    assert relu.deltas_d1 == () and relu.deltas_d2 == ((0, 1),)
    assert "Dirac" in relu.curvature.source and relu.chi2 is None
    ht = derive("hard_tanh", work=0.5)
    assert ht.deltas_d2 == ((-1, 1), (1, -1))
    selu = derive("selu", work=0.5)
    (k, w), = selu.deltas_d2
    lam, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    assert k == 0 and abs(float(w) - lam * (1 - alpha)) < 1e-12  # phi'(0+) - phi'(0-)
    step = derive("Heaviside(x)", work=0.5)
    assert step.deltas_d1 == ((0, 1),) and step.slope.value is None
    assert "DiracDelta(x)" in relu.to_markdown()


def test_latex_renders_expressions_not_markdown_by_regex():
    """A jump of size 2*E*pi printed in prose: sympy.latex in LaTeX, never '2\\emph{E}pi'."""
    d = derive("Piecewise((2*E*pi*x, x > 0), (0, True))", work=0.5)
    tex = d.to_latex()
    assert "\\emph{E}" not in tex and tex.count("2*E*pi") == 1   # once: phi as typed, in the \\texttt title
    assert f"${sp.latex(2 * sp.E * sp.pi)}$ at $x = 0$" in tex
    assert "`2*E*pi` at `x = 0`" in d.to_markdown()
    assert "`" not in tex


def test_markdown_and_latex_carry_the_equation_labels(relu):
    md = relu.to_markdown()
    for tag in ("3", "5", "6", "7", "8", "9", "S1", "S2"):
        assert f"\\tag{{{tag}}}" in md
    assert md.count("$$") % 2 == 0
    tex = relu.to_latex()
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert tex.count("\\begin{equation}") == tex.count("\\end{equation}") == md.count("$$") // 2
    assert "Cho \\& Saul" in tex and "Cho & Saul" in md


def test_numbers_are_substituted_and_fixed_point_solved():
    d = derive("relu", sigma_w=1.2, sigma_b=0.3)
    # q* = sigma_b^2 / (1 - sigma_w^2/2) = 0.09/0.28
    assert d.q_star == (sp.Rational(9, 28),)
    assert abs(float(d.q_star[0]) - R.q_star("relu", 1.2, 0.3)) < 1e-14
    assert sp.simplify(d.chi1 - sp.Rational(18, 25)) == 0
    assert "\\frac{9}{28}" in d.to_markdown()


def test_bad_sigma_and_bad_budgets():
    with pytest.raises(ValueError, match="sigma_w"):
        derive("relu", sigma_w=-1.0, sigma_b=0.1, work=0.1)
    with pytest.raises(ValueError, match="timeout"):
        derive("relu", timeout=-1)
    with pytest.raises(ValueError, match="work"):
        derive("relu", work=float("nan"))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "meanfield", *args], capture_output=True, text=True, check=False)


def test_cli_derive_latex_success_path():
    r = run_cli("derive", "erf", "--latex", "--timeout", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("\\documentclass") and r.stdout.rstrip().endswith("\\end{document}")
    chi2 = sp.latex(ERF_CHI2, symbol_names={SIGMA_W: r"\sigma_w"})
    assert f"\\chi_2(q) = {chi2}" in r.stdout


def test_cli_derive_rejects_bad_timeout():
    r = run_cli("derive", "erf", "--timeout", "-1")
    assert r.returncode == 2 and "--timeout" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_known_kernels_are_oracles_for_the_compiled_quadrature(name):
    """closed_forms as a test oracle: the Numba kernels' E[phi^2], E[phi'^2] and E[phi(u1) phi(u2)]."""
    from meanfield import quadrature as quad
    from meanfield.nonlinearity import Nonlinearity

    nl, k = Nonlinearity(name), known_kernel(name)
    for q in (1e-3, 0.7, 40.0):
        assert quad.gauss_expect(nl, Kind.PHI2, q) == pytest.approx(float(k.second.subs(Q, q)), rel=1e-12)
        assert quad.gauss_expect(nl, Kind.DPHI2, q) == pytest.approx(float(k.slope.subs(Q, q)), rel=1e-12)
    for q1, q2, c in ((0.5, 2.0, 0.3), (3.0, 0.2, -0.9)):
        want = float(k.cross.subs({Q1: q1, Q2: q2, C: c}))
        assert quad.gauss_expect2(nl, 0, 0, q1, q2, c) == pytest.approx(want, rel=1e-11, abs=1e-15)
