"""Fourier-basis expressivity over the circle (Poole et al. 2016, Fig. 5, App. D)."""
import numpy as np
import pytest

import sim
from sim.expressivity.fourier import fourier_basis, network_expressivity, regression_error
from sim.geometry.curves import circle


def test_features_that_contain_a_frequency_fit_it_exactly():
    theta = 2 * np.pi * np.arange(128) / 128
    features = np.column_stack([np.cos(5 * theta), np.sin(5 * theta), np.cos(9 * theta) + 0.3])
    fit = regression_error(features, theta, 12, ridge=0.0)
    assert fit.unexplained[4] == pytest.approx(0, abs=1e-20)
    assert fit.angle[4] == pytest.approx(0, abs=1e-7)
    assert fit.unexplained[8] == pytest.approx(0.5, abs=1e-12)  # cos 9 theta fits, sin 9 theta does not
    assert fit.unexplained[0] == pytest.approx(1.0, abs=1e-12)


def test_fourier_basis_is_orthogonal_on_the_grid():
    theta = 2 * np.pi * np.arange(64) / 64
    b = fourier_basis(theta, 10)
    np.testing.assert_allclose(b.T @ b, 32 * np.eye(20), atol=1e-10)


def test_deep_beats_shallow_at_high_frequency_and_width_does_not_help():
    q_star, n = 12.6, 256  # tanh, sigma_w = 4, sigma_b = 0.3 (chaotic)
    err = {}
    for depth, width in [(1, 100), (1, 400), (6, 100)]:
        net = sim.RandomNetwork("tanh", [width] * (depth + 1), 4.0, 0.3, seed=depth)
        err[depth, width] = network_expressivity(net, circle(width, q_star, n, seed=0), 60).unexplained
    high = slice(30, 60)
    assert err[1, 100][high].min() > 0.9  # shallow: high frequencies out of reach ...
    assert err[1, 400][high].min() > 0.9  # ... however wide (Fig. 5D)
    assert err[6, 100][high].mean() < 0.75  # deep: within reach (Fig. 5C)
    # the shallow net captures low frequencies (odd ones: the circle at h^1 is symmetric and tanh odd)
    assert err[1, 100][[0, 2]].max() < 0.15


def test_regression_rejects_frequencies_above_nyquist():
    theta = 2 * np.pi * np.arange(20) / 20
    with pytest.raises(ValueError, match="Nyquist"):
        regression_error(np.ones((20, 2)), theta, 10)
