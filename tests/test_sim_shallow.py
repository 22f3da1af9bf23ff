"""Theorem 1 (Poole et al. 2016, App. C): shallow networks cannot make curves long."""
import numpy as np
import pytest

import sim
from sim.expressivity.shallow import activation_lengths, check_poole_theorem1, optimised_shallow_network, sign_changes
from sim.geometry.curves import circle, segment


def test_sign_changes_of_circle_and_segment_and_a_wiggly_curve():
    assert sign_changes(circle(6, 1.0, 200, seed=0, layer=0)) == 1  # Poole Sec. 5: s = 1 for the circle
    assert sign_changes(segment(np.zeros(4), np.ones(4), 10)) == 0
    # x(t) = (cos 3t, sin 3t) on one period: projections of the velocity are sinusoids with 6 sign
    # changes, i.e. 6 monotone pieces and s = 5
    t = 2 * np.pi * np.arange(300) / 300
    pos = np.stack([np.cos(3 * t), np.sin(3 * t)], axis=1)
    vel = 3 * np.stack([-np.sin(3 * t), np.cos(3 * t)], axis=1)
    assert sign_changes(sim.Curve(t, pos, vel, -9 * pos, layer=0, closed=True)) == 5


def test_activation_length_of_one_steep_unit_is_its_range_per_monotone_piece():
    """A unit tanh(g w.x) with g large sweeps from -1 to 1 on each half of the circle: length 2 R = 4."""
    c = circle(3, 1.0, 4000, seed=1, layer=0)
    w = 200.0 * c.velocity[0] / np.linalg.norm(c.velocity[0])
    net = sim.Network("tanh", [w[None, :]], [np.zeros(1)])
    assert activation_lengths(net, c)[0] == pytest.approx(4.0, rel=1e-3)


def test_random_and_optimised_shallow_networks_respect_the_bound():
    c = circle(5, 1.0, 3000, seed=2, layer=0)
    check = check_poole_theorem1("tanh", c, 8)
    assert check.s == 1 and check.R == 2.0 and check.bound == 8 * 2 * 2.0
    assert check.holds
    # the deliberate construction gets close to the bound, so the bound is tight
    assert check.optimised_length > 0.95 * check.bound
    assert np.all(check.random_lengths < check.optimised_length)


def test_deep_chaotic_network_exceeds_the_shallow_bound_at_modest_depth():
    """Normalised: a shallow tanh net has L_E / sqrt(N1) <= 4 sqrt(N1) on a circle (2 sqrt(N1) as quoted by
    Poole); a deep chaotic net of the same width passes it after a few layers."""
    width = 200
    bound = 4 * np.sqrt(width)
    net = sim.RandomNetwork("tanh", [width] * 9, 4.0, 0.3, seed=0)
    lengths = activation_lengths(net, circle(width, 12.6, 2000, seed=1)) / np.sqrt(width)
    assert lengths[0] < bound
    assert np.any(lengths > bound) and lengths[-1] > 2 * bound


def test_theorem1_rejects_unbounded_phi():
    with pytest.raises(ValueError, match="bounded"):
        check_poole_theorem1("relu", circle(3, 1.0, 50, seed=0, layer=0), 4)
    with pytest.raises(ValueError, match="layer=0"):
        optimised_shallow_network("tanh", circle(3, 1.0, 50, seed=0), 2)
