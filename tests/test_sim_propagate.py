"""Curves and exact forward-mode propagation (sim.manifolds, sim.propagate)."""
import numpy as np
import pytest

import sim
from sim.geometry.curves import CurveError, circle, great_circle, orthonormal_pair, segment
from sim.geometry.measure import measured_curvature
from sim.geometry.propagate import propagate, propagate_iter


def _circle_points(width, q, theta, seed):
    """The circle of Poole Sec. 4 evaluated at arbitrary angles (reference for finite differences)."""
    u = orthonormal_pair(width, seed)
    return np.sqrt(width * q) * (np.cos(theta)[:, None] * u[0] + np.sin(theta)[:, None] * u[1])


@pytest.mark.parametrize("phi", ["tanh", "atan(x) + x/10", "erf"])
def test_velocity_and_acceleration_match_finite_differences_of_forward(phi):
    width, q, seed = 12, 0.8, 3
    net = sim.RandomNetwork(phi, [width, 20, 15, 10], sigma_w=2.0, sigma_b=0.4, seed=7)
    curve = circle(width, q, 16, seed, layer=0)
    layers = propagate(net, curve)
    theta = curve.theta
    eps_v, eps_a = 1e-5, 1e-3
    def f(t):
        return net.forward(_circle_points(width, q, t, seed))
    fp, fm = f(theta + eps_v), f(theta - eps_v)
    gp, g0, gm = f(theta + eps_a), f(theta), f(theta - eps_a)
    for l, state in enumerate(layers):
        np.testing.assert_allclose(state.position, g0[l], rtol=1e-12, atol=1e-12)
        fd_v = (fp[l] - fm[l]) / (2 * eps_v)
        fd_a = (gp[l] - 2 * g0[l] + gm[l]) / eps_a ** 2
        scale_v, scale_a = np.abs(state.velocity).max(), np.abs(state.acceleration).max()
        np.testing.assert_allclose(state.velocity, fd_v, atol=1e-7 * scale_v)
        np.testing.assert_allclose(state.acceleration, fd_a, atol=1e-4 * scale_a)


def test_circle_in_first_layer_skips_first_weights_and_matches_finite_differences():
    width, q, seed = 25, 1.5, 11
    net = sim.RandomNetwork("tanh", [4, width, 18, 9], sigma_w=2.5, sigma_b=0.3, seed=2)
    curve = circle(width, q, 10, seed)  # layer 1: h^1 itself
    layers = propagate(net, curve)
    np.testing.assert_array_equal(layers[0].position, curve.position)

    def rest(h1):  # the network above h^1, written out independently of sim.propagate
        out = []
        h = h1
        for w, b in zip(net.weights[1:], net.biases[1:]):
            h = np.tanh(h) @ w.T + b
            out.append(h)
        return out

    eps = 1e-3
    hp, h0, hm = (rest(_circle_points(width, q, curve.theta + d, seed)) for d in (eps, 0.0, -eps))
    for l in range(1, 3):
        fd_v = (hp[l - 1] - hm[l - 1]) / (2 * eps)
        fd_a = (hp[l - 1] - 2 * h0[l - 1] + hm[l - 1]) / eps ** 2
        np.testing.assert_allclose(layers[l].position, h0[l - 1], rtol=1e-12)
        np.testing.assert_allclose(layers[l].velocity, fd_v, atol=1e-5 * np.abs(fd_v).max())
        np.testing.assert_allclose(layers[l].acceleration, fd_a, atol=1e-4 * np.abs(fd_a).max())


def test_circle_geometry_is_exact():
    c = circle(50, 0.7, 40, seed=0)
    np.testing.assert_allclose(np.sum(c.position ** 2, axis=1) / 50, 0.7, rtol=1e-13)
    np.testing.assert_allclose(np.sum(c.position * c.velocity, axis=1), 0, atol=1e-11)
    # neighbouring points have correlation cos(dtheta) (Poole Sec. 4)
    cos = np.sum(c.position * np.roll(c.position, -1, axis=0), axis=1) / (50 * 0.7)
    np.testing.assert_allclose(cos, np.cos(2 * np.pi / 40), rtol=1e-12)


def test_great_circle_has_the_endpoints_and_constant_radius():
    rng = np.random.default_rng(0)
    x_a = rng.standard_normal(30)
    x_b = rng.standard_normal(30)
    x_b *= np.linalg.norm(x_a) / np.linalg.norm(x_b)
    c = great_circle(x_a, x_b, 21)
    np.testing.assert_allclose(c.position[0], x_a, atol=1e-12)
    np.testing.assert_allclose(c.position[-1], x_b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(c.position, axis=1), np.linalg.norm(x_a), rtol=1e-12)
    # an arc of radius r has curvature 1/r
    np.testing.assert_allclose(measured_curvature(c.velocity, c.acceleration), 1 / np.linalg.norm(x_a), rtol=1e-10)


def test_great_circle_derivatives_with_changing_radius_match_finite_differences():
    rng = np.random.default_rng(1)
    x_a, x_b = rng.standard_normal(8), 3 * rng.standard_normal(8)
    fine = great_circle(x_a, x_b, 4001)
    dt = fine.theta[1] - fine.theta[0]
    fd_v = (fine.position[2:] - fine.position[:-2]) / (2 * dt)
    fd_a = (fine.position[2:] - 2 * fine.position[1:-1] + fine.position[:-2]) / dt ** 2
    np.testing.assert_allclose(fine.velocity[1:-1], fd_v, atol=1e-5 * np.abs(fd_v).max())
    np.testing.assert_allclose(fine.acceleration[1:-1], fd_a, atol=1e-4 * np.abs(fd_a).max())


def test_linear_network_keeps_segments_straight():
    """A linear network maps a segment to a segment: zero acceleration, zero curvature."""
    rng = np.random.default_rng(2)
    net = sim.RandomNetwork("linear", [10, 40, 40, 40], sigma_w=1.2, sigma_b=0.5, seed=4)
    curve = segment(rng.standard_normal(10), rng.standard_normal(10), 9)
    for state in propagate_iter(net, curve):
        assert np.abs(state.acceleration).max() < 1e-12 * np.abs(state.velocity).max()
        assert np.all(measured_curvature(state.velocity, state.acceleration) < 1e-12)


def test_float32_on_request():
    net = sim.RandomNetwork("tanh", [20, 20, 20], 2.0, 0.3, seed=0, dtype=np.float32)
    layers = propagate(net, circle(20, 1.0, 8, seed=1))
    assert all(s.position.dtype == np.float32 and s.acceleration.dtype == np.float32 for s in layers)
    ref = propagate(sim.Network("tanh", net.weights, net.biases, dtype=np.float64), circle(20, 1.0, 8, seed=1))
    np.testing.assert_allclose(layers[-1].velocity, ref[-1].velocity, rtol=1e-3, atol=1e-4)


def test_order_limits_what_is_computed():
    net = sim.RandomNetwork("tanh", [5, 5, 5], 1.0, 0.1, seed=0)
    states = propagate(net, circle(5, 1.0, 6, seed=0, layer=0), order=0)
    assert states[-1].velocity is None and states[-1].acceleration is None
    with pytest.raises(ValueError):
        propagate(net, circle(5, 1.0, 6, seed=0), order=3)


def test_bad_curves_are_rejected():
    net = sim.RandomNetwork("tanh", [5, 7, 5], 1.0, 0.1, seed=0)
    with pytest.raises(CurveError, match="width"):
        propagate(net, circle(6, 1.0, 6, seed=0))
    with pytest.raises(CurveError, match="q"):
        circle(5, -1.0, 6, seed=0)
    with pytest.raises(CurveError, match="parallel"):
        great_circle(np.ones(3), 2 * np.ones(3), 5)
