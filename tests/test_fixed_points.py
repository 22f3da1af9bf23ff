"""Several fixed points, q* from q0, the critical line at stable fixed points only, the critical
point itself and growth without a fixed point (issue 8, items 1, 2, 4, 12, 13).

Every expected number comes from scipy quadrature written here, or from closed forms
(sin(x) + x/2, linear, erf), never from meanfield itself.
"""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, optimize

import meanfield as mf

XTANH = "x*tanh(x)"


def E(g, q):
    """E[g(sqrt(q) z)], z ~ N(0, 1), by scipy's QUADPACK on the real line."""
    s = math.sqrt(q)
    v, _ = integrate.quad(lambda z: g(s * z) * math.exp(-z * z / 2), -np.inf, np.inf, epsabs=0, epsrel=1e-13,
                          limit=400)
    return v / math.sqrt(2 * math.pi)


def xt(u):
    return u * math.tanh(u)


def dxt(u):
    return math.tanh(u) + u * (1 - math.tanh(u) ** 2)


def V(g, sw, sb, q):
    return sw * sw * E(lambda u: g(u) ** 2, q) + sb * sb


def slope(g, sw, q):
    """dV/dq by Stein's identity: sigma_w^2 E[phi^2 (z^2 - 1)] / (2q)."""
    return sw * sw * E(lambda u: g(u) ** 2 * (u * u / q - 1), q) / (2 * q)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "meanfield", *args], check=False, capture_output=True, text=True)


# --- item 1: several fixed points, basins, q* from q0 ----------------------------------------

def test_x_tanh_x_two_fixed_points_with_stability_chi1_and_basin():
    """The issue's example: sigma_b = 0.4, sigma_w = 1.037: q = 0.356 stable (chi1 0.663) and
    q = 1.471 unstable (chi1 1.000); the stable one attracts every q0 below the unstable one."""
    sw, sb = 1.037, 0.4
    fps = mf.MeanField(XTANH, sw, sb).fixed_points()
    assert len(fps) == 2 and not fps.multistable
    lo, hi = fps
    for p in fps:
        assert V(xt, sw, sb, p.q) == pytest.approx(p.q, rel=1e-11)
        assert p.slope == pytest.approx(slope(xt, sw, p.q), rel=1e-9)
        assert p.chi1 == pytest.approx(sw * sw * E(lambda u: dxt(u) ** 2, p.q), rel=1e-10)
    assert lo.q == pytest.approx(0.356, abs=5e-4) and lo.stable and lo.chi1 == pytest.approx(0.663, abs=5e-4)
    assert hi.q == pytest.approx(1.471, abs=5e-3) and not hi.stable and hi.chi1 == pytest.approx(1.000, abs=1e-3)
    assert lo.basin == (0.0, hi.q) and hi.basin is None
    assert fps.above == "grows"          # sigma_w > 1: V(q)/q -> sigma_w^2 > 1
    assert mf.MeanField(XTANH, sw, sb).q_star() == pytest.approx(lo.q, rel=1e-12)
    with pytest.raises(mf.NoFixedPointError, match=r"q = 0\.3561"):
        mf.MeanField(XTANH, sw, sb, q0=2.0).q_star()     # above the unstable point: q diverges


def test_multistable_map_q_star_follows_q0():
    """phi = 4 tanh(x tanh(x)/4) at (1.2, 0.05): stable q ~ 0.0025, unstable, stable q ~ 2.4. The
    q* of MeanField is the one whose basin holds q0 (checked against iterating the scipy map)."""
    phi = "4*tanh(x*tanh(x)/4)"

    def g(u):
        return 4 * math.tanh(u * math.tanh(u) / 4)

    sw, sb = 1.2, 0.05
    fps = mf.MeanField(phi, sw, sb).fixed_points()
    assert [p.stable for p in fps] == [True, False, True] and fps.multistable
    assert fps[0].basin[1] == fps[1].q == fps[2].basin[0]
    for q0 in (0.5, 5.0):
        q = q0
        for _ in range(400):
            q = V(g, sw, sb, q)
        got = mf.MeanField(phi, sw, sb, q0=q0).q_star()
        assert got == pytest.approx(q, rel=1e-9)
        assert fps.basin_of(q0).q == pytest.approx(q, rel=1e-9)


def test_point_cli_reports_the_stable_point_and_its_basin_not_a_relu_hint():
    r = run_cli("point", XTANH, "--sigma-w", "1.2", "--sigma-b", "0.05", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    stable = [p for p in rep["fixed_points"] if p["stable"]]
    assert len(stable) == 1 and V(xt, 1.2, 0.05, stable[0]["q"]) == pytest.approx(stable[0]["q"], rel=1e-11)
    assert rep["q_star"] is None and "ReLU" not in rep["undefined"]["q_star"]
    assert f"{stable[0]['q']:.6g}" in rep["undefined"]["q_star"]       # names the stable point
    r = run_cli("point", XTANH, "--sigma-w", "1.2", "--sigma-b", "0.05", "--q0", "0.01", "--json")
    rep = json.loads(r.stdout)
    assert rep["q_star"] == pytest.approx(stable[0]["q"], rel=1e-12)
    assert rep["chi1"] == pytest.approx(1.44 * E(lambda u: dxt(u) ** 2, rep["q_star"]), rel=1e-10)


def _critical_rows(stdout):
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if line.startswith("#") or not parts or parts[0] == "sigma_b":
            continue
        rows.setdefault(float(parts[0]), []).append(parts[1:3] if parts[1] != "none" else None)
    return rows


def test_phase_critical_line_of_x_tanh_x_confirmed_row_by_row(tmp_path):
    """Each printed (sigma_b, sigma_w, q*) is a fixed point (V(q) = q) with chi1 = 1, dV/dq < 1,
    reached from q0 = 1 (V - q keeps one sign between q0 and q*); each 'none' row has chi1 = 1
    only at an unstable fixed point, found here by root finding on the scipy critical line."""
    r = run_cli("phase", XTANH, "--sigma-w", "0.9:1.1:3", "--sigma-b", "0.3,0.6,0.8", "--quiet", "--no-correlations",
                "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    rows = _critical_rows(r.stdout)
    assert set(rows) == {0.3, 0.6, 0.8}
    for sb, entries in rows.items():
        assert len(entries) == 1
        if entries[0] is None:
            def gap(q, sb=sb):
                return q - E(lambda u: xt(u) ** 2, q) / E(lambda u: dxt(u) ** 2, q) - sb * sb
            q = optimize.brentq(gap, 1e-3, 50.0, xtol=1e-14)
            sw = 1 / math.sqrt(E(lambda u: dxt(u) ** 2, q))
            assert slope(xt, sw, q) > 1.0                       # unstable: not a critical point
            assert sb < 0.5
            continue
        sw, q = map(float, entries[0])
        assert V(xt, sw, sb, q) == pytest.approx(q, rel=1e-9)
        assert sw * sw * E(lambda u: dxt(u) ** 2, q) == pytest.approx(1.0, rel=1e-9)
        assert slope(xt, sw, q) < 1.0
        grid = np.linspace(1.0, q, 60)[:-1]
        assert all(V(xt, sw, sb, x) > x for x in grid)          # the orbit from q0 = 1 climbs to q
        assert sb > 0.5


def test_phase_diagram_critical_points_only_at_stable_reached_fixed_points():
    pd = mf.phase_diagram(XTANH, np.array([1.0]), np.array([0.05, 0.35, 0.7]), correlations=False)
    assert np.isnan(pd.critical_sigma_w[0]) and np.isnan(pd.critical_sigma_w[1])   # used to be 5.05, 1.078
    assert np.isfinite(pd.critical_sigma_w[2])
    assert {p.sigma_b for p in pd.critical_points if not p.stable} >= {0.05, 0.35}
    with pytest.raises(mf.NoCriticalPointError, match="unstable"):
        mf.critical_sigma_w(XTANH, 0.4)


def test_critical_sigma_w_of_tanh_is_unchanged_and_reached():
    pts = mf.critical_points("tanh", 0.3)
    assert len(pts) == 1 and pts[0].critical
    assert mf.critical_sigma_w("tanh", 0.3) == pytest.approx(1.3955839751549, rel=1e-12)


# --- item 2: at the critical point itself ------------------------------------------------------

def test_tanh_critical_point_has_q_star_zero_and_infinite_depth_scales():
    m = mf.MeanField("tanh", 1.0, 0.0)
    assert m.q_star() == 0.0                    # used to be 8.2e-23
    assert m.chi1() == 1.0
    ds = m.depth_scales()
    assert ds.xi_q == math.inf and ds.xi_c == math.inf       # used to be -4.5e15
    with pytest.raises(mf.UndefinedQuantityError, match=r"q\* = 0"):
        m.c_star()
    assert m.chi_c(0.3) == 1.0                  # u1 = u2 = 0: sigma_w^2 phi'(0)^2


@pytest.mark.parametrize("phi, sw", [("tanh", 1.0), ("erf", math.sqrt(math.pi) / 2)])
def test_critical_rows_at_sigma_b_zero_are_exact(phi, sw):
    """sigma_b = 0, odd phi: the line ends at q* = 0, sigma_w = 1/phi'(0) (erf: phi'(0) = 2/sqrt(pi))."""
    pd = mf.phase_diagram(phi, np.array([0.9, 1.1]), np.array([0.0]), correlations=False)
    (b, w, q), = pd.critical_table()
    assert b == 0.0 and w == pytest.approx(sw, rel=1e-14) and q == 0.0
    assert mf.MeanField(phi, w, 0.0).depth_scales().xi_q == math.inf


def test_point_json_at_the_critical_point():
    r = run_cli("point", "tanh", "--sigma-w", "1", "--sigma-b", "0", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["q_star"] == 0.0 and rep["xi_q"] == "inf" and rep["xi_c"] == "inf"
    assert rep["c_star"] is None and "q* = 0" in rep["undefined"]["c_star"]


# --- item 4: growth without a fixed point, oscillating phi -------------------------------------

def _sin_half_v(sw, sb, q):
    """E[(sin u + u/2)^2] = (1 - e^{-2q})/2 + q e^{-q/2} + q/4 (u ~ N(0, q))."""
    return sw * sw * ((1 - math.exp(-2 * q)) / 2 + q * math.exp(-q / 2) + q / 4) + sb * sb


def test_sin_plus_half_x_grows_without_fixed_point():
    """(2.0, 0.2): V(q) - q = 2(1 - e^{-2q}) + 4q e^{-q/2} + 0.04 > 0 for all q."""
    assert all(_sin_half_v(2.0, 0.2, q) > q for q in np.logspace(-8, 8, 200))
    m = mf.MeanField("sin(x) + x/2", 2.0, 0.2)
    with pytest.raises(mf.NoFixedPointError, match="grows without bound"):
        m.q_star()                               # used to be NotConvergedError
    fps = m.fixed_points()
    assert len(fps) == 0 and fps.above == "grows" and fps.scanned[1] < 1e10
    assert any("not scanned above" in n for n in fps.notes)
    pd = mf.phase_diagram("sin(x) + x/2", np.array([2.0]), np.array([0.2]), correlations=False)
    assert pd.status[0, 0] == 4 and np.isnan(pd.q_star[0, 0])


def test_sin_plus_half_x_fixed_points_with_bounded_scan():
    m = mf.MeanField("sin(x) + x/2", 1.8, 0.1)
    fps = m.fixed_points()                       # used to fail with NotConvergedError at q = 1e10
    q = optimize.brentq(lambda q: _sin_half_v(1.8, 0.1, q) - q, 1e-3, 1e3, xtol=1e-15)
    assert len(fps) == 1 and fps[0].stable and fps[0].q == pytest.approx(q, rel=1e-12)
    assert m.q_star() == pytest.approx(q, rel=1e-12)


def test_point_sin_works():
    r = run_cli("point", "sin", "--sigma-w", "1.5", "--sigma-b", "0.1", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    q = optimize.brentq(lambda q: 2.25 * (1 - math.exp(-2 * q)) / 2 + 0.01 - q, 1e-3, 10, xtol=1e-15)
    assert rep["q_star"] == pytest.approx(q, rel=1e-12)
    assert rep["chi1"] == pytest.approx(2.25 * (1 + math.exp(-2 * q)) / 2, rel=1e-12)  # E[cos^2 u]


def test_linear_marginal_map_has_no_fixed_point():
    """Linear phi, sigma_w = 1, sigma_b = 0.2: V(q) = q + 0.04, no fixed point (used to give
    q* = 1.5e14 from MeanField and status ok, c* = 1 from phase_diagram)."""
    m = mf.MeanField("linear", 1.0, 0.2)
    with pytest.raises(mf.NoFixedPointError):
        m.q_star()
    assert len(m.fixed_points()) == 0 and m.fixed_points().above == "grows"
    pd = mf.phase_diagram("linear", np.array([1.0, 0.9]), np.array([0.2]), correlations=True)
    assert pd.status[0, 0] == 4 and np.isnan(pd.c_star[0, 0])
    assert pd.q_star[1, 0] == pytest.approx(0.04 / (1 - 0.81), rel=1e-12)
    with pytest.raises(mf.NoFixedPointError):
        mf.MeanField("relu", math.sqrt(2), 0.2).q_star()     # the equivalent ReLU point


# --- items 10, 12 ---------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [0, -3, 2.5])
def test_curvature_depth_must_be_a_positive_integer(depth):
    with pytest.raises(ValueError, match="depth"):
        mf.MeanField("tanh", 2.5, 0.3).curvature(depth=depth)


@pytest.mark.parametrize("q0", [0.0, -1.0, math.inf])
def test_q0_is_checked(q0):
    with pytest.raises(ValueError, match="q0"):
        mf.MeanField("tanh", 2.5, 0.3, q0=q0)


def test_point_without_fixed_point_prints_the_reason_once():
    r = run_cli("point", "relu", "--sigma-w", "3", "--sigma-b", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("no finite fixed point is reached") == 1


def test_phase_diagram_never_calls_a_point_with_a_stable_fixed_point_divergent():
    """x tanh x at (1.2, 0.05): the orbit from q0 = 1 diverges, but q = 0.00253 is stable (V - q
    changes sign below q0, checked with scipy): status 8, not 4; relu at sigma_w = 1.6: status 4."""
    assert V(xt, 1.2, 0.05, 0.01) < 0.01 and V(xt, 1.2, 0.05, 1.0) > 1.0
    pd = mf.phase_diagram(XTANH, np.array([1.2]), np.array([0.05]), correlations=False)
    assert pd.status[0, 0] == 8 and "stable fixed point" in pd.reasons[8]
    pd = mf.phase_diagram(XTANH, np.array([1.2]), np.array([0.05]), q0=0.01, correlations=False)
    assert pd.status[0, 0] == 0 and V(xt, 1.2, 0.05, pd.q_star[0, 0]) == pytest.approx(pd.q_star[0, 0], rel=1e-9)
    assert mf.phase_diagram("relu", np.array([1.6]), np.array([0.1]), correlations=False).status[0, 0] == 4


def test_phase_status_enum_is_the_kernels_enum():
    """One Status for kernels and Python: the generated kernel module uses meanfield.codes.Status
    itself, every status a grid point can hold has a reason, and every failure an exception."""
    from meanfield import codes
    from meanfield.kernels import kernels_for
    from meanfield.phase import STATUS, Status
    K = kernels_for(mf.Nonlinearity("tanh"))
    assert Status is codes.Status and K.Status is codes.Status
    assert set(STATUS) == set(Status) - {Status.NEEDS_NESTED}          # internal to the kernels
    assert set(codes.STATUS_ERRORS) == set(Status) - {Status.OK, Status.Q_ZERO}
    assert all(issubclass(e, mf.MeanFieldError) for e in codes.STATUS_ERRORS.values())
