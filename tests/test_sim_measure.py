"""Per-layer measurements (sim.measure) against closed forms and invariances."""
import numpy as np
import pytest
from scipy.integrate import quad

import sim
from sim.geometry.curves import circle, segment
from sim.geometry.measure import (
    autocorrelation,
    correlation,
    euclidean_length,
    gauss_map_length,
    grassmannian_length,
    measure_curve,
    measured_curvature,
    metric,
    normalised_curvature2,
    normalised_metric,
    overlap,
    pca_spectrum,
    perturbation_growth,
    squared_length,
)
from sim.geometry.propagate import propagate


def _gauss(f, q):
    """E_z f(sqrt(q) z) by adaptive quadrature (independent of meanfield)."""
    s = np.sqrt(q)
    return quad(lambda z: f(s * z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -12, 12, limit=200)[0]


def _tanh_q_star(sigma_w, sigma_b):
    q = 1.0
    for _ in range(200):  # the length map (Poole eq. 3) contracts to q*
        q = sigma_w ** 2 * _gauss(lambda h: np.tanh(h) ** 2, q) + sigma_b ** 2
    return q


def test_circle_closed_forms():
    """Circle of squared radius per neuron q: g_E/N = q, N kappa^2 = 1/q, L_E/sqrt(N) = 2 pi sqrt(q),
    L_G = 2 pi (Poole Sec. 4)."""
    n, q = 64, 0.37
    c = circle(n, q, 50, seed=1)
    np.testing.assert_allclose(squared_length(c.position), q, rtol=1e-13)
    np.testing.assert_allclose(normalised_metric(c.velocity), q, rtol=1e-13)
    np.testing.assert_allclose(normalised_curvature2(c.velocity, c.acceleration), 1 / q, rtol=1e-12)
    assert euclidean_length(c.theta, c.velocity, closed=True) / np.sqrt(n) == pytest.approx(2 * np.pi * np.sqrt(q))
    assert grassmannian_length(c.theta, c.velocity, c.acceleration, closed=True) == pytest.approx(2 * np.pi)
    # consecutive unit tangents of the sampled circle are exactly 2 pi / 50 apart
    assert gauss_map_length(c.velocity, closed=True) == pytest.approx(2 * np.pi, rel=1e-12)


def test_curvature_of_a_parabola_with_non_unit_speed():
    """y = x^2 parametrised by x: kappa = 2 / (1 + 4 x^2)^(3/2)."""
    x = np.linspace(-2, 2, 9)
    v = np.stack([np.ones_like(x), 2 * x], axis=1)
    a = np.stack([np.zeros_like(x), 2 * np.ones_like(x)], axis=1)
    np.testing.assert_allclose(measured_curvature(v, a), 2 / (1 + 4 * x ** 2) ** 1.5, rtol=1e-13)
    np.testing.assert_allclose(metric(v), 1 + 4 * x ** 2)


def test_helix_curvature_and_lengths():
    """Helix (R cos t, R sin t, b t): kappa = R / (R^2 + b^2), length 2 pi sqrt(R^2 + b^2) per turn."""
    R, b, t = 2.0, 0.5, np.linspace(0, 2 * np.pi, 2001)
    v = np.stack([-R * np.sin(t), R * np.cos(t), b + 0 * t], axis=1)
    a = np.stack([-R * np.cos(t), -R * np.sin(t), 0 * t], axis=1)
    np.testing.assert_allclose(measured_curvature(v, a), R / (R ** 2 + b ** 2), rtol=1e-12)
    assert euclidean_length(t, v, closed=False) == pytest.approx(2 * np.pi * np.hypot(R, b), rel=1e-12)
    # the tangent traces a circle of radius R / sqrt(R^2 + b^2) on the sphere: L_G = 2 pi R / sqrt(R^2 + b^2)
    expected = 2 * np.pi * R / np.hypot(R, b)
    assert grassmannian_length(t, v, a, closed=False) == pytest.approx(expected, rel=1e-12)
    assert gauss_map_length(v, closed=False) == pytest.approx(expected, rel=1e-5)


def test_rescaled_curve_keeps_grassmannian_length_through_a_network():
    """L_G is scale invariant: a network whose last layer is scaled by c has the same L_G, c times L_E."""
    net = sim.RandomNetwork("tanh", [30, 30, 30], 2.5, 0.3, seed=0)
    scaled = sim.Network("tanh", net.weights[:-1] + [3.0 * net.weights[-1]],
                         net.biases[:-1] + [3.0 * net.biases[-1]])
    c = circle(30, 1.0, 400, seed=1)
    a, b = measure_curve(net, c), measure_curve(scaled, c)
    np.testing.assert_allclose(b.L_G, a.L_G, rtol=1e-12)
    np.testing.assert_allclose(b.L_E[-1], 3.0 * a.L_E[-1], rtol=1e-12)
    # and at fine sampling the direct Gauss-map length agrees with the local formula
    np.testing.assert_allclose(a.L_G_gauss, a.L_G, rtol=2e-3)
    for q in (0.2, 5.0):  # circles of any radius: L_G = 2 pi
        assert measure_curve(net, circle(30, q, 64, seed=2)).L_G[0] == pytest.approx(2 * np.pi)


def test_overlap_and_correlation():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 40)), rng.standard_normal((3, 40))
    np.testing.assert_allclose(overlap(a, b), np.sum(a * b, axis=1) / 40)
    expected = np.array([np.corrcoef(np.stack([x, y]))[0, 1] for x, y in zip(a - a.mean(1, keepdims=True),
                                                                              b - b.mean(1, keepdims=True))])
    ac, bc = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    np.testing.assert_allclose(correlation(ac, bc), expected, rtol=1e-12)


def test_autocorrelation_of_a_circle_is_cosine():
    c = circle(20, 2.0, 36, seed=3)
    dtheta, ac = autocorrelation(c.position, q_norm=2.0)
    np.testing.assert_allclose(ac, np.cos(dtheta), atol=1e-12)
    # brute force on an arbitrary closed curve
    h = np.random.default_rng(1).standard_normal((12, 5))
    direct = [np.mean(np.sum(h * np.roll(h, -k, axis=0), axis=1)) / 5 for k in range(12)]
    np.testing.assert_allclose(autocorrelation(h)[1], np.array(direct) / direct[0], atol=1e-12)


def test_pca_of_a_circle_has_two_equal_components():
    spec = pca_spectrum(circle(15, 1.0, 40, seed=0).position)
    np.testing.assert_allclose(spec.explained[:2], 0.5, atol=1e-12)
    assert spec.explained[2:].sum() < 1e-12
    np.testing.assert_allclose(np.linalg.norm(spec.projection[:, :2], axis=1), np.sqrt(15), rtol=1e-12)


def test_perturbation_growth_closed_form_and_monte_carlo_agree_with_explicit_jacobian():
    net = sim.RandomNetwork("tanh", [20, 20, 20], 2.0, 0.3, seed=5)
    h = np.random.default_rng(2).standard_normal((4, 20)) * 1.5
    exact = perturbation_growth(net, 2, h)
    for i in range(4):
        jac = net.weights[1] * (1 - np.tanh(h[i]) ** 2)  # J = W diag(phi'(h))
        assert exact[i] == pytest.approx(np.sum(jac ** 2) / 20, rel=1e-12)
    mc = perturbation_growth(net, 2, h, n_perturbations=4000, seed=0)
    np.testing.assert_allclose(mc, exact, rtol=0.05)
    with pytest.raises(ValueError, match="layer"):
        perturbation_growth(net, 1, h)


def test_circle_at_q_star_keeps_its_length_and_chi1_is_the_mean_growth():
    """Invariance of Poole Fig. 1: a circle at q* stays at q*; perturbations grow by chi1 (eq. 7).

    q* and chi1 come from direct quadrature here, not from meanfield."""
    sw, sb, width = 2.5, 0.3, 500
    q_star = _tanh_q_star(sw, sb)
    chi1 = sw ** 2 * _gauss(lambda h: (1 - np.tanh(h) ** 2) ** 2, q_star)
    qs, chis = [], []
    for seed in range(4):
        net = sim.RandomNetwork("tanh", [width] * 9, sw, sb, seed=seed)
        geo = measure_curve(net, circle(width, q_star, 60, seed=100 + seed))
        qs.append(geo.q)
        chis.append(geo.chi1[1:])
    tol = 0.05 * np.sqrt(1000 / width)
    np.testing.assert_allclose(np.mean(qs, axis=0), q_star, rtol=tol)
    np.testing.assert_allclose(np.mean(chis, axis=0), chi1, rtol=tol)


def test_linear_network_has_zero_curvature_and_exact_metric_growth():
    """phi = x: a segment stays straight (kappa = 0) and g_E grows by |W v|^2 / |v|^2 exactly."""
    net = sim.RandomNetwork("linear", [10, 50, 50, 50], 0.9, 0.2, seed=3)
    rng = np.random.default_rng(0)
    c = segment(rng.standard_normal(10), rng.standard_normal(10), 7)
    states = propagate(net, c)
    direction = c.velocity[0]
    for w, s in zip(net.weights, states):
        direction = w @ direction
        np.testing.assert_allclose(s.velocity, np.broadcast_to(direction, s.velocity.shape), rtol=1e-12)
        assert np.all(measured_curvature(s.velocity, s.acceleration) == 0)
