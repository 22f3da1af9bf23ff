"""Nonlinearity: symbolic forms, kinks, Dirac-delta flags and numeric forms against
independent definitions."""
import math

import numpy as np
import pytest
import scipy.special
import sympy as sp

from meanfield import Nonlinearity, registry_names

X = np.linspace(-6, 6, 241) + 1e-3  # avoid landing exactly on kinks

INDEPENDENT = {
    "tanh": (np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0) * 1.0),
    "hard_tanh": (lambda u: np.clip(u, -1, 1), lambda u: (np.abs(u) < 1) * 1.0),
    "erf": (scipy.special.erf, lambda u: 2 / math.sqrt(math.pi) * np.exp(-u ** 2)),
    "sigmoid": (scipy.special.expit, lambda u: scipy.special.expit(u) * (1 - scipy.special.expit(u))),
    "softplus": (lambda u: np.logaddexp(0, u), scipy.special.expit),
    "swish": (lambda u: u * scipy.special.expit(u), None),
    "elu": (lambda u: np.where(u > 0, u, np.expm1(np.minimum(u, 0))), None),
    "sin": (np.sin, np.cos),
    "abs": (np.abs, np.sign),
    "linear": (lambda u: u, lambda u: np.ones_like(u)),
}


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_numeric_phi_and_derivative_match_independent_definitions(name):
    f = Nonlinearity(name)
    ref, dref = INDEPENDENT[name]
    np.testing.assert_allclose(f.phi(X), ref(X), rtol=1e-13, atol=1e-15)
    if dref is not None:
        np.testing.assert_allclose(f.dphi(X), dref(X), rtol=1e-12, atol=1e-15)


def test_registry_has_every_required_name():
    for n in ["tanh", "hard_tanh", "relu", "leaky_relu", "erf", "sigmoid", "softplus", "swish", "silu",
              "gelu", "elu", "selu", "sin", "linear", "abs"]:
        assert n in registry_names()
        Nonlinearity(n)


@pytest.mark.parametrize("name, kinks, d1, d2, pwl", [
    ("relu", (0.0,), False, True, True),
    ("hard_tanh", (-1.0, 1.0), False, True, True),
    ("selu", (0.0,), False, True, False),
    ("elu", (0.0,), False, False, False),   # phi' continuous at 0: exp(0) = 1
    ("tanh", (), False, False, False),
    ("sign(x)", (0.0,), True, True, True),
])
def test_kinks_and_dirac_delta_flags(name, kinks, d1, d2, pwl):
    f = Nonlinearity(name)
    assert f.kinks == kinks
    assert (f.delta_in_d1, f.delta_in_d2, f.is_piecewise_linear) == (d1, d2, pwl)


def test_large_arguments_do_not_overflow():
    big = np.array([-800.0, 800.0])
    np.testing.assert_allclose(Nonlinearity("softplus").phi(big), [0.0, 800.0])
    np.testing.assert_allclose(Nonlinearity("sigmoid").phi(big), [0.0, 1.0])


def test_range_and_monotonicity_for_theorem_1():
    assert Nonlinearity("tanh").range == pytest.approx(2.0)
    assert Nonlinearity("sigmoid").range == pytest.approx(1.0)
    assert math.isinf(Nonlinearity("relu").range)
    assert Nonlinearity("tanh").is_monotone and not Nonlinearity("sin").is_monotone


def test_second_derivative_is_symbolic_derivative():
    f = Nonlinearity("x*tanh(x)")
    x = sp.Symbol("x", real=True)
    expected = sp.lambdify(x, sp.diff(x * sp.tanh(x), x, 2))
    np.testing.assert_allclose(f.d2phi(X), expected(X), rtol=1e-12, atol=1e-14)
