"""The grid fast paths: Chebyshev tables in ln q (meanfield.kernels.tables) and the C-map in
rotated coordinates, against closed forms (erf, ReLU, exp), mpmath, and the direct path."""
import math

import mpmath as mp
import numpy as np
import pytest

import meanfield as mf
from meanfield.codes import N_PHASE_FIELDS, LayerField, Method, Moment, PhaseField, Status
from meanfield.kernels import kernels_for, run_blocks
from meanfield.kernels.tables import build_table, empty_table

RTOL = 1e-10          # the phase diagram's default: tables and rotated coordinates serve it


@pytest.fixture(scope="module")
def erf():
    K = kernels_for(mf.Nonlinearity("erf"))
    return K, build_table(K)


def _erf_e2(q):
    """E[erf(sqrt(q) z)^2] = (2/pi) arcsin(2q / (1 + 2q)), in mpmath: arcsin near 1 loses
    half the digits of its argument."""
    with mp.workdps(40):
        q = mp.mpf(q)
        return float(2 / mp.pi * mp.asin(2 * q / (1 + 2 * q)))


def test_table_moments_match_erf_closed_forms(erf):
    K, T = erf
    W = K.workspace()
    q = 10 ** np.random.default_rng(0).uniform(-8, 15, 150)
    for v in q:
        assert K.tab_locate(T.moments, v, RTOL)[0] >= 0, f"table does not cover q = {v:g}"
        d1 = 4 / (math.pi * math.sqrt(1 + 4 * v))                  # E[erf'^2]
        d2 = 16 * v / (math.pi * (1 + 4 * v) ** 1.5)                # E[erf''^2]
        zz = 8 * v / (math.pi * (1 + 2 * v) * math.sqrt(1 + 4 * v))  # E[erf^2 (z^2-1)] = 2q dE[erf^2]/dq
        for row, ref in ((Moment.PHI2, _erf_e2(v)), (Moment.DPHI2, d1), (Moment.D2PHI2, d2), (Moment.PHI2_ZZ, zz)):
            value, _err, status = K.moment(W, T, row, v, RTOL)
            assert status == 0
            assert value == pytest.approx(ref, rel=1e-12)


def test_table_moments_of_relu_are_exact_power_laws():
    K = kernels_for(mf.Nonlinearity("relu"))
    T = build_table(K)
    W = K.workspace()
    assert T.hermite.coef.shape[2] == 0          # kinked phi: no Hermite part
    for v in (1e-7, 0.3, 42.0, 1e12):
        assert K.moment(W, T, Moment.PHI2, v, RTOL)[0] == pytest.approx(v / 2, rel=1e-12)
        assert K.moment(W, T, Moment.DPHI2, v, RTOL)[0] == pytest.approx(0.5, rel=1e-12)
        assert K.moment(W, T, Moment.PHI2_ZZ, v, RTOL)[0] == pytest.approx(v, rel=1e-12)


def test_table_hermite_coefficients_match_mpmath():
    K = kernels_for(mf.Nonlinearity("tanh"))
    T = build_table(K, 0.1, 100.0)
    for q in (0.3, 2.5, 40.0):
        p, x, err = K.tab_locate(T.hermite, q, RTOL)
        assert p >= 0 and err < 1e-13
        coef = np.empty(32)
        K.tab_values(T.hermite, p, x, 0, 32, coef)
        s = mp.sqrt(q)
        for n in (1, 3, 7, 15, 31):
            # a_n = E[tanh(sqrt(q) z) He_n(z)] / sqrt(n!),  He_n(z) = 2^(-n/2) H_n(z / sqrt 2)
            def f(z, s=s, n=n):
                return mp.tanh(s * z) * mp.hermite(n, z / mp.sqrt(2)) * mp.exp(-z * z / 2)
            with mp.workdps(25):
                ref = mp.quad(f, mp.linspace(-14, 14, 29)) / mp.sqrt(2 * mp.pi * 2 ** n * mp.factorial(n))
            assert abs(coef[n] - float(ref)) < 1e-13
        assert abs(coef[2]) < 1e-13       # tanh is odd


def test_table_leaves_divergent_region_to_quadrature_which_reports_it():
    K = kernels_for(mf.Nonlinearity("exp(x)"))
    T = build_table(K)
    W = K.workspace()
    assert K.moment(W, T, Moment.PHI2, 1.0, RTOL)[0] == pytest.approx(math.exp(2.0), rel=1e-12)   # E[e^{2 z}]
    assert not np.isfinite(T.moments.err).all()                   # E[e^{2 sqrt(q) z}] = e^{2q} overflows
    _value, _err, status = K.moment(W, T, Moment.PHI2, 1e6, RTOL)
    assert status != 0                                      # reported, never a silent number


def _erf_c_star(sw, sb, q):
    """c* < 1 of erf's closed-form C-map at q:  1 - c' = sw^2 (K(1) - K(c)) / q, K(c) = (2/pi)
    arcsin(2qc / (1+2q)), the form in which q* = V(q*) holds exactly, as in the kernels."""
    with mp.workdps(40):
        q, sw, sb = mp.mpf(q), mp.mpf(sw), mp.mpf(sb)
        def K(c):
            return 2 / mp.pi * mp.asin(2 * q * c / (1 + 2 * q))
        def f(c):
            return 1 - sw ** 2 * (K(1) - K(c)) / q - c
        lo, hi = mp.mpf(0), 1 - mp.mpf(10) ** -25      # f(lo) > 0 > f(hi) in the chaotic phase
        assert f(lo) > 0 > f(hi)
        for _ in range(120):                             # bisection: 1e-36
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return lo


@pytest.mark.parametrize("sb", [0.1, 0.5])
def test_phase_diagram_near_the_critical_line_matches_erf_closed_form(sb):
    sw_c = mf.critical_sigma_w("erf", sb)
    sw = sw_c * (1 + np.array([1e-6, 1e-4, 1e-2, 0.3]))     # chaotic, from c* ~ 1 - 1e-5 to c* ~ 0.3
    pd = mf.phase_diagram("erf", sw, np.array([sb]))
    for i, w in enumerate(sw):
        q = pd.q_star[i, 0]
        assert q == pytest.approx(w ** 2 * _erf_e2(q) + sb ** 2, rel=1e-11)
        c = _erf_c_star(w, sb, q)
        assert pd.c_star[i, 0] == pytest.approx(float(c), abs=2e-10)
        chi_c = w ** 2 * 4 / (math.pi * math.sqrt((1 + 2 * q) ** 2 - 4 * q ** 2 * float(c) ** 2))
        # xi_c = -1/log(chi_c) amplifies chi_c's error by 1/|log chi_c| ~ 1e6 here: compare log chi_c
        assert 1 / pd.xi_c[i, 0] == pytest.approx(-math.log(chi_c), abs=2e-10)


def test_rotated_coordinates_serve_c_star_next_to_the_critical_line(erf):
    K, T = erf
    W = K.workspace()
    sb = 0.5
    sw = mf.critical_sigma_w("erf", sb) * (1 + 1e-6)
    q, status = K.q_star(W, T, sw * sw, sb * sb, 1.0, RTOL)
    chi1 = sw * sw * K.moment(W, T, Moment.DPHI2, q, RTOL)[0]
    cs, omc, chi_c, status, method = K.c_star_and_chi(W, T, sw * sw, q, chi1, RTOL)
    assert status == Status.OK and method == Method.ROTATED   # the series cannot certify c* this close to 1
    c = _erf_c_star(sw, sb, q)
    assert cs == pytest.approx(float(c), abs=2e-10)
    assert omc == pytest.approx(float(1 - c), rel=1e-3)    # 1 - c* is ill-conditioned: error / (1 - chi_c)
    assert chi_c == pytest.approx(sw ** 2 * 4 / (math.pi * math.sqrt((1 + 2 * q) ** 2 - 4 * q ** 2 * float(c) ** 2)),
                                  rel=1e-10)


def test_layer_maps_with_tables_match_erf_closed_forms(erf):
    K, _ = erf
    rng = np.random.default_rng(1)
    n = 400
    sw2, sb2 = rng.uniform(1, 9, n), rng.uniform(0, 1, n)
    q, c = rng.uniform(0.1, 10, n), rng.uniform(-0.9, 0.9999, n)
    out = np.empty((n, 4))
    run_blocks(K.layer_block, n, build_table(K, q.min(), q.max()), sw2, sb2, q, c, RTOL, out)
    assert np.all(out[:, LayerField.STATUS] == 0)
    qn = sw2 * 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)) + sb2
    cn = (sw2 * 2 / np.pi * np.arcsin(2 * q * c / (1 + 2 * q)) + sb2) / qn
    chi = sw2 * 4 / (np.pi * np.sqrt((1 + 2 * q) ** 2 - 4 * q ** 2 * c ** 2))
    np.testing.assert_allclose(out[:, LayerField.Q], qn, rtol=1e-12)
    np.testing.assert_allclose(out[:, LayerField.C], cn, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out[:, LayerField.CHI_C], chi, rtol=1e-10)


def test_tables_change_nothing_but_speed():
    """A grid with and without tables (direct quadrature everywhere) agrees to the tolerance."""
    K = kernels_for(mf.Nonlinearity("x*tanh(x)"))
    sw2 = np.linspace(0.4, 1.1, 8) ** 2
    sb2 = np.linspace(0.0, 1.0, 5) ** 2
    a = np.empty((8, 5, N_PHASE_FIELDS))
    b = np.empty((8, 5, N_PHASE_FIELDS))
    run_blocks(K.phase_block, 40, build_table(K), sw2, sb2, 1.0, 0.01, RTOL, True, a)
    run_blocks(K.phase_block, 40, empty_table(K), sw2, sb2, 1.0, 0.01, RTOL, True, b)
    np.testing.assert_array_equal(a[..., PhaseField.Q_STATUS], b[..., PhaseField.Q_STATUS])
    ok = a[..., PhaseField.Q_STATUS] == Status.OK
    for k in (PhaseField.Q_STAR, PhaseField.SLOPE, PhaseField.CHI1, PhaseField.CHI2, PhaseField.CHI_C):
        np.testing.assert_allclose(a[ok, k], b[ok, k], rtol=1e-9)
    np.testing.assert_allclose(a[ok, PhaseField.C_STAR], b[ok, PhaseField.C_STAR], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a[ok, PhaseField.DEPTH], b[ok, PhaseField.DEPTH])


def test_kinked_phi_grid_finishes_c_star_by_nested_quadrature():
    """hard_tanh has no Hermite table and a slowly converging series: the grid hands c* to the
    nested path (status NEEDS_NESTED inside the kernels), whose c* is a fixed point of the
    independent mpmath C-map."""
    from meanfield import reference as ref
    pd = mf.phase_diagram("hard_tanh", np.array([1.3, 2.0]), np.array([0.3]))
    assert np.all(pd.status == 0)
    for i, w in enumerate((1.3, 2.0)):
        m = mf.MeanField("hard_tanh", w, 0.3)
        assert pd.c_star[i, 0] == pytest.approx(m.c_star(), abs=1e-9)
    c = float(pd.c_star[1, 0])
    assert float(ref.correlation_map("hard_tanh", 2.0, 0.3, c, q=float(pd.q_star[1, 0]))) == pytest.approx(c, abs=1e-9)
