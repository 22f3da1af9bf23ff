"""The layout of sim: one error base, exports that resolve, one sign-change count, one forward pass."""
import importlib
import inspect
import itertools
import pkgutil

import numpy as np
import pytest

import sim
from sim.errors import SimError
from sim.expressivity.sign_changes import count_sign_changes

_LAZY = ("sim.training", "sim.sweeps", "sim.experiments")    # need JAX / Dask


def _modules():
    for info in pkgutil.walk_packages(sim.__path__, "sim."):
        if info.name.startswith(_LAZY):
            continue
        yield importlib.import_module(info.name)


def test_every_sim_error_derives_from_sim_error():
    errors = {obj for mod in _modules() for _, obj in inspect.getmembers(mod, inspect.isclass)
              if issubclass(obj, Exception) and obj.__module__.startswith("sim.")}
    assert len(errors) >= 15          # curves, regions, boundary, validation, network, data, ...
    assert all(issubclass(e, SimError) for e in errors), [e for e in errors if not issubclass(e, SimError)]


def test_exports_resolve_and_include_result_types():
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    for result in ("ActivationRegions1D", "ActivationRegions2D", "TrajectoryLength", "ValidationReport",
                   "CurveGeometry", "LayerCurve", "ShallowCheck", "FourierFit", "BoundaryCurvatures",
                   "WeightChaosResult", "Transitions", "PatternsAlong", "Dichotomies", "PCASpectrum"):
        assert inspect.isclass(getattr(sim, result))


def _reference_sign_changes(column, closed):
    """Sign changes of the nonzero entries in order, written out as a loop."""
    s = [np.sign(v) for v in column if v != 0]
    n = sum(a != b for a, b in itertools.pairwise(s))
    return n + (closed and len(s) > 1 and s[-1] != s[0])


@pytest.mark.parametrize("closed", [False, True])
def test_count_sign_changes_matches_a_loop(closed):
    rng = np.random.default_rng(0)
    values = rng.integers(-2, 3, size=(40, 200)).astype(float)     # many zeros, runs and returns
    values[:, 0] = 0.0
    values[:, 1] = [0.0] * 39 + [1.0]
    expected = [_reference_sign_changes(values[:, j], closed) for j in range(values.shape[1])]
    np.testing.assert_array_equal(count_sign_changes(values, closed=closed), expected)


def test_forward_mode_second_derivatives_match_finite_differences():
    # d^2 h^D / dx_a dx_b by central differences of the first derivatives along direction b
    net = sim.RandomNetwork("tanh", [3, 7, 6, 5], 1.7, 0.4, seed=2)
    x = np.random.default_rng(1).standard_normal(3)
    eye = np.eye(3)[:, None, :]
    *_, last = net.forward_mode(x[None], eye, order=2)
    eps = 1e-5
    for b in range(3):
        *_, up = net.forward_mode((x + eps * eye[b, 0])[None], eye, order=1)
        *_, down = net.forward_mode((x - eps * eye[b, 0])[None], eye, order=1)
        np.testing.assert_allclose(last.d2h[:, b], (up.dh - down.dh) / (2 * eps), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(last.d2h, np.swapaxes(last.d2h, 0, 1), rtol=1e-13, atol=1e-15)   # symmetric
    # the stacked product has more rows than forward's, so BLAS may round differently
    np.testing.assert_allclose(last.h, net.forward(x[None])[-1], rtol=1e-14, atol=1e-15)
