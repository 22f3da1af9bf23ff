"""Safe expression parsing: valid input gives the right sympy expression; anything that
could execute code, hang or is not a function of x is refused with a named token."""
import pytest
import sympy as sp

from meanfield import ExpressionError, Nonlinearity, parse_expression
from meanfield.expression import x


@pytest.mark.parametrize("text, expected", [
    ("x*tanh(x)", x * sp.tanh(x)),
    ("atan(x) + x/10", sp.atan(x) + x / 10),
    ("Max(0, x)", sp.Max(0, x)),
    ("Piecewise((x, x > 0), (exp(x) - 1, True))", sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True))),
    ("-x**2 + 2*pi*E", -x ** 2 + 2 * sp.pi * sp.E),
    ("abs(x) + sqrt(2)", sp.Abs(x) + sp.sqrt(2)),
])
def test_valid_expressions_parse_to_the_same_sympy_expression(text, expected):
    assert sp.simplify(parse_expression(text) - expected) == 0


@pytest.mark.parametrize("text, token", [
    ("__import__('os').system('echo hi')", "__import__"),
    ("x.__class__", "Attribute"),
    ("(lambda: 1)()", "lambda"),
    ("[x for x in ()]", "ListComp"),
    ("'abc'", "'abc'"),
    ("x[0]", "Subscript"),
    ("eval('1')", "eval"),
    ("y + 1", "'y'"),
    ("x**10**9", "exponent"),
    ("x ^ 2", "**"),
    ("tanh(x, foo=1)", "keyword"),
    ("tanh", "must be called"),
    ("x" * 2000, "limit"),
    ("", "empty"),
])
def test_dangerous_or_invalid_input_is_refused_naming_the_token(text, token):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert token in str(info.value)
    assert isinstance(info.value, ValueError)


def test_deep_nesting_is_refused_not_recursed():
    with pytest.raises(ExpressionError, match="nested"):
        parse_expression("(" * 100 + "x" + ")" * 100 if False else "tanh(" * 80 + "x" + ")" * 80)


def test_nonlinearity_rejects_other_variables_and_non_real_functions():
    with pytest.raises(ValueError, match="x only|one variable"):
        Nonlinearity(sp.Symbol("a") * sp.Symbol("b"))
    with pytest.raises(ValueError):
        Nonlinearity(3.5)
