"""MeanField against published values (Poole et al. 2016), closed forms (ReLU, erf,
linear) and mpmath references."""
import math

import numpy as np
import pytest

import meanfield as mf
from meanfield import reference as ref


def test_tanh_published_values_sigma_b_03():
    """Poole et al. Figs. 1-2 setting: sigma_b = 0.3."""
    m = mf.MeanField("tanh", 2.5, 0.3)
    assert m.q_star() == pytest.approx(4.079124, abs=1e-6)
    assert m.chi1() == pytest.approx(1.585225, abs=1e-6)
    assert m.c_star() == pytest.approx(0.122104, abs=1e-6)
    m4 = mf.MeanField("tanh", 4.0, 0.3)
    assert m4.q_star() == pytest.approx(12.604149, abs=1e-6)
    assert m4.c_star() == pytest.approx(0.029696, abs=1e-6)
    assert mf.MeanField("tanh", 1.3, 0.3).c_star() == 1.0


def test_tanh_critical_point_published():
    sw = mf.critical_sigma_w("tanh", 0.3)
    assert sw == pytest.approx(1.3955839751549, rel=1e-12)
    m = mf.MeanField("tanh", sw, 0.3)
    assert m.q_star() == pytest.approx(0.76347477, abs=1e-8)
    assert m.chi1() == pytest.approx(1.0, abs=1e-12)


def test_relu_closed_forms_and_critical_point():
    sw = math.sqrt(1.7)
    m = mf.MeanField("relu", sw, 0.2)
    # V(q) = sigma_w^2 q / 2 + sigma_b^2  =>  q* = sigma_b^2 / (1 - sigma_w^2/2)
    assert m.q_star() == pytest.approx(0.04 / (1 - 1.7 / 2), rel=1e-12)
    assert m.chi1() == pytest.approx(1.7 / 2, rel=1e-12)
    assert mf.critical_sigma_w("relu", 0.0) == pytest.approx(math.sqrt(2), rel=1e-12)
    with pytest.raises(mf.NoFixedPointError):
        mf.MeanField("relu", 1.5, 0.0).q_star()
    with pytest.raises(mf.NoFixedPointError):
        mf.MeanField("relu", math.sqrt(2), 0.1).q_star()
    with pytest.raises(mf.UndefinedQuantityError, match="zero local curvature"):
        m.chi2()
    with pytest.raises(mf.UndefinedQuantityError):
        mf.MeanField("hard_tanh", 1.0, 0.1).curvature(5)


def test_relu_correlation_map_is_arccos_kernel():
    m = mf.MeanField("relu", 1.2, 0.3)
    q = m.q_star()
    for c in [0.0, 0.4, 0.95, 1 - 1e-6]:
        t = math.acos(c)
        kernel = q / (2 * math.pi) * (math.sin(t) + (math.pi - t) * c)
        assert m.correlation_map(c) == pytest.approx((1.44 * kernel + 0.09) / q, rel=1e-11)


def test_erf_chi1_closed_form():
    m = mf.MeanField("erf", 1.7, 0.4)
    q = m.q_star()
    assert q == pytest.approx(1.7 ** 2 * 2 / math.pi * math.asin(2 * q / (1 + 2 * q)) + 0.16, rel=1e-12)
    assert m.chi1() == pytest.approx(1.7 ** 2 * 4 / (math.pi * math.sqrt(1 + 4 * q)), rel=1e-12)


@pytest.mark.parametrize("spec, sw, sb", [("tanh", 2.5, 0.3), ("atan(x) + x/10", 1.8, 0.2), ("x*tanh(x)", 0.9, 0.5)])
def test_against_mpmath_reference(spec, sw, sb):
    m = mf.MeanField(spec, sw, sb)
    f = mf.Nonlinearity(spec)
    qs = m.q_star()
    # q* is a fixed point of the mpmath length map, and the slope there is < 1 (stable)
    assert float(ref.length_map(f, sw, sb, qs)) == pytest.approx(qs, rel=1e-11)
    assert m.chi1() == pytest.approx(float(ref.chi1(f, sw, sb, q=qs)), rel=1e-10)
    assert m.chi2() == pytest.approx(float(ref.chi2(f, sw, sb, q=qs)), rel=1e-10)
    assert m.correlation_map(0.5) == pytest.approx(float(ref.correlation_map(f, sw, sb, 0.5, q=qs, dps=20)), rel=1e-10)


def test_fixed_points_of_tanh_without_bias():
    """sigma_b = 0, sigma_w > 1: q = 0 unstable and one stable q* > 0 (Poole Sec. 2)."""
    fps = mf.MeanField("tanh", 1.5, 0.0).fixed_points()
    assert [fp.stable for fp in fps] == [False, True]
    assert fps[0].q == 0.0 and fps[0].slope == pytest.approx(2.25)
    assert mf.MeanField("tanh", 0.8, 0.0).q_star() == 0.0


def test_linear_network_has_no_curvature_growth_and_exact_maps():
    m = mf.MeanField("linear", 0.9, 0.5)
    assert m.q_star() == pytest.approx(0.25 / (1 - 0.81), rel=1e-13)
    assert m.chi2() == 0.0
    cur = m.curvature(6)
    # chi1 = sigma_w^2: g grows by chi1, kappa2 shrinks by 1/chi1, L_G stays 2 pi (Sec. 4)
    np.testing.assert_allclose(cur.g_E, m.q_star() * 0.81 ** np.arange(6), rtol=1e-12)
    np.testing.assert_allclose(cur.L_G, 2 * np.pi, rtol=1e-12)


def test_curvature_recursion_fixed_point_and_length_growth():
    m = mf.MeanField("tanh", 2.5, 0.3)
    chi1, chi2 = m.chi1(), m.chi2()
    cur = m.curvature(60)
    # kappa2* = 3 chi2 / (chi1 (chi1 - 1)) from eq. 8
    assert cur.kappa2[-1] == pytest.approx(3 * chi2 / (chi1 * (chi1 - 1)), rel=1e-9)
    assert cur.L_G[0] == pytest.approx(2 * np.pi)
    assert cur.L_E[10] / cur.L_E[9] == pytest.approx(math.sqrt(chi1), rel=1e-12)


def test_depth_scales_diverge_at_criticality_and_match_definitions():
    m = mf.MeanField("tanh", 1.1, 0.05)
    ds = m.depth_scales()
    assert ds.xi_c == pytest.approx(-1 / math.log(m.chi1()), rel=1e-12)  # ordered: c* = 1
    near = mf.MeanField("tanh", mf.critical_sigma_w("tanh", 0.3) * (1 - 1e-7), 0.3)  # ordered side
    assert near.depth_scales().xi_c > 1e5


def test_correlation_trajectory_converges_to_c_star():
    m = mf.MeanField("tanh", 2.5, 0.3)
    traj = m.correlation_trajectory(0.99, 200)  # chi_c(c*) = 0.82: 200 layers shrink 0.87 to 1e-17
    assert traj[0] == 0.99 and traj[-1] == pytest.approx(m.c_star(), abs=1e-8)


def test_weight_chaos_recursion():
    m = mf.MeanField("tanh", 2.5, 0.3)
    c = m.weight_chaos(0.9, 3, 8)
    qs = m.q_star()
    assert np.all(c[:2] == 1.0)
    assert c[2] == pytest.approx((0.9 * (qs - 0.09) + 0.09) / qs, rel=1e-13)
    assert c[3] == pytest.approx(m.correlation_map(c[2]), rel=1e-12)
    assert np.all(np.diff(c[2:]) < 0)  # chaotic: functions decorrelate with depth


def test_convergence_depth_counts_layers():
    m = mf.MeanField("tanh", 2.5, 0.3)
    d = m.convergence_depth(q0=1.0, tol=0.01)
    traj = m.length_trajectory(1.0, d + 1)
    assert abs(traj[d] - m.q_star()) <= 0.01 * m.q_star() < abs(traj[d - 1] - m.q_star())


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="standard deviation"):
        mf.MeanField("tanh", -1.0, 0.3)
    with pytest.raises(ValueError, match="correlation"):
        mf.MeanField("tanh", 2.0, 0.3).correlation_map(1.5)


def test_marginal_length_map_reaches_zero():
    """tanh at sigma_w = 1, sigma_b = 0: V(q) - q ~ -q^2 near 0, so q* = 0 is approached only
    algebraically; the search must still end (regression: it used to crawl) at q* ~ 0."""
    assert mf.MeanField("tanh", 1.0, 0.0).q_star() < 1e-12


# --- closed forms for erf (Williams 1997): E[erf(u1) erf(u2)] = 2/pi asin(2 q12 / sqrt((1+2q11)(1+2q22))),
# E[erf'(u1) erf'(u2)] = 4/pi / sqrt((1+2q11)(1+2q22) - 4 q12^2)

def _erf_v(q):
    return 2 / math.pi * math.asin(2 * q / (1 + 2 * q))


def _erf_dv(q):
    """d/dq E[erf(sqrt(q) z)^2]."""
    return 4 / (math.pi * (1 + 2 * q) * math.sqrt(1 + 4 * q))


def test_critical_line_matches_erf_closed_form_with_stability():
    q = np.array([0.01, 0.3, 2.0, 50.0])
    line = mf.critical_line("erf", q=q)
    sw2 = math.pi * np.sqrt(1 + 4 * q) / 4          # 1 / E[erf'^2]
    sb2 = q - sw2 * np.array([_erf_v(v) for v in q])
    np.testing.assert_allclose(line.sigma_w, np.sqrt(sw2), rtol=1e-12)
    np.testing.assert_allclose(line.sigma_b, np.sqrt(sb2), rtol=1e-10)
    slope = sw2 * np.array([_erf_dv(v) for v in q])
    np.testing.assert_allclose(line.slope, slope, rtol=1e-11)
    assert line.stable.all()                          # concave V: dV/dq < chi1 = 1 on the line
    with pytest.raises(ValueError, match="q must be"):
        mf.critical_line("erf", q=[-1.0])


@pytest.mark.parametrize("q11, q22, q12", [(0.5, 3.0, 0.9), (2.0, 0.1, -0.3), (1e-3, 40.0, 0.15)])
def test_covariance_map_with_unequal_variances(q11, q22, q12):
    sw, sb = 1.3, 0.2
    got = mf.MeanField("erf", sw, sb).covariance_map(q11, q22, q12)
    want = sw * sw * 2 / math.pi * math.asin(2 * q12 / math.sqrt((1 + 2 * q11) * (1 + 2 * q22))) + sb * sb
    assert got == pytest.approx(want, rel=1e-12)
    c = q12 / math.sqrt(q11 * q22)                    # ReLU: arc-cosine kernel (Cho & Saul 2009)
    t = math.acos(c)
    relu = math.sqrt(q11 * q22) / (2 * math.pi) * (math.sin(t) + (math.pi - t) * c)
    assert mf.MeanField("relu", sw, sb).covariance_map(q11, q22, q12) == pytest.approx(sw * sw * relu + sb * sb,
                                                                                      rel=1e-12)


@pytest.mark.parametrize("c", [-0.7, 0.0, 0.5, 0.999])
def test_chi_c_at_an_explicit_correlation_matches_erf(c):
    m = mf.MeanField("erf", 1.7, 0.4)
    q = m.q_star()
    want = 1.7 ** 2 * 4 / math.pi / math.sqrt((1 + 2 * q) ** 2 - 4 * (q * c) ** 2)
    assert m.chi_c(c) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="correlation"):
        m.chi_c(1.5)


def test_depth_scale_xi_q_matches_erf_closed_form():
    m = mf.MeanField("erf", 1.7, 0.4)
    q = m.q_star()
    assert m.depth_scales().xi_q == pytest.approx(-1 / math.log(1.7 ** 2 * _erf_dv(q)), rel=1e-11)


def test_cli_point_success_path_prints_published_values():
    """Poole et al. setting (tanh, 2.5, 0.3): q* = 4.079124, chi1 = 1.585225, c* = 0.122104."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "meanfield", "point", "tanh", "--sigma-w", "2.5", "--sigma-b", "0.3"],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    vals = {ln.split(":")[0].strip(): ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines()
            if ":" in ln and not ln.startswith("#")}
    assert float(vals["q*"]) == pytest.approx(4.079124, abs=1e-6)
    assert float(vals["chi1"]) == pytest.approx(1.585225, abs=1e-6)
    assert float(vals["c*"]) == pytest.approx(0.122104, abs=1e-6)
    assert math.isfinite(float(vals["xi_q"])) and float(vals["xi_c"]) > 0
    fp = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("fixed point q = ")]
    assert len(fp) == 1 and float(fp[0][4]) == pytest.approx(4.079124, abs=1e-6) and "stable" in fp[0]
