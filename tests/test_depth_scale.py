"""The one depth-scale formula xi = -1/log|chi|, its edge cases, and that grids and points agree."""
import math

import numpy as np
import pytest

import meanfield as mf
from meanfield.depth_scale import depth_scale


@pytest.mark.parametrize("xi", [0.5, 1.0, 5.0, 123.0])
def test_depth_scale_inverts_exponential_decay(xi):
    # a deviation multiplied by chi = exp(-1/xi) per layer decays by e in xi layers, alternating or not
    assert depth_scale(math.exp(-1 / xi)) == pytest.approx(xi, rel=1e-14)
    assert depth_scale(-math.exp(-1 / xi)) == pytest.approx(xi, rel=1e-14)


def test_depth_scale_edges_and_arrays():
    assert depth_scale(0.0) == 0.0 and depth_scale(1.0) == math.inf and depth_scale(-1.0) == math.inf
    out = depth_scale(np.array([math.exp(-1 / 3), np.nan, 1.0 + 1e-12]))
    assert out[0] == pytest.approx(3.0, rel=1e-14) and np.isnan(out[1]) and out[2] == math.inf


def test_phase_diagram_and_mean_field_give_the_same_depth_scales():
    pd = mf.phase_diagram("tanh", [2.5], [0.3])
    ds = mf.MeanField("tanh", 2.5, 0.3).depth_scales()
    assert pd.xi_q[0, 0] == pytest.approx(ds.xi_q, rel=1e-8)
    assert pd.xi_c[0, 0] == pytest.approx(ds.xi_c, rel=1e-8)
