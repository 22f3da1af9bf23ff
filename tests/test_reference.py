"""The mpmath reference (meanfield.reference) against closed forms and published values.

Closed forms: ReLU second moment and arc-cosine kernel (Cho & Saul 2009), erf moments
and kernel (Williams 1997), linear fixed point; published tanh values: Poole et al.
2016 (Fig. 1-2 setting sigma_b = 0.3) as tabulated in the project brief.
"""
import mpmath as mp
import pytest

from meanfield import errors as E
from meanfield import reference as R

RELU, DRELU, _ = R.mp_functions("relu")
ERF, DERF, D2ERF = R.mp_functions("erf")


def close(value, exact, rel):
    with mp.workdps(40):
        return abs(mp.mpf(value) - exact) <= rel * abs(exact)


def arccos_kernel(q, c):
    """Cho & Saul (2009), degree 1: E[relu(u1) relu(u2)] for q11 = q22 = q."""
    c = mp.mpf(c)
    return mp.mpf(q) / (2 * mp.pi) * (mp.sqrt(1 - c * c) + (mp.pi - mp.acos(c)) * c)


@pytest.mark.parametrize("q", [1e-4, 0.37, 1.0, 25.0, 1e4])
def test_relu_second_moment(q):
    v = R.gauss_expect(lambda u: RELU(u) ** 2, q, kinks=(0.0,))
    assert close(v, mp.mpf(q) / 2, 1e-25)


@pytest.mark.parametrize("q", [1e-3, 0.5, 3.0, 400.0])
def test_erf_moments(q):
    with mp.workdps(40):
        q_ = mp.mpf(q)
        second = 2 / mp.pi * mp.asin(2 * q_ / (1 + 2 * q_))
        slope = 4 / (mp.pi * mp.sqrt(1 + 4 * q_))
        # erf''(x) = -(4x/sqrt(pi)) e^{-x^2}, so E[erf''^2] = (16 q/pi) E[z^2 e^{-2 q z^2}]
        chi2 = mp.mpf(1.75) ** 2 * 16 * q_ / (mp.pi * (1 + 4 * q_) ** mp.mpf(1.5))
    assert close(R.gauss_expect(lambda u: ERF(u) ** 2, q), second, 1e-25)
    assert close(R.gauss_expect(lambda u: DERF(u) ** 2, q), slope, 1e-25)
    assert close(R.chi2("erf", 1.75, 0.0, q=q), chi2, 1e-25)


def test_q_zero_is_the_value_at_zero():
    assert R.gauss_expect(lambda u: mp.cos(u) + 2, 0.0) == 3


def test_relu_arccos_kernel_2d():
    for q, c in [(1.0, 0.5), (2.5, -0.7)]:
        v = R.gauss_expect2(RELU, RELU, q, q, c, kinks_f=(0.0,), kinks_g=(0.0,))
        assert close(v, arccos_kernel(q, c), 1e-14)


def test_degenerate_correlation_is_one_dimensional():
    assert close(R.gauss_expect2(RELU, RELU, 2.0, 2.0, 1.0, (0.0,), (0.0,)), mp.mpf(1), 1e-18)
    assert R.gauss_expect2(RELU, RELU, 2.0, 2.0, -1.0, (0.0,), (0.0,)) == 0


def test_erf_kernel_unequal_variances():
    # Williams (1997): E[erf(u1) erf(u2)] = (2/pi) asin(2 q12 / sqrt((1 + 2 q11)(1 + 2 q22)))
    q11, q22, c = 0.5, 2.0, 0.6
    v = R.gauss_expect2(ERF, ERF, q11, q22, c)
    with mp.workdps(40):
        q12 = mp.mpf(c) * mp.sqrt(mp.mpf(q11) * q22)
        exact = 2 / mp.pi * mp.asin(2 * q12 / mp.sqrt((1 + 2 * mp.mpf(q11)) * (1 + 2 * mp.mpf(q22))))
    assert close(v, exact, 1e-14)


def test_correlation_gap_near_one_relu():
    # sigma_b = 0: c' = k(c)/k(1) with the arc-cosine kernel; 1 - c' has no cancellation
    c = 1 - mp.mpf("1e-8")
    gap = R.correlation_gap("relu", 1.3, 0.0, c, q=0.8)
    with mp.workdps(60):
        exact = 1 - arccos_kernel(1, c) / arccos_kernel(1, 1)
    assert close(gap, exact, 1e-12)


def test_chi_c_relu():
    # d/dc of the arc-cosine C-map: (pi - arccos c)/pi, whatever q (sigma_b = 0)
    c = 0.3
    slope = R.chi_c("relu", 1.1, 0.0, c, q=0.6)
    assert close(slope, (mp.pi - mp.acos(c)) / mp.pi, 1e-14)


def test_tanh_published_critical_point():
    sigma_w, sigma_b = 1.3955839751549, 0.3
    qs = R.q_star("tanh", sigma_w, sigma_b)
    assert abs(qs - mp.mpf("0.76347477")) < 6e-9
    assert abs(R.chi1("tanh", sigma_w, sigma_b, q=qs) - 1) < 1e-12


def test_tanh_published_chaotic_point():
    qs = R.q_star("tanh", 2.5, 0.3)
    assert abs(qs - mp.mpf("4.079124")) < 6e-7
    assert abs(R.chi1("tanh", 2.5, 0.3, q=qs) - mp.mpf("1.585225")) < 6e-7


def test_q_star_is_a_fixed_point():
    qs = R.q_star("tanh", 1.8, 0.05, q0=0.3)
    with mp.workdps(30):
        assert abs(R.length_map("tanh", 1.8, 0.05, qs) - qs) < 1e-25
    # linear: q* = sigma_b^2 / (1 - sigma_w^2)
    assert close(R.q_star("linear", 0.5, 0.75), mp.mpf("0.75"), 1e-25)
    # ordered tanh without bias collapses to 0; the identity map keeps q0
    assert R.q_star("tanh", 0.8, 0.0) == 0
    assert close(R.q_star("linear", 1.0, 0.0, q0=3.0), mp.mpf(3), 1e-25)


def test_length_map_slope():
    assert close(R.length_map_slope("relu", 1.5, 0.2, 0.7), mp.mpf(1.5) ** 2 / 2, 1e-25)
    with mp.workdps(30):
        h = mp.mpf("1e-8")
        fd = (R.length_map("tanh", 1.5, 0.2, 0.7 + h) - R.length_map("tanh", 1.5, 0.2, 0.7 - h)) / (2 * h)
    assert close(R.length_map_slope("tanh", 1.5, 0.2, 0.7), fd, 1e-14)


def test_errors():
    with pytest.raises(E.MeanFieldError, match="variance"):
        R.gauss_expect(mp.cos, -1.0)
    with pytest.raises(E.MeanFieldError, match="outside"):
        R.gauss_expect2(mp.cos, mp.cos, 1.0, 1.0, 1.5)
    with pytest.raises(E.UndefinedQuantityError, match="Dirac"):
        R.chi2("relu", 1.0, 0.1)
    with pytest.raises(E.UndefinedQuantityError, match="Dirac"):
        R.chi1("Heaviside(x)", 1.0, 0.1, q=1.0)
    with pytest.raises(E.NoFixedPointError, match="no fixed point"):
        R.q_star("relu", 2.0, 0.1)
    with pytest.raises(E.DivergentIntegralError, match="grows too fast"):
        R.gauss_expect2(mp.exp, mp.exp, 36.0, 36.0, 0.5)


def test_q_star_root_finder_failure_is_typed(monkeypatch):
    # mpmath's own failure of findroot (a plain ValueError with this text) becomes NotConvergedError
    def fails(*a, **k):
        raise ValueError("Could not find root within given tolerance. (1e-20 > 2e-29)")
    monkeypatch.setattr(R.mp, "findroot", fails)
    with pytest.raises(E.NotConvergedError, match="dps") as info:
        R.q_star("tanh", 1.5, 0.5)
    assert "\n" not in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
