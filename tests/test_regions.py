"""Exact activation regions against combinatorial counts, invariances and forward passes."""
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from meanfield import bounds
from sim import Network, RandomNetwork
from sim.regions import (
    RegionsError,
    activation_regions_1d,
    activation_regions_2d,
    piecewise_linear,
    plane_through_points,
)

E1, E2, ZERO = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)


def _crossings(w, b):
    """All pairwise intersection points of the lines w_i . x + b_i = 0 (independent of sim)."""
    pts = []
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            pts.append(np.linalg.solve(np.stack([w[i], w[j]]), -np.array([b[i], b[j]])))
    return np.array(pts)


def _pattern(net, x, thresholds):
    hs = np.concatenate(net.forward(x), axis=1)
    return sum((hs > th).astype(np.int8) for th in thresholds)


def _regions_on_segment(res, p, q):
    """Number of 2D regions whose interior the segment p -> q passes through (Cyrus-Beck)."""
    n = 0
    d = q - p
    for r in range(res.count):
        poly = res.polygon(r)
        lo, hi = 0.0, 1.0
        for j in range(len(poly)):
            a, b = poly[j], poly[(j + 1) % len(poly)]
            normal = np.array([b[1] - a[1], a[0] - b[0]])     # outward for counter-clockwise
            num, den = normal @ (a - p), normal @ d
            if den == 0:
                if num < 0:
                    lo, hi = 1.0, 0.0
                continue
            t = num / den
            if den > 0:
                hi = min(hi, t)
            else:
                lo = max(lo, t)
        n += hi - lo > 1e-9
    return n


@pytest.mark.parametrize("phi", ["relu", "leaky_relu"])
def test_one_layer_whole_arrangement(phi):
    m = 9
    net = RandomNetwork(phi, [2, m], 1.0, 1.0, seed=3)
    pts = _crossings(net.weights[0], net.biases[0])
    R = 2 * np.abs(pts).max() + 1
    res = activation_regions_2d(net, ZERO, E1, E2, (-R, R, -R, R))
    assert res.count == 1 + m + math.comb(m, 2) == bounds.hyperplane_regions(m, 2)
    assert res.n_degenerate == 0
    assert res.n_patterns() == res.count


def test_hard_tanh_one_layer_has_parallel_pairs():
    # each unit gives the two parallel lines h = -1 and h = +1: 2m lines, m parallel pairs
    m = 6
    net = RandomNetwork("hard_tanh", [2, m], 1.0, 1.0, seed=4)
    w, b = net.weights[0], net.biases[0]
    # intersections of the non-parallel lines only
    ww, bb = np.concatenate([w, w]), np.concatenate([b - 1, b + 1])
    pts = [np.linalg.solve(np.stack([ww[i], ww[j]]), -np.array([bb[i], bb[j]]))
           for i in range(2 * m) for j in range(i + 1, 2 * m) if j != i + m]
    R = 2 * np.abs(pts).max() + 1
    res = activation_regions_2d(net, ZERO, E1, E2, (-R, R, -R, R))
    assert res.count == 1 + 2 * m + math.comb(2 * m, 2) - m
    assert set(np.unique(res.patterns)) <= {0, 1, 2}


def test_bounded_box_euler_count():
    # in a box: 1 + (#lines meeting the box) + (#crossings inside the box)
    m = 12
    net = RandomNetwork("relu", [2, m], 1.0, 1.0, seed=5)
    w, b = net.weights[0], net.biases[0]
    box = (-0.7, 0.9, -0.5, 0.6)
    corners = np.array([[box[0], box[2]], [box[1], box[2]], [box[1], box[3]], [box[0], box[3]]])
    vals = corners @ w.T + b
    L = int(np.sum((vals.min(axis=0) < 0) & (vals.max(axis=0) > 0)))
    pts = _crossings(w, b)
    P = int(np.sum((pts[:, 0] > box[0]) & (pts[:, 0] < box[1]) & (pts[:, 1] > box[2]) & (pts[:, 1] < box[3])))
    res = activation_regions_2d(net, ZERO, E1, E2, box)
    assert res.count == 1 + L + P
    assert L >= 3 and P >= 1     # the case is not trivial


def test_zero_biases_give_2m_sectors():
    m = 7
    net = RandomNetwork("relu", [2, m], 1.0, 0.0, seed=6)
    res = activation_regions_2d(net, ZERO, E1, E2, (-1, 1, -1, 1))
    assert res.count == 2 * m == bounds.central_arrangement_regions(m, 2)
    assert res.n_degenerate == 0


def _tent_network(L):
    """L tent maps T(x) = 2 relu(x) - 4 relu(x - 1/2) composed (Telgarsky's sawtooth)."""
    w1, b1 = np.array([[1.0], [1.0]]), np.array([0.0, -0.5])
    w, b = np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])
    return Network("relu", [w1] + [w] * (L - 1), [b1] + [b] * (L - 1))


@pytest.mark.parametrize("L", [1, 2, 5, 10])
def test_sawtooth_has_2_to_the_L_pieces(L):
    res = activation_regions_1d(_tent_network(L), [0.0], [1.0])
    assert res.count == 2 ** L
    per_unit = res.transitions_per_unit().reshape(L, 2)
    # unit 1 of layer l is T^{l-1}(x) >= 0: it touches 0 but never changes state
    assert np.all(per_unit[:, 0] == 0)
    assert np.all(per_unit[:, 1] == 2 ** np.arange(L))
    # the breakpoints are the dyadic points where T^{l-1}(x) = 1/2
    expected = np.sort(np.concatenate([(2 * np.arange(2 ** (l - 1)) + 1) / 2 ** l for l in range(1, L + 1)]))
    np.testing.assert_allclose(res.breakpoints, expected, atol=1e-12)
    assert res.linear.count == 2 ** L


def _net(widths, phi="relu", seed=0, sigma_b=0.3):
    return RandomNetwork(phi, widths, math.sqrt(2), sigma_b, seed=seed)


@pytest.mark.parametrize("phi", ["relu", "hard_tanh", "leaky_relu"])
def test_areas_centroids_and_grid(phi):
    net = _net([2, 12, 12, 12], phi, seed=1, sigma_b=0.5)
    box = (-2.0, 2.0, -1.5, 1.5)
    res = activation_regions_2d(net, ZERO, E1, E2, box)
    thr = piecewise_linear(phi).thresholds
    assert res.areas.min() > 0
    assert res.areas.sum() == pytest.approx(4.0 * 3.0, rel=1e-12)
    # the pattern at every centroid is the region's pattern (forward pass)
    np.testing.assert_array_equal(_pattern(net, res.points(res.centroids), thr), res.patterns)
    # every pattern seen on a grid is an exact region; the grid never sees more
    s, t = np.meshgrid(np.linspace(box[0], box[1], 301), np.linspace(box[2], box[3], 301))
    grid = _pattern(net, res.points(np.stack([s.ravel(), t.ravel()], axis=1)), thr)
    seen = {row.tobytes() for row in grid}
    exact = {row.tobytes() for row in res.patterns}
    assert seen <= exact
    assert len(seen) <= res.count
    assert res.n_patterns() == res.count
    assert res.count <= bounds.layerwise_arrangement_bound([12, 12, 12], 2, phi)


def test_2d_segments_match_1d_counts():
    net = _net([2, 10, 10, 10], seed=2)
    box = (-1.5, 1.5, -1.5, 1.5)
    res = activation_regions_2d(net, ZERO, E1, E2, box)
    rng = np.random.default_rng(0)
    for _ in range(4):
        p, q = rng.uniform(-1.4, 1.4, size=(2, 2))
        line = activation_regions_1d(net, p, q)
        assert line.count == _regions_on_segment(res, p, q)
        assert line.n_patterns() == line.count
        # the 1D pattern at each midpoint is the forward-pass pattern
        np.testing.assert_array_equal(line.patterns(), _pattern(net, line.points(line.midpoints), [0.0]))


def test_counts_within_bounds_and_1d_in_high_dimension():
    net = _net([20, 16, 16, 16], seed=7)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 20)) * 3
    line = activation_regions_1d(net, a, b)
    assert line.count <= bounds.layerwise_arrangement_bound([16, 16, 16], 1)
    assert line.linear.count <= line.count
    # transitions: every breakpoint changes at least one unit
    assert line.n_transitions >= line.count - 1
    x = line.points(line.midpoints)
    np.testing.assert_array_equal(line.patterns(), _pattern(net, x, [0.0]))
    res = activation_regions_2d(net, rng.standard_normal(20), *np.linalg.qr(rng.standard_normal((20, 2)))[0].T,
                                (-2, 2, -2, 2))
    assert res.linear.count <= res.count <= bounds.layerwise_arrangement_bound([16, 16, 16], 2)
    assert res.linear.count <= bounds.serra_upper_bound([16, 16, 16], 2)


def test_bias_scaling_lemma_6():
    # HR Lemma 6: N(x) = N_c(c x) / c with all biases times c -> same regions in c * box
    net = _net([2, 10, 10], seed=8)
    c = 3.7
    scaled = Network("relu", net.weights, [c * b for b in net.biases])
    box = (-1.0, 1.2, -0.8, 1.0)
    r1 = activation_regions_2d(net, ZERO, E1, E2, box)
    r2 = activation_regions_2d(scaled, ZERO, E1, E2, tuple(c * z for z in box))
    assert r1.count == r2.count
    assert {p.tobytes() for p in r1.patterns} == {p.tobytes() for p in r2.patterns}


def test_linear_regions_merge_dead_layers_and_readout():
    # layer 2 = relu(-sum relu(h1) - 1) is always off: the function is 0 everywhere
    w1 = np.array([[1.0, 0.2], [-0.3, 1.0], [0.7, -0.8]])
    b1 = np.array([0.1, -0.2, 0.3])
    net = Network("relu", [w1, -np.ones((1, 3))], [b1, np.array([-1.0])])
    pts = _crossings(w1, b1)
    R = 2 * np.abs(pts).max() + 1
    res = activation_regions_2d(net, ZERO, E1, E2, (-R, R, -R, R))
    assert res.count == 7
    assert res.linear.count == 1
    line = activation_regions_1d(net, [-R, -R / 3], [R, R / 2])
    assert line.linear.count == 1
    # read-out with one zero weight: that unit's line is not a linear-region boundary
    m = 6
    base = RandomNetwork("relu", [2, m], 1.0, 1.0, seed=9)
    read = np.ones((1, m))
    read[0, 2] = 0.0
    ro = Network("relu", [base.weights[0], read], [base.biases[0], np.zeros(1)])
    pts = _crossings(base.weights[0], base.biases[0])
    R = 2 * np.abs(pts).max() + 1
    res = activation_regions_2d(ro, ZERO, E1, E2, (-R, R, -R, R), readout=True)
    assert res.count == bounds.hyperplane_regions(m, 2)
    assert res.linear.count == bounds.hyperplane_regions(m - 1, 2)


def test_plane_through_points_and_plot():
    rng = np.random.default_rng(2)
    x1, x2, x3 = rng.standard_normal((3, 5))
    sec = plane_through_points(x1, x2, x3)
    assert np.allclose([sec.u @ sec.u, sec.v @ sec.v, sec.u @ sec.v], [1, 1, 0])
    for p, st in zip((x1, x2, x3), sec.points_st):
        np.testing.assert_allclose(sec.origin + st[0] * sec.u + st[1] * sec.v, p, atol=1e-12)
    net = _net([5, 8, 8], seed=3)
    res = activation_regions_2d(net, sec.origin, sec.u, sec.v, sec.box())
    fig = res.plot(upto_layer=1, points=sec.points_st)
    assert len(fig.axes) == 1
    two = plane_through_points(x1, x2)
    assert np.allclose(two.origin, 0)


def test_errors_are_value_errors():
    tanh_net = RandomNetwork("tanh", [2, 4], 1.0, 0.1, seed=0)
    with pytest.raises(RegionsError, match="piecewise-linear"):
        activation_regions_2d(tanh_net, ZERO, E1, E2, (-1, 1, -1, 1))
    with pytest.raises(RegionsError):
        activation_regions_1d(tanh_net, ZERO, E1)
    net = _net([2, 4])
    with pytest.raises(ValueError):
        activation_regions_2d(net, ZERO, E1, E1, (-1, 1, -1, 1))
    with pytest.raises(ValueError):
        activation_regions_2d(net, ZERO, E1, E2, (1, -1, -1, 1))
    with pytest.raises(ValueError):
        activation_regions_1d(net, E1, E1)
    with pytest.raises(ValueError):
        activation_regions_1d(net, np.zeros(3), E1)


def test_coincident_lines_count_once():
    # a duplicated unit draws the same line twice: the plane is cut as by m - 1 lines
    m = 6
    base = RandomNetwork("relu", [2, m - 1], 1.0, 1.0, seed=10)
    w = np.concatenate([base.weights[0], base.weights[0][:1]])
    b = np.concatenate([base.biases[0], base.biases[0][:1]])
    net = Network("relu", [w], [b])
    pts = _crossings(base.weights[0], base.biases[0])
    R = 2 * np.abs(pts).max() + 1
    res = activation_regions_2d(net, ZERO, E1, E2, (-R, R, -R, R))
    assert res.count == bounds.hyperplane_regions(m - 1, 2)
    np.testing.assert_array_equal(res.patterns[:, 0], res.patterns[:, -1])
    # on a line the two crossings coincide: one breakpoint, merged and counted
    p, q = np.array([-R, -R * 0.3]), np.array([R, R * 0.2])
    line = activation_regions_1d(net, p, q)
    crossing = np.sign(base.weights[0] @ p + base.biases[0]) != np.sign(base.weights[0] @ q + base.biases[0])
    assert crossing[0]
    assert line.count == 1 + np.count_nonzero(crossing)
    assert line.n_degenerate >= 1
    assert np.all(line.transitions_per_unit()[[0, -1]] == 1)


def _spy_low_rank(monkeypatch):
    """Record how many rows each call of the rank-|I| update kernel fills."""
    from sim.regions import line as regions

    filled = []
    real = regions.low_rank_rows

    def spy(h, rows, *args):
        filled.append(rows.size)
        return real(h, rows, *args)

    monkeypatch.setattr(regions, "low_rank_rows", spy)
    return filled


@pytest.mark.parametrize("phi", ["relu", "leaky_relu", "hard_tanh"])
@pytest.mark.parametrize("depth, width", [(3, 16), (4, 40), (7, 24), (3, 120)])
def test_low_rank_sweep_matches_dense_products(phi, depth, width, monkeypatch):
    # The default sweep interpolates h^l at the points layer l - 1 inserted and adds one
    # column of W^l per crossing unit; the reference multiplies W^l x at every point.
    net = _net([6] + [width] * depth, phi, seed=depth * width, sigma_b=0.5)
    a, b = np.random.default_rng(depth + width).standard_normal((2, 6)) * 4
    from sim.regions import line as regions

    filled = _spy_low_rank(monkeypatch)
    monkeypatch.setattr(regions, "_CHECK_ROWS", 0)     # no spot checks: no way back to products
    fast = activation_regions_1d(net, a, b)
    monkeypatch.undo()
    assert sum(filled) > 0                      # the update path was taken
    ref = activation_regions_1d(net, a, b, method="dense")
    assert fast.count == ref.count and fast.n_degenerate == ref.n_degenerate
    np.testing.assert_allclose(fast.breakpoints, ref.breakpoints, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(fast.patterns(), ref.patterns())
    np.testing.assert_array_equal(fast.transition_unit, ref.transition_unit)
    # and both are the forward-pass patterns at the pieces' midpoints
    thr = piecewise_linear(phi).thresholds
    np.testing.assert_array_equal(fast.patterns(), _pattern(net, fast.points(fast.midpoints), thr))


def test_low_rank_polyline_and_fallback_to_products(monkeypatch):
    from sim.regions import line as regions

    net = _net([4, 32, 32, 32, 32], "hard_tanh", seed=11, sigma_b=0.5)
    path = np.random.default_rng(3).standard_normal((4, 4)) * 3
    ref = regions.activation_regions_path(net, path, method="dense")
    fast = regions.activation_regions_path(net, path)
    np.testing.assert_allclose(fast.breakpoints, ref.breakpoints, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(fast.patterns(), ref.patterns())
    # a spot check that fails sends the layer back to products: same regions
    monkeypatch.setattr(regions, "_CHECK_RTOL", -1.0)
    forced = regions.activation_regions_path(net, path)
    np.testing.assert_array_equal(forced.patterns(), ref.patterns())
    np.testing.assert_allclose(forced.breakpoints, ref.breakpoints, rtol=1e-10, atol=1e-13)
    with pytest.raises(RegionsError, match="method"):
        regions.activation_regions_path(net, path, method="fast")


def test_regions_meeting_a_window_against_grid_sampling():
    """ActivationRegions2D.meeting: every pattern seen on a fine grid inside the window is counted, every region
    whose centroid lies inside is counted, and no region entirely outside the window's bounding box is."""
    net = RandomNetwork("relu", [2, 6, 6], 1.5, 0.5, seed=11)
    res = activation_regions_2d(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), (-4, 4, -4, 4))
    window = (-1.0, 0.5, -0.7, 1.2)
    meet = res.meeting(window)
    s, t = np.meshgrid(np.linspace(window[0], window[1], 302)[1:-1], np.linspace(window[2], window[3], 302)[1:-1])
    pts = np.stack([s.ravel(), t.ravel()], 1)
    grid_patterns = {tuple(np.concatenate([h > 0 for h in net.forward(p[None])], axis=1)[0]) for p in pts}
    counted = {tuple(res.patterns[r] > 0) for r in np.flatnonzero(meet)}
    assert grid_patterns <= counted
    c = res.centroids
    inside = (c[:, 0] > window[0]) & (c[:, 0] < window[1]) & (c[:, 1] > window[2]) & (c[:, 1] < window[3])
    assert np.all(meet[inside])
    for r in np.flatnonzero(meet):
        poly = res.polygon(r)
        assert poly[:, 0].max() > window[0] and poly[:, 0].min() < window[1]
        assert poly[:, 1].max() > window[2] and poly[:, 1].min() < window[3]
    assert res.meeting(res.box).all() and not res.meeting((10, 11, 10, 11)).any()
