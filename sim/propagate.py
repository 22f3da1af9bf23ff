"""Exact forward-mode propagation of a curve's position, velocity and acceleration.

For h^{l+1} = W^{l+1} phi(h^l) + b^{l+1} and a curve h^l(theta) with velocity v^l and
acceleration a^l, the chain rule gives (Poole et al. 2016, SM App. D: "forward-mode
auto-differentiation")

    x^l     = phi(h^l)
    dx^l    = phi'(h^l) v^l
    d2x^l   = phi''(h^l) (v^l)^2 + phi'(h^l) a^l
    h^{l+1} = W x^l + b,   v^{l+1} = W dx^l,   a^{l+1} = W d2x^l,

all elementwise except the products with W.  No finite differences: the three
products are stacked into one matrix product per layer, which is the whole cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .manifolds import Curve, CurveError


@dataclass(frozen=True)
class LayerCurve:
    """The image of a curve in the pre-activations of one layer.

    Attributes
    ----------
    layer : int
        l in 1..D.
    position, velocity, acceleration : (n, N_l) arrays or None
        h^l(theta), dh^l/dtheta, d^2h^l/dtheta^2; ``None`` beyond the requested order.
    """

    layer: int
    position: np.ndarray
    velocity: np.ndarray | None
    acceleration: np.ndarray | None


def _first_layer(network, curve: Curve, order: int) -> LayerCurve:
    dtype = network.dtype
    pick = lambda a: np.asarray(a, dtype=dtype)
    if curve.layer == 1:
        if curve.width != network.widths[1]:
            raise CurveError(f"the curve lives in h^1 with width {curve.width} but the network's "
                             f"first layer has {network.widths[1]} units")
        h, v, a = pick(curve.position), pick(curve.velocity), pick(curve.acceleration)
    else:
        if curve.width != network.widths[0]:
            raise CurveError(f"the curve lives in x^0 with width {curve.width} but the network "
                             f"takes {network.widths[0]} inputs")
        w, b = network.weights[0], network.biases[0]
        h = pick(curve.position) @ w.T + b
        v = pick(curve.velocity) @ w.T if order >= 1 else None
        a = pick(curve.acceleration) @ w.T if order >= 2 else None
    return LayerCurve(1, h, v if order >= 1 else None, a if order >= 2 else None)


def _evaluate(f, h: np.ndarray) -> np.ndarray:
    """f(h) as a fresh writable array of h's shape and dtype (constants broadcast)."""
    r = f(h)
    if not isinstance(r, np.ndarray) or r.shape != h.shape or r.dtype != h.dtype or r is h:
        r = np.array(np.broadcast_to(np.asarray(r, dtype=h.dtype), h.shape))
    return r


def propagate_iter(network, curve: Curve, *, order: int = 2) -> Iterator[LayerCurve]:
    """Yield the curve's image in layers 1..D, one layer at a time (constant memory).

    Parameters
    ----------
    network : sim.Network
    curve : sim.Curve
        At ``curve.layer`` 0 it enters through W^1; at layer 1 it *is* h^1 and W^1, b^1
        are not used (the paper's circle, Sec. 4).
    order : {0, 1, 2}
        0: positions only; 1: and velocities; 2: and accelerations.
    """
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order}")
    phi = network.phi
    state = _first_layer(network, curve, order)
    yield state
    n = len(curve)
    for layer, (w, b) in enumerate(zip(network.weights[1:], network.biases[1:]), start=2):
        h, v, a = state.position, state.velocity, state.acceleration
        # One stacked product [x; dx; d2x] W^T is faster than three separate ones.
        stacked = np.empty(((order + 1) * n, h.shape[1]), dtype=network.dtype)
        stacked[:n] = phi.phi(h)  # copies, so phi may return h itself
        if order >= 1:
            d1 = _evaluate(phi.dphi, h)
            np.multiply(d1, v, out=stacked[n:2 * n])
        if order >= 2:
            d2 = _evaluate(phi.d2phi, h)
            d2 *= v
            d2 *= v
            d1 *= a
            np.add(d2, d1, out=stacked[2 * n:])
        out = stacked @ w.T
        out[:n] += b
        state = LayerCurve(layer, out[:n],
                           out[n:2 * n] if order >= 1 else None,
                           out[2 * n:] if order >= 2 else None)
        yield state


def propagate(network, curve: Curve, *, order: int = 2) -> list[LayerCurve]:
    """All layers of ``propagate_iter`` as a list [layer 1, ..., layer D]."""
    return list(propagate_iter(network, curve, order=order))
