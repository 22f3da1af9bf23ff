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


def test_construction_is_cached_by_normalised_spec():
    """The same phi by any spelling is one object (sympy work happens once); pickling keeps it."""
    import pickle
    a = Nonlinearity("tanh")
    assert Nonlinearity(" Tanh ") is a and Nonlinearity(a) is a
    assert Nonlinearity("silu") is Nonlinearity("swish")
    assert pickle.loads(pickle.dumps(a)) is a
    b = Nonlinearity("x*tanh(x) + x/7")
    assert Nonlinearity("x*tanh(x) + x/7") is b and b is not a
    assert Nonlinearity(sp.tanh(sp.Symbol("x", real=True))).pw == a.pw


def test_expression_error_is_a_meanfield_error():
    from meanfield import ExpressionError, MeanFieldError
    assert issubclass(ExpressionError, MeanFieldError)
    with pytest.raises(MeanFieldError, match="unknown name .y."):
        Nonlinearity("x + y")


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "swish"])
def test_every_printer_knows_sigmoid_and_softplus(name):
    """The numpy, scalar (kernel) and mpmath forms, all printed by sympy from the one definition in
    meanfield.expression, agree with the defining formulas at 50 digits, overflow range included."""
    import mpmath as mp

    from meanfield.expression import x as X_
    f = Nonlinearity(name)
    mp.mp.dps = 50
    def sig(t):
        return 1 / (1 + mp.exp(-t))
    ref = {"sigmoid": sig, "softplus": lambda t: mp.log(1 + mp.exp(t)), "swish": lambda t: t * sig(t)}[name]
    ts = [-745.0, -40.0, -1.5, 0.0, 0.3, 2.0, 40.0, 745.0]
    scalar = sp.lambdify(X_, f.pw, "math")             # PythonCodePrinter: the kernels' scalar forms
    mpf = sp.lambdify(X_, f.pw, "mpmath")
    for t in ts:
        want = float(ref(mp.mpf(t)))
        assert f.phi(np.array([t]))[0] == pytest.approx(want, rel=1e-15, abs=1e-300)
        assert scalar(t) == pytest.approx(want, rel=1e-15, abs=1e-300)
        assert float(mpf(mp.mpf(t))) == pytest.approx(want, rel=1e-15, abs=1e-300)
    code = f.scalar_code()["phi"]
    assert code.startswith("def phi(x):") and "math." in code and "_sigmoid" not in code
