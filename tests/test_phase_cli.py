"""Phase diagram arrays agree with point-wise MeanField; the CLI works and fails cleanly."""
import subprocess
import sys

import numpy as np
import pytest

import meanfield as mf


def test_phase_diagram_matches_pointwise_and_marks_missing_values(tmp_path):
    sw = np.array([0.8, 1.3, 2.5])
    sb = np.array([0.0, 0.3])
    pd = mf.phase_diagram("tanh", sw, sb)
    assert pd.q_star.shape == (3, 2)
    for i, w in enumerate(sw):
        m = mf.MeanField("tanh", w, 0.3)
        assert pd.q_star[i, 1] == pytest.approx(m.q_star(), rel=1e-9)
        assert pd.chi1[i, 1] == pytest.approx(m.chi1(), rel=1e-9)
        assert pd.c_star[i, 1] == pytest.approx(m.c_star(), abs=1e-8)
    assert pd.status[0, 0] == 5 and np.isnan(pd.c_star[0, 0])          # q* = 0 at sigma_w < 1, sigma_b = 0
    assert pd.critical_sigma_w[1] == pytest.approx(1.3955839751549, rel=1e-10)
    files = pd.save(tmp_path / "pd")
    data = np.load(files["npz"])
    np.testing.assert_array_equal(data["q_star"], pd.q_star)
    assert files["csv"].read_text().count("\n") == 1 + 6


def test_relu_phase_diagram_reports_divergence_and_undefined_chi2():
    pd = mf.phase_diagram("relu", np.array([1.0, 1.6]), np.array([0.1]), correlations=False)
    assert pd.status[1, 0] == 4 and np.isnan(pd.q_star[1, 0])   # sigma_w^2/2 > 1: q diverges, no value
    assert np.isnan(pd.chi2).all()
    assert pd.q_star[0, 0] == pytest.approx(0.01 / 0.5, rel=1e-10)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "meanfield", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_phase_writes_outputs(tmp_path):
    r = run_cli("phase", "tanh", "--sigma-w", "1:3:3", "--sigma-b", "0.3", "--out", str(tmp_path / "p"), "--quiet",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1.395583975" in r.stdout
    assert (tmp_path / "p.png").exists() and (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("args", [("phase", "__import__('os')"), ("phase", "tanh", "--sigma-w", "a:b"),
                                  ("point", "y+1", "--sigma-w", "1", "--sigma-b", "0"),
                                  ("point", "tanh", "--sigma-w", "-1", "--sigma-b", "0")])
def test_cli_bad_input_one_line_status_2(args):
    r = run_cli(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_help_documents_every_option():
    r = run_cli("phase", "--help")
    for opt in ["--sigma-w", "--sigma-b", "--q0", "--rtol", "--no-correlations", "--out"]:
        assert opt in r.stdout


def test_default_sigma_w_grid_stops_where_q_diverges_for_linear_growth():
    """|phi| ~ a|x| makes V(q)/q -> sigma_w^2 a^2: ReLU has a^2 = 1/2, so q diverges above sqrt(2);
    bounded tanh keeps the standard 0.5..4 grid."""
    from meanfield.cli import _default_sigma_w
    assert _default_sigma_w("relu")[-1] == pytest.approx(1.25 * np.sqrt(2), rel=1e-6)
    assert _default_sigma_w("x*tanh(x)")[-1] == pytest.approx(1.25, rel=1e-6)
    np.testing.assert_allclose(_default_sigma_w("tanh")[[0, -1]], [0.5, 4.0])
