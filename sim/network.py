"""Fully connected random networks (Poole et al. 2016, eq. 1).

    h^1 = W^1 x + b^1,      h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},

with W^l_ij ~ N(0, sigma_w^2 / N_{l-1}) and b^l_i ~ N(0, sigma_b^2); sigma_w and
sigma_b are standard deviations.
"""
from __future__ import annotations


import numpy as np

from meanfield.nonlinearity import Nonlinearity, as_nonlinearity


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
    """

    def __init__(self, phi, weights, biases, dtype=np.float64):
        self.phi: Nonlinearity = as_nonlinearity(phi)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        if len(weights) != len(biases) or len(weights) == 0:
            raise ValueError(
                f"need one bias vector per weight matrix and at least one layer; "
                f"got {len(weights)} weight matrices and {len(biases)} bias vectors")
        self.weights = [np.asarray(w, dtype=self.dtype) for w in weights]
        self.biases = [np.asarray(b, dtype=self.dtype) for b in biases]
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {l + 1}: weights must be (N_out, N_in) and biases (N_out,); "
                    f"got {w.shape} and {b.shape}")
            if l > 0 and w.shape[1] != self.weights[l - 1].shape[0]:
                raise ValueError(
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

    def forward(self, x) -> list[np.ndarray]:
        """Pre-activations [h^1, ..., h^D] for inputs ``x`` of shape (batch, N0)."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.widths[0]:
            raise ValueError(f"x must have shape (batch, {self.widths[0]}), got {x.shape}")
        hs = []
        h = x @ self.weights[0].T + self.biases[0]
        hs.append(h)
        for w, b in zip(self.weights[1:], self.biases[1:]):
            h = self.phi.phi(h).astype(self.dtype, copy=False) @ w.T + b
            hs.append(h)
        return hs


class RandomNetwork(Network):
    """A ``Network`` with fresh Gaussian weights and biases.

    W^l_ij ~ N(0, sigma_w^2 / N_{l-1}),  b^l_i ~ N(0, sigma_b^2)  (Poole et al., Sec. 2).

    Parameters
    ----------
    phi : nonlinearity spec
    widths : sequence of int
        [N0, N1, ..., ND].
    sigma_w, sigma_b : float
        Standard deviations (not variances).
    seed : int or numpy Generator
        Every draw comes from this seed.
    """

    def __init__(self, phi, widths, sigma_w, sigma_b, seed, dtype=np.float64):
        widths = [int(n) for n in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must list at least [N0, N1], all >= 1; got {widths}")
        if not (np.isfinite(sigma_w) and sigma_w >= 0 and np.isfinite(sigma_b) and sigma_b >= 0):
            raise ValueError(f"sigma_w and sigma_b are standard deviations >= 0; got {sigma_w}, {sigma_b}")
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            weights.append(rng.standard_normal((n_out, n_in)) * (sigma_w / np.sqrt(n_in)))
            biases.append(rng.standard_normal(n_out) * sigma_b)
        self.sigma_w = float(sigma_w)
        self.sigma_b = float(sigma_b)
        self.seed = seed
        super().__init__(phi, weights, biases, dtype=dtype)
