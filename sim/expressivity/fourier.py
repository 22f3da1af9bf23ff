"""Expressivity over the circle: regress network outputs onto a Fourier basis (Poole Fig. 5, SM App. D).

The outputs of a network on the circle theta -> x^D(theta) span a space of functions of
theta.  For each Fourier basis function y_k(theta) (cos k theta and sin k theta) the
(ridge-regularised) least-squares fit y_hat = F beta + beta_0 from the output matrix F
(n_points x N_D) is compared with y_k: the angle between them (App. D: "the angle
between the predicted basis vector and the true basis vector") and the fraction of
y_k's variance left unexplained.  Any band-limited
function decomposes on the basis, so the error per frequency is a proxy for how well
the network's features can express functions of that frequency (Fig. 5C-D).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimError
from ..geometry.curves import Curve
from ..geometry.propagate import propagate_iter


@dataclass(frozen=True)
class FourierFit:
    """Per-frequency regression error (arrays indexed by frequency 1..max_frequency).

    Attributes
    ----------
    frequency : numpy.ndarray of int
        k = 1..max_frequency.
    angle : numpy.ndarray
        Angle (radians) between the fit y_hat and y_k, averaged over cos and sin (Poole SM App. D);
        pi/2 where nothing is fitted.
    unexplained : numpy.ndarray
        |y_k - y_hat|^2 / |y_k|^2, averaged over cos and sin.
    """

    frequency: np.ndarray
    angle: np.ndarray
    unexplained: np.ndarray

    def plot(self, ax=None, label=None):
        """Angle error against frequency (Poole et al. 2016, Fig. 5C-D).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        label : str, optional
            Legend label of the line.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding ``ax``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 3))
        ax.plot(self.frequency, self.angle, "o-", ms=3, label=label)
        ax.set_xlabel("frequency k")
        ax.set_ylabel("angle error (rad)")
        return ax.figure


def fourier_basis(theta, max_frequency: int) -> np.ndarray:
    """Columns cos(k theta), sin(k theta) for k = 1..max_frequency.

    Parameters
    ----------
    theta : array_like of shape (n,)
        Angles on the circle.
    max_frequency : int
        K, the highest frequency.

    Returns
    -------
    numpy.ndarray of shape (n, 2 K)
        The K cosine columns (k = 1..K), then the K sine columns.
    """
    k = np.arange(1, int(max_frequency) + 1)
    arg = np.asarray(theta)[:, None] * k
    return np.concatenate([np.cos(arg), np.sin(arg)], axis=1)


def regression_error(features, theta, max_frequency: int, *, ridge: float = 1e-4) -> FourierFit:
    """Ridge fit of every Fourier basis function from ``features`` (n, m) plus a constant.

    With the centred features' singular values s_i and left vectors u_i, the fit is
    y_hat = sum_i u_i (u_i . y) s_i^2 / (s_i^2 + ridge * sum_j s_j^2).  The relative ridge
    makes "expressible" mean "expressible with bounded readout weights": directions
    carrying less than about ``ridge`` of the features' total variance are not used.
    Without it any feature set whose span merely touches a frequency would fit it
    (ill-conditioned least squares), however small and fragile that component is.

    The constant is handled by centring the features, which fits it exactly only
    because the Fourier targets have zero mean on a uniform grid: ``theta`` should
    sample the full circle uniformly.

    Parameters
    ----------
    features : array_like of shape (n, m)
        The features (e.g. network outputs) at the n samples.
    theta : array_like of shape (n,)
        The angles of the samples.
    max_frequency : int
        Highest frequency K, in 1..(n - 1) // 2 (below Nyquist).
    ridge : float
        Relative ridge, >= 0 (fraction of the total feature variance).

    Returns
    -------
    FourierFit
        Per frequency, the angle between y_hat and y and the unexplained fraction
        |y - y_hat|^2/|y|^2, each averaged over cos and sin of the frequency.

    Raises
    ------
    SimError
        If ``max_frequency`` is outside 1..(n - 1) // 2 or ``ridge`` is negative.
    """
    features = np.asarray(features, dtype=np.float64)
    n = features.shape[0]
    if not 1 <= max_frequency < n / 2:
        raise SimError(f"max_frequency must be in 1..{(n - 1) // 2} (below the Nyquist limit of {n} "
                         f"samples), got {max_frequency}")
    if ridge < 0:
        raise SimError(f"ridge must be >= 0, got {ridge}")
    u, s, _ = np.linalg.svd(features - features.mean(axis=0), full_matrices=False)
    s2 = s ** 2
    shrink = s2 / (s2 + ridge * s2.sum()) if s2.sum() > 0 else np.zeros_like(s2)
    targets = fourier_basis(theta, max_frequency)  # zero mean on the uniform grid: the constant is free
    fitted = u @ (shrink[:, None] * (u.T @ targets))
    norm_y = np.linalg.norm(targets, axis=0)
    norm_f = np.linalg.norm(fitted, axis=0)
    cos = np.sum(fitted * targets, axis=0) / (norm_y * np.where(norm_f > 0, norm_f, 1.0))
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    angle[norm_f == 0] = np.pi / 2
    unexplained = np.sum((targets - fitted) ** 2, axis=0) / norm_y ** 2
    k = int(max_frequency)
    return FourierFit(np.arange(1, k + 1), 0.5 * (angle[:k] + angle[k:]),
                      0.5 * (unexplained[:k] + unexplained[k:]))


def output_features(network, curve: Curve, *, activations: bool = True) -> np.ndarray:
    """The network's last-layer outputs on the curve: x^D = phi(h^D) (or h^D).

    Parameters
    ----------
    network : sim.Network
        The network.
    curve : sim.Curve
        The curve, in x^0 or h^1.
    activations : bool
        True: the post-activations x^D; False: the pre-activations h^D.

    Returns
    -------
    numpy.ndarray of shape (n, N_D)
        One row per sample of the curve.
    """
    last = None
    for state in propagate_iter(network, curve, order=0):
        last = state.position
    return network.activation(last) if activations else last


def network_expressivity(network, curve: Curve, max_frequency: int, *, ridge: float = 1e-4) -> FourierFit:
    """Fourier regression error of a network's outputs on a closed curve (Poole et al. 2016, Fig. 5C-D, SM App. D).

    Parameters
    ----------
    network : sim.Network
        The network.
    curve : sim.Curve
        A closed curve sampled uniformly (e.g. :func:`sim.circle`).
    max_frequency : int
        Highest frequency K, in 1..(n - 1) // 2.
    ridge : float
        Relative ridge of :func:`regression_error`.

    Returns
    -------
    FourierFit
        Angle and unexplained fraction per frequency, from the outputs x^D = phi(h^D).

    Raises
    ------
    SimError
        If the curve is not closed, or as :func:`regression_error`.
    """
    if not curve.closed:
        raise SimError("the Fourier test needs a closed curve sampled uniformly (sim.circle)")
    return regression_error(output_features(network, curve), curve.theta, max_frequency, ridge=ridge)
