"""A piecewise-linear phi as its affine pieces, and the checked inputs of the region counters."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meanfield.nonlinearity import as_nonlinearity

from .errors import RegionsError
from .state import PhiPieces


@dataclass(frozen=True)
class PiecewiseLinear:
    """phi(h) = slopes[j] h + intercepts[j] for thresholds[j-1] < h < thresholds[j].

    Attributes
    ----------
    thresholds : (K,) array
        The kinks of phi where its slope changes, sorted.
    slopes, intercepts : (K + 1,) arrays
        The affine map of each piece, piece j lying above j thresholds.
    """

    thresholds: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray

    @property
    def n_states(self) -> int:
        """K + 1, the number of affine pieces (states a unit can be in)."""
        return len(self.slopes)

    @property
    def pieces(self) -> PhiPieces:
        """The same pieces as contiguous float64 arrays, for the Numba kernels."""
        return PhiPieces(*(np.ascontiguousarray(a, dtype=np.float64)
                           for a in (self.thresholds, self.slopes, self.intercepts)))

    def state(self, h) -> np.ndarray:
        """The state of each pre-activation: the number of thresholds it strictly exceeds.

        Parameters
        ----------
        h : array_like
            Pre-activations, any shape.

        Returns
        -------
        numpy.ndarray of int8, same shape as h
            Piece index in 0..K (the entries of an activation pattern, HR Def. 1).
        """
        h = np.asarray(h)
        out = np.zeros(h.shape, np.int8)
        for th in self.thresholds:
            out += h > th
        return out

    def __call__(self, h) -> np.ndarray:
        s = self.state(h)
        return self.slopes[s] * h + self.intercepts[s]


def piecewise_linear(phi) -> PiecewiseLinear:
    """The pieces of a piecewise-linear, continuous phi, read off ``Nonlinearity.kinks``.

    phi is evaluated at two points inside each piece (exact for affine pieces) and at
    a third point as a check; kinks where the slope does not change are dropped.

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        The nonlinearity (anything ``meanfield.Nonlinearity`` accepts).

    Returns
    -------
    PiecewiseLinear
        Its thresholds and the slope and intercept of every piece.

    Raises
    ------
    RegionsError
        If phi is not piecewise linear (activation regions are then undefined: use a
        piecewise-linear phi such as "relu", "leaky_relu" or "hard_tanh"), or if it
        jumps at a kink.
    """
    nl = as_nonlinearity(phi)
    if not nl.is_piecewise_linear:
        raise RegionsError(
            f"activation regions need a piecewise-linear phi (relu, leaky_relu, hard_tanh, ...); "
            f"{nl.name!r} is not piecewise linear")
    kinks = np.asarray(nl.kinks, dtype=np.float64)
    edges = np.concatenate([[kinks[0] - 2.0 if kinks.size else -1.0], kinks,
                            [kinks[-1] + 2.0 if kinks.size else 1.0]])
    lo, hi = edges[:-1], edges[1:]
    x1, x2, x3 = (lo + (hi - lo) * f for f in (0.25, 0.75, 0.5))
    y1, y2, y3 = (np.asarray(nl.phi(z), dtype=np.float64) for z in (x1, x2, x3))
    slopes = (y2 - y1) / (x2 - x1)
    intercepts = y1 - slopes * x1
    if not np.allclose(slopes * x3 + intercepts, y3, rtol=1e-12, atol=1e-12):
        raise RegionsError(f"phi {nl.name!r} is not affine between its kinks {tuple(kinks)}")
    left = slopes[:-1] * kinks + intercepts[:-1]
    right = slopes[1:] * kinks + intercepts[1:]
    if not np.allclose(left, right, rtol=1e-12, atol=1e-12):
        raise RegionsError(f"phi {nl.name!r} jumps at a kink; activation regions need a continuous phi")
    keep = ~np.isclose(slopes[:-1], slopes[1:], rtol=1e-12, atol=0)
    pieces = np.concatenate([[0], np.flatnonzero(keep) + 1])
    return PiecewiseLinear(kinks[keep], slopes[pieces], intercepts[pieces])


def _layers(net, readout: bool):
    """(neuron layers [(W, b)], read-out (W, b) or None) in float64."""
    layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64))
              for w, b in zip(net.weights, net.biases)]
    if readout:
        if len(layers) < 2:
            raise RegionsError("readout=True needs a network with at least two weight layers "
                               "(one hidden layer and the read-out)")
        return layers[:-1], layers[-1]
    return layers, None


def _point(net, x, name):
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.shape != (net.widths[0],):
        raise RegionsError(f"{name} must be a point of the input space R^{net.widths[0]}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise RegionsError(f"{name} must be finite")
    return x

