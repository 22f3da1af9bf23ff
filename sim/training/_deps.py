"""Lazy import of JAX and optax: ``import sim`` works without them."""
from __future__ import annotations

from .errors import MissingDependencyError


def require_jax():
    """(jax, jax.numpy, optax), or a one-line error naming the extra to install."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError as exc:
        raise MissingDependencyError(
            f"training needs JAX and optax ({exc.name} is missing): pip install 'meanfield[train]'") from None
    return jax, jnp, optax
