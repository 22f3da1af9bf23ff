"""meanfield.bounds against closed forms, hand counts and the papers' stated values."""
import math

import pytest

from meanfield import bounds


def _brute_regions_on_line(m):
    # m distinct points cut a line into m + 1 intervals
    return m + 1


def test_hyperplane_regions_small_cases():
    # lines in the plane: 1 + m + C(m, 2) (each new line crosses all earlier ones)
    for m in range(8):
        assert bounds.hyperplane_regions(m, 2) == 1 + m + m * (m - 1) // 2
        assert bounds.hyperplane_regions(m, 1) == _brute_regions_on_line(m)
    # m <= n: every sign vector is realised, 2^m regions (HR eq. 4)
    for m in range(6):
        assert bounds.hyperplane_regions(m, 6) == 2 ** m
    # 3D: planes in general position, recurrence r(m, n) = r(m-1, n) + r(m-1, n-1)
    for m in range(1, 9):
        assert bounds.hyperplane_regions(m, 3) == (bounds.hyperplane_regions(m - 1, 3)
                                                   + bounds.hyperplane_regions(m - 1, 2))


def test_central_arrangement():
    for m in range(1, 10):
        assert bounds.central_arrangement_regions(m, 2) == 2 * m
        assert bounds.central_arrangement_regions(m, 1) == 2
    # through-origin arrangement in R^n is twice the generic one in R^{n-1} of m-1 planes
    assert bounds.central_arrangement_regions(5, 3) == 2 * bounds.hyperplane_regions(4, 2)


def test_hanin_rolnick_values_from_paper():
    # HR Fig. 5: depth 3 x width 32 -> 96^2 / 2! = 4608
    assert bounds.hanin_rolnick_heuristic(96, 2) == 4608
    assert bounds.hanin_rolnick_bound(96, 2) == 4608
    assert bounds.hanin_rolnick_bound(96, 2, T=2.0, volume=3.0) == 3 * 192 ** 2 / 2
    assert bounds.hanin_rolnick_bound(3, 5) == 8          # #neurons < n_in: 2^#neurons
    assert bounds.hanin_rolnick_heuristic(96, 1) == 96     # HR Fig. 4: about #neurons on a line


def test_raghu_pattern_bounds_as_stated():
    assert bounds.raghu_pattern_bound(4, 3, 2, "relu") == 4 ** 6
    assert bounds.raghu_pattern_bound(4, 3, 2, "hard_tanh") == 8 ** 6
    with pytest.raises(ValueError):
        bounds.raghu_pattern_bound(4, 3, 2, "tanh")


def test_layerwise_bound_is_eq4_for_one_layer_and_product_otherwise():
    assert bounds.layerwise_arrangement_bound([7], 2) == bounds.hyperplane_regions(7, 2)
    assert bounds.layerwise_arrangement_bound([7], 2, "hard_tanh") == bounds.hyperplane_regions(14, 2)
    assert bounds.layerwise_arrangement_bound([3, 4], 2) == 7 * 11


def test_serra_reduces_to_eq4_and_exact_1d_value():
    for m in range(1, 9):
        for n in range(1, 4):
            assert bounds.serra_upper_bound([m], n) == bounds.hyperplane_regions(m, n)
    # Serra et al.: for n_0 = 1 the bound is prod (N_l + 1) when every N_l >= 2
    for widths in ([2, 2], [3, 5, 2], [4, 4, 4, 4]):
        assert bounds.serra_upper_bound(widths, 1) == math.prod(n + 1 for n in widths)


def test_serra_matches_definition_by_enumeration():
    # direct enumeration of J from the definition, written independently
    widths, n0 = [3, 2, 4], 2
    total = 0
    for j1 in range(0, 4):
        for j2 in range(0, 4):
            for j3 in range(0, 5):
                if j1 <= min(n0, widths[0]) and j2 <= min(n0, widths[0] - j1, widths[1]) and \
                        j3 <= min(n0, widths[0] - j1, widths[1] - j2, widths[2]):
                    total += math.comb(3, j1) * math.comb(2, j2) * math.comb(4, j3)
    assert bounds.serra_upper_bound(widths, n0) == total


def test_montufar_below_serra():
    for widths in ([4, 4], [6, 6, 6], [8, 4, 8], [10, 10, 10, 10]):
        lo = bounds.montufar_lower_bound(widths, 2)
        hi = bounds.serra_upper_bound(widths, 2)
        assert lo <= hi
    # one layer: Montufar's formula is eq. 4
    assert bounds.montufar_lower_bound([9], 2) == bounds.hyperplane_regions(9, 2)
    # hand value: widths (4, 4), n0 = 2: floor(4/2)^2 * (1 + 4 + 6) = 44
    assert bounds.montufar_lower_bound([4, 4], 2) == 44
    with pytest.raises(ValueError):
        bounds.montufar_lower_bound([1, 4], 2)


def test_raghu_growth_factor_hand_values():
    # sigma_b = 0, sigma_w = 2, k = 2:  2/sqrt(2) * sqrt(2)/sqrt(2 + 2) = 1
    assert bounds.raghu_growth_factor(2.0, 0.0, 2) == pytest.approx(1.0, rel=1e-15)
    # large k: factor -> sigma_w / (sigma_w^2 + sigma_b^2)^(1/4)
    assert bounds.raghu_growth_factor(4.0, 3.0, 10 ** 12) == pytest.approx(4 / math.sqrt(5), rel=1e-5)
    f = bounds.raghu_growth_factor(3.0, 1.0, 50)
    assert bounds.raghu_trajectory_lower_bound(3.0, 1.0, 50, 7, 2.5) == pytest.approx(2.5 * f ** 7)


def test_shallow_length_bound():
    # Poole Theorem 1 with tanh (R = 2) on a circle (s = 1): 4 N1
    assert bounds.shallow_length_bound(100, 1, 2.0) == 400
    with pytest.raises(ValueError):
        bounds.shallow_length_bound(10, 1, math.inf)


def test_optimal_width_slides():
    res = bounds.optimal_width_fixed_neurons(60, 2, "relu")
    assert res.k_continuous == pytest.approx(math.e)
    assert res.k_integer == 3                      # slides: "k = 3"
    logs = res.log_bound
    assert all(logs[k] > logs[k + 1] for k in range(3, 59))   # decreasing for k >= 3
    ht = bounds.optimal_width_fixed_neurons(60, 2, "hard_tanh")
    assert ht.k_continuous == pytest.approx(math.e / 2)
    assert ht.k_integer in (1, 2)                  # (2k)^(1/k) ties at k = 1 and 2


def test_bad_arguments_raise_value_errors():
    for call in (lambda: bounds.hyperplane_regions(-1, 2), lambda: bounds.hyperplane_regions(2.5, 2),
                 lambda: bounds.hanin_rolnick_bound(10, 0), lambda: bounds.raghu_growth_factor(0, 1, 3),
                 lambda: bounds.serra_upper_bound([], 2)):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("bad", [None, "x", "3", float("nan"), float("inf"), 2.5, -1, True])
def test_size_arguments_that_are_not_integers_raise_bound_error(bad):
    # every non-integer reaches BoundError (never int()'s TypeError/ValueError/OverflowError)
    with pytest.raises(bounds.BoundError, match="m must be a non-negative integer"):
        bounds.hyperplane_regions(bad, 2)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), None, "long"])
def test_trajectory_bound_checks_input_length(bad):
    with pytest.raises(bounds.BoundError, match="input_length"):
        bounds.raghu_trajectory_lower_bound(1.0, 0.5, 10, 3, input_length=bad)


def test_trajectory_bound_is_linear_in_input_length():
    # RPK Theorem 1: the bound is factor^d * l(x); l(x) = 0 is a point, whose image has length 0
    f = bounds.raghu_growth_factor(2.0, 0.5, 10)
    assert bounds.raghu_trajectory_lower_bound(2.0, 0.5, 10, 3, input_length=2.5) == pytest.approx(2.5 * f ** 3)
    assert bounds.raghu_trajectory_lower_bound(2.0, 0.5, 10, 3, input_length=0.0) == 0.0
