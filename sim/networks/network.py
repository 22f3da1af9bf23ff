"""Fully connected random networks (Poole et al. 2016, eq. 1).

    h^1 = W^1 x + b^1,      h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},

with W^l_ij ~ N(0, sigma_w^2 / N_{l-1}) and b^l_i ~ N(0, sigma_b^2); sigma_w and
sigma_b are standard deviations.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from meanfield.nonlinearity import Nonlinearity, as_nonlinearity

from ..errors import SimError


class NetworkError(SimError):
    """A network cannot be built from these arguments (shapes, widths, dtype, standard deviations)."""


class LayerJet(NamedTuple):
    """The pre-activations of one layer and their derivatives along m input directions.

    Attributes
    ----------
    layer : int
        l in 1..D.
    h : (n, N_l) array
        h^l at the n inputs.
    dh : (m, n, N_l) array or None
        dh^l along each direction (None below order 1).
    d2h : (m, m, n, N_l) array or None
        d^2 h^l along each pair of directions (None below order 2).
    """

    layer: int
    h: np.ndarray
    dh: np.ndarray | None
    d2h: np.ndarray | None


def _evaluate(f, h: np.ndarray) -> np.ndarray:
    """f(h) as a fresh writable array of h's shape and dtype (constants broadcast)."""
    r = f(h)
    if not isinstance(r, np.ndarray) or r.shape != h.shape or r.dtype != h.dtype or r is h:
        r = np.array(np.broadcast_to(np.asarray(r, dtype=h.dtype), h.shape))
    return r


class Network:
    """A fully connected network built from given weight and bias arrays.

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity (anything ``meanfield.Nonlinearity`` accepts).
    weights : sequence of arrays
        ``weights[l]`` has shape ``(N_{l+1}, N_l)``.
    biases : sequence of arrays
        ``biases[l]`` has shape ``(N_{l+1},)``.
    dtype : numpy dtype, optional
        float64 by default; float32 on request.

    Raises
    ------
    NetworkError
        If the dtype is not float64/float32, the numbers of weight matrices and bias
        vectors differ or are zero, or the shapes do not chain.
    """

    def __init__(self, phi, weights, biases, dtype=np.float64):
        self.phi: Nonlinearity = as_nonlinearity(phi)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise NetworkError(f"dtype must be float64 or float32, got {self.dtype}")
        if len(weights) != len(biases) or len(weights) == 0:
            raise NetworkError(
                f"need one bias vector per weight matrix and at least one layer; "
                f"got {len(weights)} weight matrices and {len(biases)} bias vectors")
        self.weights = [np.asarray(w, dtype=self.dtype) for w in weights]
        self.biases = [np.asarray(b, dtype=self.dtype) for b in biases]
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise NetworkError(
                    f"layer {l + 1}: weights must be (N_out, N_in) and biases (N_out,); "
                    f"got {w.shape} and {b.shape}")
            if l > 0 and w.shape[1] != self.weights[l - 1].shape[0]:
                raise NetworkError(
                    f"layer {l + 1}: weight matrix expects {w.shape[1]} inputs but layer {l} "
                    f"has {self.weights[l - 1].shape[0]} units")

    @property
    def widths(self) -> list[int]:
        """[N0, N1, ..., ND]."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    @property
    def depth(self) -> int:
        """Number of weight layers D."""
        return len(self.weights)

    def activation(self, h) -> np.ndarray:
        """x = phi(h), the post-activations (Poole et al. 2016, eq. 1), computed in h's precision.

        Parameters
        ----------
        h : array_like
            Pre-activations, any shape.

        Returns
        -------
        numpy.ndarray
            phi(h), elementwise, of h's shape.
        """
        return np.asarray(self.phi.phi(h))

    def activation_slope(self, h) -> np.ndarray:
        """phi'(h), the slope of the nonlinearity at the pre-activations h.

        Parameters
        ----------
        h : array_like
            Pre-activations, any shape.

        Returns
        -------
        numpy.ndarray
            phi'(h), a fresh writable array of h's shape and dtype (constant slopes are broadcast).
        """
        return _evaluate(self.phi.dphi, np.asarray(h))

    def activation_second_derivative(self, h) -> np.ndarray:
        """phi''(h) at the pre-activations h (enters chi2, Poole et al. 2016, eq. 9, and the curvature).

        Parameters
        ----------
        h : array_like
            Pre-activations, any shape.

        Returns
        -------
        numpy.ndarray
            phi''(h), a fresh writable array of h's shape and dtype (constants are broadcast).
        """
        return _evaluate(self.phi.d2phi, np.asarray(h))

    def forward(self, x) -> list[np.ndarray]:
        """Pre-activations [h^1, ..., h^D] for a batch of inputs (Poole et al. 2016, eq. 1).

        Parameters
        ----------
        x : array_like of shape (batch, N0)
            The inputs x^0.

        Returns
        -------
        list of numpy.ndarray
            ``D`` arrays; entry l-1 is h^l, of shape (batch, N_l), in the network's dtype.

        Raises
        ------
        NetworkError
            If ``x`` is not of shape (batch, N0).
        """
        return [jet.h for jet in self.forward_mode(x)]

    def forward_mode(self, x, dx=None, d2x=None, *, order: int = 0, start: str = "input") -> Iterator[LayerJet]:
        """The forward pass, layer by layer, with exact derivatives along m input directions.

        This is the one forward pass of ``sim``: ``forward``, ``sim.propagate`` (curves,
        Poole SM App. D) and ``sim.geometry.boundary`` (gradient and Hessian of a
        classifier, Sec. 6) call it.  With x^l = phi(h^l) and h^{l+1} = W^{l+1} x^l + b^{l+1},
        the chain rule gives

            dx_i^l     = phi'(h^l) dh_i^l,
            d2x_ij^l   = phi''(h^l) dh_i^l dh_j^l + phi'(h^l) d2h_ij^l,
            dh^{l+1}   = W dx^l,   d2h^{l+1} = W d2x^l,

        elementwise except the products with W, which are stacked into one matrix
        product per layer (the whole cost).  Yields one :class:`LayerJet` per layer, so a
        caller holds one layer at a time.

        Parameters
        ----------
        x : (n, N0) array
            Inputs x^0, or h^1 itself when ``start="h1"`` (then W^1, b^1 are not used).
        dx : (m, n, N0) array, optional
            Derivatives of x along m directions (needed for ``order >= 1``).
        d2x : (m, m, n, N0) array, optional
            Second derivatives of x (for ``order == 2``; None means x is linear in the directions).
        order : {0, 1, 2}
            What to record: 0 pre-activations, 1 and first derivatives, 2 and second derivatives.
        start : {"input", "h1"}
            Whether ``x`` is the input x^0 or the first layer's pre-activations h^1.

        Yields
        ------
        LayerJet
            ``(layer, h, dh, d2h)`` for layers 1..D in order; derivatives beyond ``order`` are None.

        Raises
        ------
        NetworkError
            If ``order`` or ``start`` is not one of the allowed values, ``x``, ``dx`` or ``d2x``
            has the wrong shape, or ``order >= 1`` without ``dx``.  Raised on the first
            ``next()``, as this is a generator.
        """
        if order not in (0, 1, 2):
            raise NetworkError(f"order must be 0, 1 or 2, got {order}")
        if start not in ("input", "h1"):
            raise NetworkError(f"start must be 'input' or 'h1', got {start!r}")
        width = self.widths[0] if start == "input" else self.widths[1]
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != width:
            raise NetworkError(f"x must have shape (batch, {width}), got {x.shape}")
        n = x.shape[0]
        if order >= 1:
            if dx is None:
                raise NetworkError("order >= 1 needs the directions dx, shape (m, n, N)")
            dx = np.asarray(dx, dtype=self.dtype)
            m = dx.shape[0]
            if dx.shape != (m, n, width):
                raise NetworkError(f"dx must have shape (m, {n}, {width}), got {dx.shape}")
            if order == 2 and d2x is not None:
                d2x = np.asarray(d2x, dtype=self.dtype)
                if d2x.shape != (m, m, n, width):
                    raise NetworkError(f"d2x must have shape ({m}, {m}, {n}, {width}), got {d2x.shape}")
        if start == "h1":
            h, dh = x, dx if order >= 1 else None
        else:
            w, b = self.weights[0], self.biases[0]
            h = x @ w.T + b
            dh = (dx.reshape(-1, width) @ w.T).reshape(m, n, -1) if order >= 1 else None
        if order == 2:
            if d2x is None:
                d2h = np.zeros((m, m, n, h.shape[1]), dtype=self.dtype)
            elif start == "h1":
                d2h = d2x
            else:
                d2h = (d2x.reshape(-1, width) @ self.weights[0].T).reshape(m, m, n, -1)
        else:
            d2h = None
        jet = LayerJet(1, h, dh, d2h)
        yield jet
        phi = self.phi
        for layer, (w, b) in enumerate(zip(self.weights[1:], self.biases[1:]), start=2):
            _, h, dh, d2h = jet
            n_dir = 0 if dh is None else dh.shape[0]
            rows = n * (1 + (n_dir if order >= 1 else 0) + (n_dir * n_dir if order >= 2 else 0))
            # One stacked product [x; dx; d2x] W^T is faster than separate ones.
            stacked = np.empty((rows, h.shape[1]), dtype=self.dtype)
            stacked[:n] = phi.phi(h)  # copies, so phi may return h itself
            if order >= 1:
                d1 = _evaluate(phi.dphi, h)
                first = stacked[n:n * (1 + n_dir)].reshape(n_dir, n, -1)
                np.multiply(d1, dh, out=first)
            if order >= 2:
                d2 = _evaluate(phi.d2phi, h)
                second = stacked[n * (1 + n_dir):].reshape(n_dir, n_dir, n, -1)
                # (phi'' dh_i) dh_j + phi' d2h_ij, in this order for every m
                np.multiply(d2 * dh[:, None], dh[None, :], out=second)
                second += d1 * d2h
            out = stacked @ w.T
            out[:n] += b
            jet = LayerJet(layer, out[:n],
                           out[n:n * (1 + n_dir)].reshape(n_dir, n, -1) if order >= 1 else None,
                           out[n * (1 + n_dir):].reshape(n_dir, n_dir, n, -1) if order >= 2 else None)
            yield jet


class RandomNetwork(Network):
    """A ``Network`` with fresh Gaussian weights and biases.

    W^l_ij ~ N(0, sigma_w^2 / N_{l-1}),  b^l_i ~ N(0, sigma_b^2)  (Poole et al., Sec. 2).

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity (anything ``meanfield.Nonlinearity`` accepts).
    widths : sequence of int
        [N0, N1, ..., ND], all >= 1.
    sigma_w, sigma_b : float
        Standard deviations (not variances), >= 0.
    seed : int or numpy Generator
        Every draw comes from this seed.
    dtype : numpy dtype, optional
        float64 by default; float32 on request (the weights are drawn in float64 first).

    Raises
    ------
    NetworkError
        If fewer than two widths are given, a width is < 1, or sigma_w or sigma_b is
        negative or not finite.
    """

    def __init__(self, phi, widths, sigma_w, sigma_b, seed, dtype=np.float64):
        widths = [int(n) for n in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise NetworkError(f"widths must list at least [N0, N1], all >= 1; got {widths}")
        if not (np.isfinite(sigma_w) and sigma_w >= 0 and np.isfinite(sigma_b) and sigma_b >= 0):
            raise NetworkError(f"sigma_w and sigma_b are standard deviations >= 0; got {sigma_w}, {sigma_b}")
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for n_in, n_out in itertools.pairwise(widths):
            weights.append(rng.standard_normal((n_out, n_in)) * (sigma_w / np.sqrt(n_in)))
            biases.append(rng.standard_normal(n_out) * sigma_b)
        self.sigma_w = float(sigma_w)
        self.sigma_b = float(sigma_b)
        self.seed = seed
        super().__init__(phi, weights, biases, dtype=dtype)
