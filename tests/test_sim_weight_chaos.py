"""Weight chaos (Poole et al. 2016, SM App. F): simulated function-space correlation against the theory."""
import numpy as np
import pytest

from meanfield import MeanField
from sim.networks.weight_chaos import simulate_weight_chaos, weight_correlation, weight_family


def test_weight_correlation_of_the_family():
    assert weight_correlation(0.0, 0.0) == 1.0
    assert weight_correlation(0.0, 1.0) == pytest.approx(0.0, abs=1e-15)
    assert weight_correlation(0.6, -0.6) == pytest.approx(0.8 * 0.8 - 0.36)
    nets = weight_family("tanh", [400, 400, 400], 2.0, 0.3, 2, (0.0, 0.6), seed=0)
    w_a, w_b = nets[0].weights[1], nets[1].weights[1]
    # empirical correlation of the moved matrices, and the same variance sigma_w^2 / N
    assert np.corrcoef(w_a.ravel(), w_b.ravel())[0, 1] == pytest.approx(0.8, abs=0.01)
    assert w_b.var() * 400 == pytest.approx(4.0, rel=0.02)
    np.testing.assert_array_equal(nets[0].weights[0], nets[1].weights[0])


@pytest.mark.parametrize("layer", [2, 4])
def test_simulated_function_space_correlation_follows_the_recursion(layer):
    sw, sb, width, depth = 2.5, 0.3, 400, 9
    mf = MeanField("tanh", sw, sb)
    tau1, tau2 = 0.0, 0.5
    sim_c = simulate_weight_chaos("tanh", sw, sb, mf.q_star(), width=width, depth=depth, layer=layer,
                                  tau1=tau1, tau2=tau2, n_points=40, seed=3)
    theory = mf.weight_chaos(weight_correlation(tau1, tau2), layer, depth)
    np.testing.assert_allclose(sim_c.c[: layer - 1], 1.0, atol=1e-12)  # identical below the moved layer
    np.testing.assert_allclose(sim_c.c, theory, atol=0.05 * np.sqrt(1000 / width))
    assert sim_c.c[-1] < sim_c.c[layer - 1] - 0.05  # chaos: the two functions keep decorrelating


def test_layer_one_needs_a_positive_sigma_w():
    # with sigma_w = 0, h^1 = b does not depend on the input: no x^0 puts h^1 at q* > sigma_b^2
    from sim.networks.network import NetworkError
    with pytest.raises(NetworkError, match="sigma_w > 0") as info:
        simulate_weight_chaos("tanh", 0.0, 0.3, 1.0, width=20, depth=3, layer=1, tau1=0.0, tau2=0.5,
                              n_points=5, seed=0)
    assert "\n" not in str(info.value)
