"""Decision-boundary principal curvatures by exact second-order forward mode (Poole et al. 2016, Sec. 6)."""
import numpy as np
import pytest

import sim
from sim.geometry.boundary import (
    BoundaryError,
    boundary_curvatures,
    classifier_hessian,
    classifier_value_and_gradient,
    find_boundary_point,
    principal_curvatures,
)


def test_sphere_has_principal_curvatures_one_over_radius():
    """phi = x^2, W = I, b = 0, beta = 1, beta0 = r^2: G = |x|^2 - r^2, a sphere of radius r."""
    net = sim.Network("x**2", [np.eye(7)], [np.zeros(7)])
    x = find_boundary_point(net, np.ones(7), 9.0, np.random.default_rng(0).standard_normal(7))
    assert np.linalg.norm(x) == pytest.approx(3.0, rel=1e-10)
    np.testing.assert_allclose(principal_curvatures(net, np.ones(7), 9.0, x), 1 / 3, rtol=1e-10)


@pytest.mark.parametrize("phi", ["tanh", "atan(x)"])
def test_exact_hessian_matches_finite_differences_of_the_gradient(phi):
    net = sim.RandomNetwork(phi, [6, 15, 12, 10], 2.5, 0.3, seed=1)
    rng = np.random.default_rng(2)
    beta, x = rng.standard_normal(10), rng.standard_normal(6)
    g, grad, hess = classifier_hessian(net, beta, 0.2, x)
    g2, grad2 = classifier_value_and_gradient(net, beta, 0.2, x)
    assert g == pytest.approx(g2, rel=1e-12)
    np.testing.assert_allclose(grad, grad2, rtol=1e-10)
    assert g == pytest.approx(beta @ np.tanh(net.forward(x[None])[-1][0]) - 0.2 if phi == "tanh"
                              else beta @ np.arctan(net.forward(x[None])[-1][0]) - 0.2, rel=1e-12)
    eps = 1e-6
    fd = np.array([(classifier_value_and_gradient(net, beta, 0.2, x + eps * e)[1]
                    - classifier_value_and_gradient(net, beta, 0.2, x - eps * e)[1]) / (2 * eps)
                   for e in np.eye(6)])
    np.testing.assert_allclose(hess, fd, atol=1e-6 * np.abs(hess).max())
    np.testing.assert_allclose(hess, hess.T, atol=1e-12 * np.abs(hess).max())


def test_one_hidden_unit_and_linear_networks_have_flat_boundaries():
    rng = np.random.default_rng(3)
    one_unit = sim.Network("tanh", [rng.standard_normal((1, 5))], [np.array([0.1])])
    x = find_boundary_point(one_unit, np.ones(1), 0.3, rng.standard_normal(5))
    np.testing.assert_allclose(principal_curvatures(one_unit, np.ones(1), 0.3, x), 0, atol=1e-12)
    lin = sim.RandomNetwork("linear", [5, 8, 8], 1.0, 0.2, seed=0)
    beta = rng.standard_normal(8)
    x = find_boundary_point(lin, beta, 0.0, rng.standard_normal(5))
    np.testing.assert_allclose(principal_curvatures(lin, beta, 0.0, x), 0, atol=1e-12)


def test_boundary_curvature_grows_with_depth_in_the_chaotic_phase():
    r = boundary_curvatures("tanh", 4.0, 0.3, input_width=12, width=100, depths=[1, 4, 8], n_points=4, k=2)
    assert r.top.shape == (3, 2) and np.all(np.diff(r.top[:, 0]) > 0)
    assert r.top[-1, 0] > 10 * r.top[0, 0] and -r.bottom[-1, 0] > 10 * -r.bottom[0, 0]


def test_unreachable_boundary_is_reported():
    net = sim.RandomNetwork("tanh", [3, 4], 1.0, 0.0, seed=0)
    with pytest.raises(BoundaryError, match="beta0"):
        find_boundary_point(net, np.ones(4), 100.0, np.zeros(3) + 0.1)


def test_curvature_plot_never_drops_points_silently():
    # top must be > 0 and -bottom > 0 to appear on the log axis; the others are counted in the legend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.geometry.boundary import BoundaryCurvatures
    top = np.array([[2.0, 1.0], [-0.5, 0.3], [4.0, 0.0]])        # kappa_1 > 0 at 2 of 3 depths, kappa_2 at 2
    bottom = np.array([[-3.0, -1.0], [-2.0, 0.2], [0.1, 0.4]])   # -kappa_-1 > 0 at 2, -kappa_-2 at 1
    bc = BoundaryCurvatures(np.array([1, 2, 3]), (), top, bottom)
    fig = bc.plot()
    ax = fig.axes[0]
    lines = ax.get_lines()
    shown = [np.isfinite(np.asarray(ln.get_ydata(), float)).sum() for ln in lines]
    assert shown == [2, 2, 2, 1]                                   # kappa_1, -kappa_-1, kappa_2, -kappa_-2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ["not shown" in lab for lab in labels] == [True, True, True, True]
    assert "1 of 3" in labels[0] and "2 of 3" in labels[3]
    np.testing.assert_array_equal(np.asarray(lines[1].get_ydata(), float)[:2], [3.0, 2.0])
    plt.close(fig)
    full = BoundaryCurvatures(np.array([1, 2]), (), np.array([[1.0], [2.0]]), np.array([[-1.0], [-2.0]])).plot()
    assert not any("not shown" in t.get_text() for t in full.axes[0].get_legend().get_texts())
    plt.close(full)
