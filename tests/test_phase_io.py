"""PhaseDiagram.save / load round trip, and what PhaseDiagram.plot draws.

References: the arrays written by hand here (load must return them bit for bit), the plotted
objects themselves (axes labels, colour norms, legend entries), file-system facts.
"""
import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import LogNorm

from meanfield.outputs import OutputPathError
from meanfield.phase import STATUS, PhaseDiagram

matplotlib.use("Agg")


def diagram(n_w=4, n_b=3, crit=None):
    """A hand-made diagram: q* over six decades, two kinds of missing points, a critical line."""
    sw, sb = np.linspace(0.5, 3.0, n_w), np.linspace(0.0, 1.0, n_b)
    q = np.logspace(-3, 3, n_w * n_b).reshape(n_w, n_b)
    status = np.zeros((n_w, n_b), dtype=int)
    status[0, 0], status[-1, -1] = 5, 4
    nan_where = status != 0
    arr = {k: np.where(nan_where, np.nan, np.full((n_w, n_b), v)) for k, v in
           (("c_star", 0.5), ("chi1", 0.9), ("chi2", 0.1), ("xi_q", 3.0), ("xi_c", 7.0))}
    depth = np.where(nan_where, np.nan, np.logspace(0, 4, n_w * n_b).round().reshape(n_w, n_b))
    crit = np.linspace(1.0, 2.0, n_b) if crit is None else crit
    return PhaseDiagram(phi="x*tanh(x)", sigma_w=sw, sigma_b=sb, q_star=np.where(nan_where, np.nan, q),
                        convergence_depth=depth, status=status, critical_sigma_w=crit, q0=0.7, rtol=1e-9, **arr)


def test_save_then_load_gives_back_every_field(tmp_path):
    pd = diagram()
    files = pd.save(tmp_path / "sw1.5")                        # the '.5' is not a suffix to replace
    assert files["npz"].name == "sw1.5.npz" and files["png"].exists() and files["csv"].exists()
    back = PhaseDiagram.load(tmp_path / "sw1.5")
    for name in ("sigma_w", "sigma_b", "critical_sigma_w", *PhaseDiagram.ARRAYS):
        np.testing.assert_array_equal(getattr(back, name), getattr(pd, name))
    assert (back.phi, back.q0, back.rtol) == ("x*tanh(x)", 0.7, 1e-9)
    assert back.reasons == pd.reasons == STATUS
    assert PhaseDiagram.load(files["npz"]).phi == pd.phi


def test_save_refuses_a_missing_directory(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        diagram().save(tmp_path / "no" / "pd")
    assert not (tmp_path / "no").exists()


def test_plot_axes_log_scales_and_one_grey_per_reason():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = diagram().plot()
    q_ax, depth_ax, c_ax, chi_ax = fig.axes[:4]
    for ax in (q_ax, depth_ax, c_ax, chi_ax):
        assert "sigma_w" in ax.get_xlabel() and "sigma_b" in ax.get_ylabel()
    assert isinstance(q_ax.collections[-1].norm, LogNorm)          # q* spans six decades
    assert isinstance(depth_ax.collections[-1].norm, LogNorm)      # 1 .. 10^4 layers
    assert not isinstance(c_ax.collections[-1].norm, LogNorm)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [STATUS[4], STATUS[5]]
    shades = {tuple(h.get_facecolor()) for h in fig.legends[0].legend_handles}
    assert len(shades) == 2
    for ax in (c_ax, chi_ax):                                      # line drawn and listed
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["$\\chi_1 = 1$"]
        xs = ax.lines[0].get_xdata()
        np.testing.assert_allclose(xs, np.linspace(1.0, 2.0, 3))   # sigma_w horizontal


def test_no_chi1_legend_when_no_line_is_drawn_and_one_column_plots_cleanly():
    pd = diagram(n_b=1, crit=np.array([np.nan]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = pd.plot()
    for ax in fig.axes[2:4]:
        assert ax.get_legend() is None and not ax.lines
    pd = diagram(crit=np.array([9.0, 9.5, 10.0]))                  # outside the sigma_w range
    fig = pd.plot()
    assert fig.axes[3].get_legend() is None
