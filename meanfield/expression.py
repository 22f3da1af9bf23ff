"""Safe parsing of nonlinearity expressions such as ``"x*tanh(x)"``.

sympy's ``sympify``/``parse_expr`` call Python's ``eval``, so a string like
``"__import__('os').system(...)"`` would run.  Here the string is parsed with
:mod:`ast` (which only builds a syntax tree, it never executes anything), every
node is checked against a whitelist, and the sympy expression is built by walking
that tree ourselves.  Anything outside the whitelist is rejected with a
``ValueError`` that names the offending token.
"""
from __future__ import annotations

import ast

import sympy as sp

from .errors import ExpressionError

#: The one free variable of a nonlinearity.
x = sp.Symbol("x", real=True)

MAX_LENGTH = 1000          # characters
MAX_DEPTH = 60             # nesting of the syntax tree
MAX_INT_EXPONENT = 64      # |n| in x**n for integer literals n
MAX_LITERAL_DIGITS = 40    # digits of an integer literal


class sigmoid(sp.Function):
    r"""Logistic function :math:`\sigma(x) = 1/(1+e^{-x})`.

    A named function (rather than its closed form) so that numeric code can use a
    form that never overflows, and derivatives stay readable.
    """

    def fdiff(self, argindex=1):
        r"""Derivative :math:`\sigma'(x) = \sigma(x)\,(1 - \sigma(x))` (sympy's hook for ``diff``).

        Parameters
        ----------
        argindex : int, optional
            Which argument to differentiate by; sigmoid has one (1).

        Returns
        -------
        sympy.Expr
            ``sigmoid(t) * (1 - sigmoid(t))`` at this call's argument t.
        """
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg):
        r"""Automatic evaluation on construction (sympy's hook): :math:`\sigma(0) = 1/2`.

        Parameters
        ----------
        arg : sympy.Expr
            The argument.

        Returns
        -------
        sympy.Rational or None
            1/2 where ``arg`` is zero; None (leave ``sigmoid(arg)`` unevaluated) otherwise.
        """
        if arg.is_zero:
            return sp.Rational(1, 2)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    # Numeric forms, one per sympy printer, so that every printer (the kernels' scalar code, lambdify
    # to numpy or mpmath) knows sigmoid.  Floating point: e^{-|t|} never overflows.
    def _pythoncode(self, printer):
        """Scalar ``math`` code (also what the Numba kernels compile): one exp on each branch."""
        t = printer._print(self.args[0])
        exp = printer._module_format("math.exp")
        return f"(1.0/(1.0 + {exp}(-({t}))) if ({t}) >= 0 else {exp}({t})/(1.0 + {exp}({t})))"

    def _numpycode(self, printer):
        """Branch-free array form; the same operations as the scalar form on each side of 0."""
        t = printer._print(self.args[0])
        exp, minimum, absolute = (printer._module_format(f"numpy.{f}") for f in ("exp", "minimum", "abs"))
        return f"({exp}({minimum}({t}, 0))/(1 + {exp}(-{absolute}({t}))))"

    def _mpmathcode(self, printer):
        """Arbitrary precision: the defining formula."""
        return f"(1/(1 + {printer._module_format('mpmath.exp')}(-({printer._print(self.args[0])}))))"

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = rf"\sigma\left({arg}\right)"
        return base if exp is None else rf"{base}^{{{exp}}}"


class softplus(sp.Function):
    r"""Softplus :math:`\log(1+e^{x})`, with derivative :math:`\sigma(x)`."""

    def fdiff(self, argindex=1):
        r"""Derivative :math:`\operatorname{softplus}'(x) = \sigma(x)` (sympy's hook for ``diff``).

        Parameters
        ----------
        argindex : int, optional
            Which argument to differentiate by; softplus has one (1).

        Returns
        -------
        sigmoid
            ``sigmoid(t)`` at this call's argument t.
        """
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sp.log(1 + sp.exp(arg))

    # Numeric forms, one per sympy printer (see sigmoid): max(t, 0) + log1p(e^{-|t|}) never overflows.
    def _pythoncode(self, printer):
        t = printer._print(self.args[0])
        return (f"(max(({t}), 0.0) + {printer._module_format('math.log1p')}"
                f"({printer._module_format('math.exp')}(-abs({t}))))")

    def _numpycode(self, printer):
        t = printer._print(self.args[0])
        maximum, log1p, exp, absolute = (printer._module_format(f"numpy.{f}")
                                         for f in ("maximum", "log1p", "exp", "abs"))
        return f"({maximum}({t}, 0) + {log1p}({exp}(-{absolute}({t}))))"

    def _mpmathcode(self, printer):
        return f"{printer._module_format('mpmath.log1p')}({printer._module_format('mpmath.exp')}" \
               f"({printer._print(self.args[0])}))"

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = rf"\operatorname{{softplus}}\left({arg}\right)"
        return base if exp is None else rf"{base}^{{{exp}}}"


#: Functions an expression may call, by the names users write.
FUNCTIONS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh,
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "erf": sp.erf, "erfc": sp.erfc,
    "Abs": sp.Abs, "abs": sp.Abs,
    "Max": sp.Max, "max": sp.Max, "Min": sp.Min, "min": sp.Min,
    "sign": sp.sign, "Heaviside": sp.Heaviside,
    "Piecewise": sp.Piecewise,
    "sigmoid": sigmoid, "softplus": softplus,
}

#: Names that stand for values.
CONSTANTS = {"x": x, "pi": sp.pi, "E": sp.E, "True": sp.true, "False": sp.false}

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}
_COMPARE = {ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Lt: sp.Lt, ast.LtE: sp.Le}


def parse_expression(text: str) -> sp.Expr:
    """Turn ``text`` (an expression in ``x``) into a sympy expression, safely.

    Allowed: the variable ``x``; int and float literals; ``pi``, ``E``; the
    operators ``+ - * / **`` and unary minus; comparisons ``< <= > >=`` and
    ``&``/``|``/``and``/``or`` inside ``Piecewise`` conditions; tuples (for
    ``Piecewise`` pieces); calls of the functions in :data:`FUNCTIONS`.

    Parameters
    ----------
    text : str
        The expression, at most ``MAX_LENGTH`` (1000) characters, e.g. ``"x*tanh(x)"`` or
        ``"Piecewise((0, x < 0), (x, True))"``.

    Returns
    -------
    sympy.Expr
        The expression in the real symbol :data:`x`; nothing of ``text`` is executed.

    Raises
    ------
    ExpressionError
        Naming the offending token and what to write instead: ``text`` is not a string,
        is empty or too long, does not parse, is nested more than ``MAX_DEPTH`` (60)
        levels, uses a name, operator or function outside the whitelist, has a power
        exponent above ``MAX_INT_EXPONENT`` (64) in size or an integer literal with more
        than ``MAX_LITERAL_DIGITS`` (40) digits, or is not a numeric expression (e.g. a
        bare comparison or tuple).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError("expression is empty; write a function of x such as 'tanh(x)'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"cannot parse {text!r}: {err.msg} (at column {err.offset})") from None
    expr = _build(tree.body, 0)
    if not isinstance(expr, sp.Expr):
        raise ExpressionError(f"{text!r} is not a numeric expression of x")
    return expr


def _build(node: ast.AST, depth: int):
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep")
    d = depth + 1
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):  # only meaningful as a Piecewise condition
            return sp.true if v else sp.false
        if not isinstance(v, (int, float)):
            raise ExpressionError(f"literal {v!r} is not allowed; only numbers may appear")
        if isinstance(v, int):
            if len(str(abs(v))) > MAX_LITERAL_DIGITS:
                raise ExpressionError(f"integer literal with {len(str(abs(v)))} digits is too long")
            return sp.Integer(v)
        return sp.Float(v)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"function {node.id!r} must be called, e.g. {node.id}(x)")
        raise ExpressionError(
            f"unknown name {node.id!r}: the variable is 'x'; constants are pi and E; "
            f"functions are {', '.join(sorted(set(FUNCTIONS)))}")
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):
            raise ExpressionError("'^' is not a power here; write x**2 for x squared")
        if isinstance(node.op, ast.BitAnd):
            return sp.And(_build(node.left, d), _build(node.right, d))
        if isinstance(node.op, ast.BitOr):
            return sp.Or(_build(node.left, d), _build(node.right, d))
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__!r} is not allowed; use + - * / **")
        left, right = _build(node.left, d), _build(node.right, d)
        if isinstance(node.op, ast.Pow):
            _check_power(right)
        return op(left, right)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return -_build(node.operand, d)
        if isinstance(node.op, ast.UAdd):
            return _build(node.operand, d)
        raise ExpressionError(f"unary operator {type(node.op).__name__!r} is not allowed")
    if isinstance(node, ast.BoolOp):
        parts = [_build(v, d) for v in node.values]
        return sp.And(*parts) if isinstance(node.op, ast.And) else sp.Or(*parts)
    if isinstance(node, ast.Compare):
        left = _build(node.left, d)
        conds = []
        for op, comp in zip(node.ops, node.comparators):
            rel = _COMPARE.get(type(op))
            if rel is None:
                raise ExpressionError(f"comparison {type(op).__name__!r} is not allowed; use < <= > >=")
            right = _build(comp, d)
            conds.append(rel(left, right))
            left = right
        return sp.And(*conds)
    if isinstance(node, ast.Tuple):
        return tuple(_build(e, d) for e in node.elts)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"call of {ast.unparse(node.func)!r} is not allowed: only plain "
                                  f"function calls like tanh(x) (no attribute access or computed functions)")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {name!r}; allowed: {', '.join(sorted(set(FUNCTIONS)))}")
        if node.keywords:
            raise ExpressionError(f"keyword arguments are not allowed in {name}(...)")
        args = [_build(a, d) for a in node.args]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"starred arguments are not allowed in {name}(...)")
        try:
            return FUNCTIONS[name](*args)
        except (TypeError, ValueError) as err:
            raise ExpressionError(f"bad arguments to {name}(...): {err}") from None
    token = type(node).__name__
    raise ExpressionError(f"{ast.unparse(node)!r} ({token}) is not allowed in a nonlinearity expression "
                          f"(only numbers, x, + - * / **, and known functions)")


def _check_power(exponent) -> None:
    """Refuse exponents that could make sympy hang (e.g. ``x**10**9``)."""
    if isinstance(exponent, tuple) or not isinstance(exponent, sp.Expr):
        raise ExpressionError("the exponent of ** must be a number or an expression in x")
    if exponent.is_number:
        try:
            value = float(exponent)
        except TypeError:
            raise ExpressionError(f"exponent {exponent} is not a real number") from None
        if abs(value) > MAX_INT_EXPONENT:
            raise ExpressionError(
                f"exponent {exponent} is too large; powers are limited to |n| <= {MAX_INT_EXPONENT}")
