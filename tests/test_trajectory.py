"""Trajectory length, transitions, patterns and dichotomies against closed forms."""

import numpy as np
import pytest

from meanfield import bounds
from sim import Network, RandomNetwork
from sim.expressivity.trajectory import (
    dichotomies,
    length_growth_upper_bound,
    patterns_along,
    raghu_theorem1_rate,
    trajectory_length,
    transitions,
)
from sim.geometry.curves import great_circle
from sim.regions import RegionsError


def test_linear_network_lengths_are_matrix_products():
    net = RandomNetwork("linear", [5, 7, 6, 4], 1.3, 0.4, seed=0)
    a, b = np.random.default_rng(0).standard_normal((2, 5))
    res = trajectory_length(net, np.stack([a, b]))
    d = b - a
    expected = [np.linalg.norm(d)]
    for w in net.weights:
        d = w @ d
        expected.append(np.linalg.norm(d))
    np.testing.assert_allclose(res.length_h, expected, rtol=1e-12)
    np.testing.assert_allclose(res.length_x, expected, rtol=1e-12)
    np.testing.assert_allclose(res.growth_ratio(), np.array(expected[2:]) / expected[1:-1], rtol=1e-12)


def test_exact_piecewise_linear_length_matches_fine_sampling():
    net = RandomNetwork("hard_tanh", [3, 30, 30, 30], 3.0, 0.5, seed=1)
    a, b = np.random.default_rng(1).standard_normal((2, 3))
    exact = trajectory_length(net, np.stack([a, b]))
    t = np.linspace(0, 1, 200_001)[:, None]
    hs = net.forward(a + t * (b - a))
    sampled = [np.linalg.norm(np.diff(np.clip(h, -1, 1), axis=0), axis=1).sum() for h in hs]
    assert np.all(exact.length_x[1:] >= np.array(sampled) * (1 - 1e-12))
    np.testing.assert_allclose(exact.length_x[1:], sampled, rtol=1e-5)


@pytest.mark.parametrize("phi", ["tanh", "hard_tanh"])
def test_poole_shallow_bound_holds(phi):
    # Poole Theorem 1: one hidden layer, monotone phi with range R = 2, circle (s = 1)
    n1 = 50
    net = RandomNetwork(phi, [10, n1], 4.0, 1.0, seed=2)
    x1, x2 = np.random.default_rng(2).standard_normal((2, 10)) * 3
    circle = great_circle(x1, x2, 2001)
    res = trajectory_length(net, circle)
    assert res.length_x[1] <= bounds.shallow_length_bound(n1, 1, 2.0)


def test_first_layer_sign_changes_closed_form():
    net = RandomNetwork("relu", [4, 40, 20], 1.5, 0.5, seed=3)
    a, b = np.random.default_rng(3).standard_normal((2, 4)) * 2
    tr = transitions(net, np.stack([a, b]))
    h_a, h_b = net.forward(np.stack([a, b]))[0]
    # h^1 is affine along a segment: a unit changes sign iff its end values differ in sign
    assert tr.sign_changes[0] == np.count_nonzero(np.sign(h_a) != np.sign(h_b))
    assert tr.state_changes[0] == tr.sign_changes[0]      # relu: state = sign
    # a dense sampling can only miss sign changes
    t = np.linspace(0, 1, 20_001)[:, None]
    h2 = net.forward(a + t * (b - a))[1]
    sampled = np.count_nonzero(np.diff(np.sign(h2), axis=0) != 0)
    assert sampled <= tr.sign_changes[1]


def test_sawtooth_transitions():
    w1, b1 = np.array([[1.0], [1.0]]), np.array([0.0, -0.5])
    w, b = np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])
    L = 6
    net = Network("relu", [w1] + [w] * (L - 1), [b1] + [b] * (L - 1))
    tr = transitions(net, np.array([[0.0], [1.0]]))
    np.testing.assert_array_equal(tr.state_changes, 2 ** np.arange(L))


def test_patterns_along_closed_polyline_one_layer():
    m = 15
    net = RandomNetwork("relu", [2, m], 1.0, 0.5, seed=4)
    theta = np.linspace(0, 2 * np.pi, 400)
    pts = np.stack([np.cos(theta), np.sin(theta)], axis=1) * 1.3
    res = patterns_along(net, pts)
    # independent count: segment p->q crosses line w.x + b = 0 iff the end values differ in sign
    v = pts @ net.weights[0].T + net.biases[0]
    crossings = np.count_nonzero(np.sign(v[1:]) != np.sign(v[:-1]))
    assert res.n_pieces == 1 + crossings
    assert res.n_patterns <= res.n_pieces - 1          # the curve closes on its first region


def test_dichotomies_cover_count_and_seed():
    pts = np.array([[1.0, 0.2], [-0.5, 0.9], [-0.4, -1.1]])
    d = dichotomies("relu", [2, 8, 8], 1.0, 1.0, pts, 1500, seed=5)
    # layer 1: affine sign labellings of 3 points in general position in R^2: all 2^3 (Cover)
    assert d.count[0] == 8
    assert np.all(d.count <= min(1500, 2 ** 3))
    again = dichotomies("relu", [2, 8, 8], 1.0, 1.0, pts, 1500, seed=5)
    np.testing.assert_array_equal(d.count, again.count)
    one = dichotomies("relu", [2, 8], 1.0, 1.0, pts[:1], 200, seed=6)
    assert one.count[0] == 2


def test_theorem1_bound_and_errors():
    # the paper's factor by hand: sigma_b = 0, sigma_w = 4, k = 12: sqrt(sigma_w k / (sigma_w + k)) = sqrt(3);
    # sigma_w = 3, sigma_b = 4 (norm 5), k = 20: 3 / sqrt(5) * sqrt(20 / 25) = 6/5
    np.testing.assert_allclose(raghu_theorem1_rate(4.0, 0.0, 12, 5, 2.0), 2.0 * np.sqrt(3.0) ** np.arange(6),
                               rtol=1e-14)
    np.testing.assert_allclose(raghu_theorem1_rate(3.0, 4.0, 20, 3, 1.0), 1.2 ** np.arange(4), rtol=1e-14)
    net = RandomNetwork("tanh", [2, 5], 1.0, 0.1, seed=0)
    with pytest.raises(RegionsError):
        transitions(net, np.array([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        trajectory_length(net, np.zeros((1, 2)))
    # smooth phi: polyline lengths converge as the curve is refined
    a, b = np.array([0.0, -1.0]), np.array([1.0, 2.0])
    fine = trajectory_length(net, a + np.linspace(0, 1, 4001)[:, None] * (b - a))
    coarse = trajectory_length(net, a + np.linspace(0, 1, 401)[:, None] * (b - a))
    np.testing.assert_allclose(coarse.length_x, fine.length_x, rtol=1e-4)


def test_length_growth_upper_bound_closed_forms_and_tightness():
    # chi-distribution means: E|g| = sqrt(2/pi) for k = 1, sqrt(pi/2) for k = 2, -> sqrt(k) for large k
    assert length_growth_upper_bound(2.0, 1) == pytest.approx(2.0 * np.sqrt(2 / np.pi), rel=1e-14)
    assert length_growth_upper_bound(2.0, 2) == pytest.approx(2.0 * np.sqrt(np.pi / 2) / np.sqrt(2), rel=1e-14)
    assert length_growth_upper_bound(3.0, 10 ** 6) == pytest.approx(3.0, rel=1e-6)
    assert length_growth_upper_bound(3.0, 10) < 3.0
    with pytest.raises(RegionsError):
        length_growth_upper_bound(1.0, 0)
    # equality for linear phi: the mean ratio over 400 networks of width 5 matches c within 4 standard errors
    rng = np.random.default_rng(3)
    x = great_circle(rng.standard_normal(5), rng.standard_normal(5), 64).position
    ratios = [trajectory_length(RandomNetwork("linear", [5, 5, 5], 1.5, 0.3, seed=s), x).growth_ratio()[0]
              for s in range(400)]
    c = length_growth_upper_bound(1.5, 5)
    assert abs(np.mean(ratios) - c) < 4 * np.std(ratios) / np.sqrt(400)
    # hard tanh (1-Lipschitz) stays below it
    ht = [trajectory_length(RandomNetwork("hard_tanh", [5, 5, 5], 1.5, 0.3, seed=s), x).growth_ratio()[0]
          for s in range(200)]
    assert np.mean(ht) < c
