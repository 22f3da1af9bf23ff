"""A ``Nonlinearity`` as a JAX function, printed from the same sympy expression.

sympy's lambdify prints ``Nonlinearity.pw`` (phi rewritten as a Piecewise) for the
"jax" target, so any nonlinearity meanfield accepts trains, piecewise ones included.
The derivative is sympy's ``Nonlinearity.d1``, attached as a custom JVP: JAX's own
derivative of a Piecewise (``select``) multiplies the cotangent into every branch,
and an unused branch that overflows (exp(x) of ELU at large x) would turn the
gradient into NaN.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from meanfield.expression import x
from meanfield.nonlinearity import as_nonlinearity

from ._deps import require_jax


def _modules(jax):
    import jax.scipy.special as jss

    return [{"sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus, "erf": jss.erf, "erfc": jss.erfc}, "jax"]


@lru_cache(maxsize=64)
def _compiled(key: str, pw: sp.Expr, d1: sp.Expr):
    jax, jnp, _ = require_jax()
    f = sp.lambdify(x, pw, modules=_modules(jax))
    df = sp.lambdify(x, d1, modules=_modules(jax))

    def _shaped(out, u):
        return jnp.broadcast_to(jnp.asarray(out, dtype=u.dtype), u.shape)

    @jax.custom_jvp
    def phi(u):
        return _shaped(f(u), u)

    @phi.defjvp
    def _phi_jvp(primals, tangents):
        (u,), (t,) = primals, tangents
        return phi(u), _shaped(df(u), u) * t

    return phi


def jax_phi(phi):
    """phi (name, expression or ``Nonlinearity``) -> elementwise JAX function with derivative phi'.

    Compiled once per nonlinearity (cached by its key).

    Parameters
    ----------
    phi : str, sympy expression or Nonlinearity
        Any nonlinearity meanfield accepts (registry name or expression in x).

    Returns
    -------
    callable
        ``phi(u)`` on JAX arrays, of the dtype and shape of ``u``, with a custom JVP
        using sympy's phi' (so unused Piecewise branches cannot make gradients NaN).

    Raises
    ------
    ExpressionError
        If ``phi`` is not a known name or a valid expression (meanfield's parser).
    MissingDependencyError
        If JAX or optax is not installed.
    """
    nl = as_nonlinearity(phi)
    return _compiled(nl.key, nl.pw, nl.d1)
