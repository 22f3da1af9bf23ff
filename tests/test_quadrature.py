"""Gaussian expectations against closed forms (ReLU, erf) to 1e-12 and against mpmath
(tanh and expressions outside the registry) across q in [1e-6, 1e4]."""
import math

import mpmath as mp
import numpy as np
import pytest

from meanfield import DivergentIntegralError, Nonlinearity
from meanfield import quadrature as quad
from meanfield import reference as ref
from meanfield.codes import Kind

QS = [1e-6, 1e-3, 0.1, 1.0, 7.3, 50.0, 1e3, 1e4]


@pytest.mark.parametrize("q", QS)
def test_relu_length_integral_is_q_over_2(q):
    assert quad.gauss_expect(Nonlinearity("relu"), Kind.PHI2, q) == pytest.approx(q / 2, rel=1e-12)


@pytest.mark.parametrize("q", QS)
def test_erf_closed_forms(q):
    f = Nonlinearity("erf")
    assert quad.gauss_expect(f, Kind.PHI2, q) == pytest.approx(2 / math.pi * math.asin(2 * q / (1 + 2 * q)), rel=1e-12)
    assert quad.gauss_expect(f, Kind.DPHI2, q) == pytest.approx(4 / (math.pi * math.sqrt(1 + 4 * q)), rel=1e-12)


def _arccos_kernel(q11, q22, c):
    """Cho & Saul (2009): E[relu(u1) relu(u2)]."""
    return math.sqrt(q11 * q22) / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)


def _erf_kernel(q11, q22, c):
    """Williams (1997): E[erf(u1) erf(u2)]."""
    return 2 / math.pi * math.asin(2 * c * math.sqrt(q11 * q22) / math.sqrt((1 + 2 * q11) * (1 + 2 * q22)))


@pytest.mark.parametrize("q11, q22", [(1e-6, 1e-6), (0.01, 0.5), (1.0, 1.0), (50.0, 50.0), (1e4, 1e4), (3.0, 0.01)])
@pytest.mark.parametrize("c", [-0.99, -0.5, 0.0, 0.3, 0.9, 1 - 1e-6])
def test_two_dimensional_expectations_match_arccos_and_erf_kernels(q11, q22, c):
    assert quad.gauss_expect2(Nonlinearity("relu"), 0, 0, q11, q22, c) == pytest.approx(
        _arccos_kernel(q11, q22, c), rel=1e-12)
    assert quad.gauss_expect2(Nonlinearity("erf"), 0, 0, q11, q22, c) == pytest.approx(
        _erf_kernel(q11, q22, c), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("q", [1e-6, 1e-2, 1.0, 4.0, 50.0, 1e4])
def test_gap_is_free_of_cancellation_near_c_equal_1(q):
    """E[(phi(u1)-phi(u2))^2]/2 = E[phi^2] - E[phi phi]: ReLU in closed form at 1-c = 1e-8
    (the closed form itself loses digits there); tanh at 1-c = 1e-12 against its Mehler
    expansion e q E[phi'^2] - e^2 q^2 E[phi''^2]/2 + O(e^3), both moments by mpmath (an
    independent quadrature at 30 digits; the O(e^3) rest is below 1e-23 relative)."""
    omc = 1e-8
    c = 1 - omc
    theta = math.acos(c)  # arccos kernel: q/2 - q/(2 pi) (sin t + (pi - t) cos t)
    exact = q / (2 * math.pi) * (theta * c - math.sin(theta) + math.pi * omc)
    got = quad.gauss_gap(Nonlinearity("relu"), q, c, omc)
    assert got == pytest.approx(exact, rel=1e-6)  # exact formula itself loses digits here
    omc = 1e-12
    c = 1 - omc
    got_tanh = quad.gauss_gap(Nonlinearity("tanh"), q, c, omc)
    _, dphi, d2phi = ref.mp_functions(Nonlinearity("tanh"))
    with mp.workdps(30):
        d1 = ref.gauss_expect(lambda u: dphi(u) ** 2, q, dps=30)
        d2 = ref.gauss_expect(lambda u: d2phi(u) ** 2, q, dps=30)
        expected = mp.mpf(omc) * q * d1 - mp.mpf(omc) ** 2 * q * q * d2 / 2
    assert got_tanh == pytest.approx(float(expected), rel=1e-11)


@pytest.mark.parametrize("spec", ["tanh", "atan(x) + x/10", "x*tanh(x)", "Piecewise((x, x > 0), (exp(x) - 1, True))"])
@pytest.mark.parametrize("q", [1e-6, 0.5, 50.0, 1e4])
def test_one_dimensional_expectations_match_mpmath(spec, q):
    f = Nonlinearity(spec)
    phi, dphi, d2phi = ref.mp_functions(f)
    for kind, g in [(Kind.PHI2, lambda u: phi(u) ** 2), (Kind.DPHI2, lambda u: dphi(u) ** 2),
                    (Kind.D2PHI2, lambda u: d2phi(u) ** 2)]:
        expected = float(ref.gauss_expect(g, q, kinks=f.kinks))
        assert quad.gauss_expect(f, kind, q) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("spec, q, c", [("tanh", 4.0, 0.3), ("atan(x) + x/10", 2.0, 0.8),
                                       ("x*tanh(x)", 0.7, -0.4)])
def test_two_dimensional_expectation_matches_mpmath(spec, q, c):
    f = Nonlinearity(spec)
    phi, _, _ = ref.mp_functions(f)
    expected = float(ref.gauss_expect2(phi, phi, q, q, c, dps=20))
    assert quad.gauss_expect2(f, 0, 0, q, q, c) == pytest.approx(expected, rel=1e-10)


def test_divergent_integral_is_reported():
    with pytest.raises(DivergentIntegralError):
        quad.gauss_expect(Nonlinearity("exp(x**2)"), Kind.PHI2, 1.0)


def test_convergent_but_heavy_integrand_is_exact():
    """E[exp(x^2)^2] at q = 0.1: 1/sqrt(1 - 4q) (the Gaussian still wins)."""
    assert quad.gauss_expect(Nonlinearity("exp(x**2)"), Kind.PHI2, 0.1) == pytest.approx(1 / math.sqrt(0.6), rel=1e-12)


@pytest.mark.parametrize("spec", ["swish", "sigmoid", "softplus"])
@pytest.mark.parametrize("q", [1e5, math.exp(15.525), 1e8])
def test_exponentially_saturating_phi_at_large_q(spec, q):
    """phi' of these approaches its limits like e^{-|u|}: the residual past u = 16 is a layer of
    width 1/sqrt(q) in z that the quadrature once missed (1e-9 error at q = e^15.5, swish).
    Reference: mpmath over u in [-80, 80] split every 5, plus the exact Gaussian tails, where
    phi'^2 equals its limits (0 or 1) to 1e-30."""
    f = Nonlinearity(spec)
    _, dphi, _ = ref.mp_functions(f)
    with mp.workdps(30):
        qq = mp.mpf(q)
        mid = mp.quad(lambda u: dphi(u) ** 2 * mp.exp(-u * u / (2 * qq)), mp.linspace(-80, 80, 33))
        limits = dphi(mp.mpf(200)) ** 2 + dphi(mp.mpf(-200)) ** 2
        expected = mid / mp.sqrt(2 * mp.pi * qq) + limits * mp.erfc(80 / mp.sqrt(2 * qq)) / 2
    assert quad.gauss_expect(f, Kind.DPHI2, q) == pytest.approx(float(expected), rel=1e-13)


@pytest.mark.parametrize("spec", ["elu", "selu", "Piecewise((x, x > 0), (exp(x) - 1, True))"])
def test_exp_minus_one_is_compiled_as_expm1(spec):
    """exp(x) - 1 loses all relative accuracy as x -> 0; the compiled code uses expm1, so
    E[phi^2] ~ q keeps full precision at q = 1e-10 (mpmath reference)."""
    f = Nonlinearity(spec)
    assert "expm1" in f.scalar_code()["phi"]
    phi, _, _ = ref.mp_functions(f)
    expected = float(ref.gauss_expect(lambda u: phi(u) ** 2, 1e-10, kinks=f.kinks))
    assert quad.gauss_expect(f, Kind.PHI2, 1e-10) == pytest.approx(expected, rel=1e-13)


def test_the_kernels_facade_is_built_once_and_checks_its_inputs():
    """One typed facade per phi, shared by MeanField; an unknown integrand kind or derivative order
    is a one-line error at the boundary (it used to fall through to another integrand)."""
    import meanfield as mf
    K = Nonlinearity("tanh").kernels
    assert Nonlinearity("tanh").kernels is K and mf.MeanField("tanh", 1.2, 0.1)._kernels is K
    with pytest.raises(ValueError, match="unknown integrand kind 42"):
        quad.gauss_expect("tanh", 42, 1.0)
    with pytest.raises(ValueError, match="unknown derivative order 2"):
        quad.gauss_expect2("tanh", 2, 0, 1.0, 1.0, 0.5)
    # E[tanh'(sqrt(q) z)^2] by the facade equals the 1D integral of the sympy derivative (mpmath)
    d = Nonlinearity("tanh").dphi
    want = float(ref.gauss_expect(lambda u: (1 - mp.tanh(u) ** 2) ** 2, 0.8, dps=30))
    assert K.expect(Kind.DPHI2, 0.8) == pytest.approx(want, rel=1e-13) and d(np.array([0.0]))[0] == 1.0


def test_every_failure_status_maps_to_a_meanfield_error():
    from meanfield.codes import STATUS_ERRORS, Status
    from meanfield.errors import MeanFieldError
    f = Nonlinearity("tanh")
    for status, error in STATUS_ERRORS.items():
        with pytest.raises(error) as info:
            quad.check_status(status, "E[phi^2] at q = 1", f)
        assert isinstance(info.value, MeanFieldError) and "\n" not in str(info.value)
    quad.check_status(Status.OK, "nothing", f)          # OK raises nothing


def test_length_map_slope_at_q_zero_is_the_mean_of_the_one_sided_slopes_squared():
    """dV/dq at q = 0 is sw2 (phi'(0+)^2 + phi'(0-)^2)/2 (docs/derivations.md Sec. 1): the limit of the
    slope at small q.  For a leaky ReLU with slopes 1 and 1/5 that is sw2 * 13/25 at every q (V is linear);
    for tanh, sw2."""
    for spec, expected in (("Max(x, x/5)", 13 / 25), ("tanh", 1.0)):
        K = Nonlinearity(spec).kernels
        for q, rel in ((0.0, 1e-15), (1e-12, 1e-9)):
            slope, status = K.module.length_map_slope(K.workspace(), K.no_table, 2.0, q, 1e-13)
            assert status == 0 and slope == pytest.approx(2.0 * expected, rel=rel)
    with pytest.raises(ValueError, match="not a one-dimensional expectation"):
        quad.gauss_expect("tanh", Kind.DIFF2, 1.0)


def test_convergence_depth_counts_an_orbit_that_converges_at_the_last_layer():
    """For ReLU, q^l - q* = (sw2/2)^(l-1) (q0 - q*) exactly; with sw2 = 1 the distance halves each layer,
    so from q0 = q* + 1 and tol q* = 1.5 * 2^-10 it takes exactly 10 layers, also when max_depth = 10."""
    sw2, sb2 = 1.0, 0.5
    q_star = sb2 / (1 - sw2 / 2)                       # 1.0
    K = Nonlinearity("relu").kernels
    tol = 1.5 * 2.0 ** -10 / q_star                 # away from 2^-9 and 2^-10, so rounding cannot matter
    assert K.convergence_depth(sw2, sb2, q_star + 1.0, q_star, tol, 20) == 10
    assert K.convergence_depth(sw2, sb2, q_star + 1.0, q_star, tol, 10) == 10
    assert K.convergence_depth(sw2, sb2, q_star + 1.0, q_star, tol, 9) == -1
