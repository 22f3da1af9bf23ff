"""sim.validate: the mean-field theory against finite random networks (Poole et al. Figs. 1-4)."""
import argparse

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

import sim
from sim import cli_validate
from sim.validate import QUANTITIES, tolerance


def test_tanh_chaotic_at_width_1000_passes_with_the_contract_tolerances():
    report = sim.validate("tanh", 2.5, 0.3, width=1000, depth=8, seed=0, n_seeds=4, n_points=30,
                          progress=False)
    assert report.passed, report.to_markdown()
    assert {r.quantity for r in report.rows} == set(QUANTITIES)
    tol = {r.quantity: r.tolerance for r in report.rows}
    assert tol == {"q": 0.05, "c": 0.05, "chi1": 0.05, "g_E": 0.10, "kappa2": 0.10}
    # the circle starts on the theory's initial conditions exactly (layer 1 is placed, not simulated)
    for r in report.rows:
        if r.layer == 1 and r.quantity != "c":
            assert r.error < 1e-9


@pytest.mark.parametrize("phi, sigma_w", [("tanh", 1.3), ("tanh", 4.0), ("atan(x)", 3.0),
                                          ("x/sqrt(1 + x**2)", 1.5)])
def test_other_settings_pass_at_width_250_with_scaled_tolerance(phi, sigma_w):
    report = sim.validate(phi, sigma_w, 0.3, width=250, depth=10, seed=1, n_seeds=8, n_points=30,
                          progress=False)
    assert report.passed, report.to_markdown()
    assert all(r.tolerance == pytest.approx(tolerance(r.quantity, 250, r.layer)) for r in report.rows)


def test_validate_detects_a_wrong_network():
    """A network simulated with the wrong sigma_w must fail against the theory: the check has teeth."""
    from meanfield import MeanField

    report = sim.validate("tanh", 2.5, 0.3, width=250, depth=6, seed=2, n_seeds=2, n_points=20, progress=False)
    wrong = MeanField("tanh", 2.0, 0.3)
    g_true = [r.simulation for r in report.select("g_E")]
    g_wrong = wrong.curvature(6).g_E
    assert np.max(np.abs(np.array(g_true) / g_wrong - 1)) > 0.5


def test_tolerance_scales_like_one_over_sqrt_width_and_grows_past_depth_20():
    assert tolerance("q", 1000, 5) == pytest.approx(0.05)
    assert tolerance("q", 250, 5) == pytest.approx(0.10)
    assert tolerance("c", 4000, 5) == pytest.approx(0.025)
    assert tolerance("g_E", 1000, 20) == pytest.approx(0.10)
    assert tolerance("g_E", 1000, 80) == pytest.approx(0.20)
    assert tolerance("q", 1000, 80) == pytest.approx(0.05)


def test_relu_skips_curvature_with_a_note():
    report = sim.validate("relu", 1.2, 0.2, width=200, depth=4, seed=0, n_seeds=2, n_points=16, progress=False)
    assert not report.select("kappa2") and report.skipped and "kappa2" in report.skipped[0]
    assert report.select("g_E")


def test_report_markdown_and_plot():
    report = sim.validate("tanh", 2.5, 0.3, width=100, depth=3, seed=0, n_seeds=1, n_points=16, progress=False)
    md = report.to_markdown()
    assert md.count("\n| ") == len(report.rows) + 1 and "| quantity |" in md
    fig = report.plot()
    assert len(fig.axes) == 5


def _cli(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli_validate.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_prints_table_writes_plot_and_reports_bad_input(tmp_path, capsys):
    out = tmp_path / "v.png"
    rc = _cli(["validate", "tanh", "--sigma-w", "2.5", "--sigma-b", "0.3", "--width", "100", "--depth", "3",
               "--seeds", "1", "--points", "16", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc in (0, 1) and "| quantity |" in text and out.stat().st_size > 0
    rc = _cli(["validate", "tanh(", "--sigma-w", "2.5", "--sigma-b", "0.3"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
