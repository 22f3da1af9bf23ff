"""Exact forward-mode propagation of a curve's position, velocity and acceleration.

For h^{l+1} = W^{l+1} phi(h^l) + b^{l+1} and a curve h^l(theta) with velocity v^l and
acceleration a^l, the chain rule gives (Poole et al. 2016, SM App. D: "forward-mode
auto-differentiation")

    x^l     = phi(h^l)
    dx^l    = phi'(h^l) v^l
    d2x^l   = phi''(h^l) (v^l)^2 + phi'(h^l) a^l
    h^{l+1} = W x^l + b,   v^{l+1} = W dx^l,   a^{l+1} = W d2x^l,

all elementwise except the products with W.  No finite differences: the three
products are stacked into one matrix product per layer (``Network.forward_mode``,
the one forward pass of ``sim``), which is the whole cost.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .curves import Curve, CurveError


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


def propagate_iter(network, curve: Curve, *, order: int = 2) -> Iterator[LayerCurve]:
    """Yield the curve's image in layers 1..D, one layer at a time (constant memory).

    The curve is one direction (theta) at every point, so this is
    ``Network.forward_mode`` with m = 1.

    Parameters
    ----------
    network : sim.Network
        The network to propagate through.
    curve : sim.Curve
        At ``curve.layer`` 0 it enters through W^1; at layer 1 it *is* h^1 and W^1, b^1
        are not used (the paper's circle, Sec. 4).
    order : {0, 1, 2}
        0: positions only; 1: and velocities; 2: and accelerations.

    Yields
    ------
    LayerCurve
        The image h^l, v^l, a^l in layer l, for l = 1..D in order.

    Raises
    ------
    CurveError
        If ``order`` is not 0, 1 or 2, or the curve's width does not match the network's
        input (``layer=0``) or first-layer (``layer=1``) width.
    """
    if order not in (0, 1, 2):
        raise CurveError(f"order must be 0, 1 or 2, got {order}")
    at_h1 = curve.layer == 1
    expected = network.widths[1] if at_h1 else network.widths[0]
    if curve.width != expected:
        where = (f"lives in h^1 with width {curve.width} but the network's first layer has"
                 if at_h1 else f"lives in x^0 with width {curve.width} but the network takes")
        raise CurveError(f"the curve {where} {expected} {'units' if at_h1 else 'inputs'}")
    dx = curve.velocity[None] if order >= 1 else None
    d2x = curve.acceleration[None, None] if order >= 2 else None
    for jet in network.forward_mode(curve.position, dx, d2x, order=order, start="h1" if at_h1 else "input"):
        yield LayerCurve(jet.layer, jet.h,
                         jet.dh[0] if order >= 1 else None,
                         jet.d2h[0, 0] if order >= 2 else None)


def propagate(network, curve: Curve, *, order: int = 2) -> list[LayerCurve]:
    """All layers of :func:`propagate_iter` as a list [layer 1, ..., layer D].

    Parameters
    ----------
    network : sim.Network
        The network to propagate through.
    curve : sim.Curve
        The curve, in x^0 (``curve.layer`` 0) or in h^1 (``curve.layer`` 1).
    order : {0, 1, 2}
        0: positions only; 1: and velocities; 2: and accelerations.

    Returns
    -------
    list of LayerCurve
        One entry per layer, 1..D (all held in memory; use :func:`propagate_iter` for deep nets).

    Raises
    ------
    CurveError
        As :func:`propagate_iter`.
    """
    return list(propagate_iter(network, curve, order=order))
