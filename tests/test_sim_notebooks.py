"""The Poole et al. figure notebooks run headless in quick mode and agree with the theory."""
import numpy as np
from notebook_runner import run_notebook

# quick mode uses width 100-200 and a single network: tolerances are the contract's, scaled like
# sqrt(1000 / N), with a factor 2 for single-network noise
SCALE = 2 * np.sqrt(1000 / 200)


def test_fig1_length_map():
    ns = run_notebook("poole_fig1.ipynb")
    assert ns["max_q_error"] < 0.05 * SCALE
    assert np.all(np.diff(ns["qstar"], axis=1) >= 0)  # q* grows with sigma_w (Fig. 1C)


def test_fig2_correlation_map():
    ns = run_notebook("poole_fig2.ipynb")
    assert ns["max_c_error"] < 0.05 * SCALE
    chi1 = ns["chi1"]
    assert chi1.min() < 1 < chi1.max()  # the grid straddles the order-to-chaos line


def test_fig3_circle():
    ns = run_notebook("poole_fig3.ipynb")
    assert ns["max_c_error"] < 0.05 * SCALE
    # the chaotic network decorrelates neighbouring points (Fig. 3B): c(dtheta) at the smallest shift
    # starts at cos(dtheta) and falls towards c* < 1 with depth; the ordered one keeps it near 1
    auto = ns["auto"]
    assert auto[4.0, 1][1] > 0.95 and auto[4.0, ns["DEPTH"]][1] < 0.5
    assert auto[1.3, ns["DEPTH"]][1] > 0.9


def test_fig4_curvature_and_boundary():
    ns = run_notebook("poole_fig4.ipynb")
    for sw, errs in ns["rel_err"].items():
        assert errs["L_E"] < 0.10 * SCALE and errs["L_G"] < 0.10 * SCALE
    assert ns["bc"].top[-1, 0] > 3 * ns["bc"].top[0, 0]  # boundary curvature grows with depth (Fig. 4G)


def test_fig5_expressivity():
    ns = run_notebook("poole_fig5.ipynb")
    assert ns["deep_high"] < 0.8
    assert min(ns["shallow_high"].values()) > 0.9
