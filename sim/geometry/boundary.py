"""Principal curvatures of a network's decision boundary in input space (Poole et al. 2016, Sec. 6, Fig. 4G).

A linear classifier on the last layer, G(x) = beta . x^D(x) - beta_0 with x^D = phi(h^D),
has the flat boundary G = 0 in the output layer, and a curved (N0 - 1)-dimensional
boundary M in input space.  At x* on M, with unit normal n = grad G / |grad G| and the
projector P = I - n n^T onto the tangent plane, the principal curvatures are the
eigenvalues of

    H = |grad G|^{-1} P (d^2 G / dx dx^T) P                                (Sec. 6)

restricted to the tangent plane.  A positive eigenvalue along v means G grows along
the tangent geodesic, so the boundary bends away from grad G there (G = |x|^2 - r^2,
a sphere, has all principal curvatures +1/r).

The gradient and Hessian are exact, by second-order forward mode (``Network.forward_mode``
along the N0 coordinate directions): every layer carries
the Jacobian J^l = dh^l/dx (N_l x N0) and the second derivatives H^l = d^2h^l/dx dx
(N_l x N0 x N0),

    J^{l+1} = W diag(phi'(h^l)) J^l,
    H^{l+1}_i = sum_j W_ij [phi''(h^l_j) J^l_j J^l_j^T + phi'(h^l_j) H^l_j],

so the cost per layer is one product of W with an N_l x N0^2 matrix.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..errors import SimError
from ..networks.network import RandomNetwork


class BoundaryError(SimError):
    """No point of the decision boundary could be found from the given start."""


def _last_layer(network, x, order: int):
    """The last layer's jet at the single point x, along the N0 coordinate directions."""
    x = np.asarray(x, dtype=np.float64)
    directions = np.eye(x.shape[0])[:, None, :]         # dx^0/dx_i = e_i: (N0, 1, N0)
    *_, last = network.forward_mode(x[None], directions, order=order)
    return last


def classifier_value_and_gradient(network, beta, beta0: float, x) -> tuple[float, np.ndarray]:
    """G(x) and grad G(x) by first-order forward mode (one Jacobian per layer).

    Parameters
    ----------
    network : sim.Network
        The network; G uses its last layer, x^D = phi(h^D).
    beta : array_like of shape (N_D,)
        Readout weights of the linear classifier G(x) = beta . x^D(x) - beta_0.
    beta0 : float
        Readout offset beta_0.
    x : array_like of shape (N0,)
        The input point.

    Returns
    -------
    value : float
        G(x).
    gradient : numpy.ndarray of shape (N0,)
        grad G(x), exact (no finite differences).
    """
    beta = np.asarray(beta, dtype=np.float64)
    last = _last_layer(network, x, order=1)
    h, jac = last.h[0], last.dh[:, 0, :].T               # dh^D/dx: (N_D, N0)
    g = float(beta @ network.activation(h) - beta0)
    return g, (beta * network.activation_slope(h)) @ jac


def classifier_hessian(network, beta, beta0: float, x) -> tuple[float, np.ndarray, np.ndarray]:
    """G(x), grad G and the exact Hessian d^2G/dx dx^T by second-order forward mode.

    Parameters
    ----------
    network : sim.Network
        The network; G uses its last layer, x^D = phi(h^D).
    beta : array_like of shape (N_D,)
        Readout weights of G(x) = beta . x^D(x) - beta_0.
    beta0 : float
        Readout offset beta_0.
    x : array_like of shape (N0,)
        The input point.

    Returns
    -------
    value : float
        G(x).
    gradient : numpy.ndarray of shape (N0,)
        grad G(x).
    hessian : numpy.ndarray of shape (N0, N0)
        d^2G / dx dx^T, exact (the chain rule of the module docstring, contracted with beta).
    """
    beta = np.asarray(beta, dtype=np.float64)
    last = _last_layer(network, x, order=2)
    h, jac, hess = last.h[0], last.dh[:, 0, :].T, last.d2h[:, :, 0, :]    # hess: (N0, N0, N_D)
    d1 = network.activation_slope(h)
    d2 = network.activation_second_derivative(h)
    # G = beta . phi(h^D) - beta0: one more step of the chain rule, contracted with beta
    grad = (beta * d1) @ jac
    second = np.einsum("i,ai,bi->ab", beta * d2, jac.T, jac.T) + hess @ (beta * d1)
    return float(beta @ network.activation(h) - beta0), grad, second


def find_boundary_point(network, beta, beta0: float, x0, *, tol: float = 1e-10,
                        max_iter: int = 200) -> np.ndarray:
    """Move x0 onto G = 0 by Newton steps along the gradient, x <- x - G grad G / |grad G|^2.

    Each step is the minimum-norm solution of the linearised equation (halved until |G|
    decreases), so the point found is close to x0.

    Parameters
    ----------
    network : sim.Network
        The network; G uses its last layer.
    beta : array_like of shape (N_D,)
        Readout weights of G(x) = beta . x^D(x) - beta_0.
    beta0 : float
        Readout offset beta_0.
    x0 : array_like of shape (N0,)
        Starting input point.
    tol : float
        Stop when |G| <= tol |beta|.
    max_iter : int
        Maximum number of Newton steps.

    Returns
    -------
    numpy.ndarray of shape (N0,)
        A point x with |G(x)| <= tol |beta|.

    Raises
    ------
    BoundaryError
        If |G| does not fall below ``tol`` |beta| within ``max_iter`` steps, the gradient
        vanishes or is not finite, or 60 halvings of a step do not decrease |G|.
    """
    x = np.array(x0, dtype=np.float64)
    scale = float(np.linalg.norm(beta))
    g, grad = classifier_value_and_gradient(network, beta, beta0, x)
    for _ in range(int(max_iter)):
        if abs(g) <= tol * scale:
            return x
        gg = grad @ grad
        if gg == 0 or not np.isfinite(gg):
            break
        step = g / gg * grad
        # backtracking: saturated units make full Newton steps overshoot
        for _ in range(60):
            g_new, grad_new = classifier_value_and_gradient(network, beta, beta0, x - step)
            if abs(g_new) < abs(g):
                break
            step = step / 2
        else:
            break
        x, g, grad = x - step, g_new, grad_new
    raise BoundaryError(f"no decision-boundary point found from this start within {max_iter} Newton steps "
                        f"(|G| = {abs(g):.3g}); try another start or beta0 inside the range of beta . x^D")


def principal_curvatures(network, beta, beta0: float, x) -> np.ndarray:
    """The N0 - 1 principal curvatures at a boundary point x, in decreasing order (Poole et al. 2016, Sec. 6).

    The eigenvalues of H = |grad G|^{-1} P (d^2G / dx dx^T) P on the tangent plane of
    the boundary at x (module docstring).

    Parameters
    ----------
    network : sim.Network
        The network; G uses its last layer.
    beta : array_like of shape (N_D,)
        Readout weights of G(x) = beta . x^D(x) - beta_0.
    beta0 : float
        Readout offset beta_0.
    x : array_like of shape (N0,)
        A point on the boundary G = 0 (e.g. from :func:`find_boundary_point`); not checked.

    Returns
    -------
    numpy.ndarray of shape (N0 - 1,)
        The principal curvatures, largest first (units of 1 / input length).

    Raises
    ------
    BoundaryError
        If grad G vanishes at x (no tangent plane).
    """
    _, grad, hess = classifier_hessian(network, beta, beta0, x)
    norm = np.linalg.norm(grad)
    if norm == 0:
        raise BoundaryError("grad G vanishes at this point: the boundary has no tangent plane there")
    n = grad / norm
    # orthonormal basis of the tangent plane: the last N0 - 1 columns of a QR started at n
    q, _ = np.linalg.qr(np.column_stack([n, np.eye(len(n))]))
    tangent = q[:, 1:len(n)]
    shape_operator = tangent.T @ hess @ tangent / norm
    return np.sort(np.linalg.eigvalsh(0.5 * (shape_operator + shape_operator.T)))[::-1]


@dataclass(frozen=True)
class BoundaryCurvatures:
    """Principal curvatures at boundary points, per depth (Fig. 4G).

    Attributes
    ----------
    depths : numpy.ndarray of int
        The depths D measured.
    curvatures : tuple of numpy.ndarray
        ``curvatures[d]`` is an (n_points, N0 - 1) array for depth ``depths[d]``, each row
        sorted in decreasing order.
    top : numpy.ndarray of shape (len(depths), k)
        ``top[d, i]``: the (i+1)-th largest curvature, averaged over points.
    bottom : numpy.ndarray of shape (len(depths), k)
        ``bottom[d, i]``: the (i+1)-th smallest curvature, averaged over points.
    """

    depths: np.ndarray
    curvatures: tuple
    top: np.ndarray
    bottom: np.ndarray

    def plot(self, ax=None):
        """Mean kappa_i and -kappa_{-i} against depth on a log scale (Poole et al. 2016, Fig. 4G).

        A log axis cannot show a mean that is not positive (a largest curvature <= 0 or a
        smallest one >= 0): such depths are left out of their curve, and the curve's legend
        entry says how many ("2 of 5 depths not > 0: not shown"), so none vanishes silently.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding ``ax``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.2, 3.4))
        ax.set_yscale("log")
        k = self.top.shape[1]
        n = len(self.depths)
        for i in range(k):
            for values, style, cmap, label in (
                    (self.top[:, i], "o-", plt.cm.Reds, rf"$\kappa_{{{i + 1}}}$"),
                    (-self.bottom[:, i], "s--", plt.cm.Blues, rf"$-\kappa_{{-{i + 1}}}$")):
                values = np.asarray(values, dtype=float)
                shown = values > 0          # NaN compares False: also counted as not shown
                hidden = n - int(shown.sum())
                if hidden:
                    label += f" ({hidden} of {n} depths not > 0: not shown)"
                ax.plot(self.depths, np.where(shown, values, np.nan), style, color=cmap(0.9 - 0.5 * i / k),
                        ms=3, label=label)
        ax.set_xlabel("depth D")
        ax.set_ylabel("principal curvature")
        ax.legend(fontsize=6, ncol=2, frameon=False)
        return ax.figure


def boundary_curvatures(phi, sigma_w: float, sigma_b: float, *, input_width: int, width: int, depths,
                        n_points: int = 10, k: int = 4, input_q: float = 1.0, seed=0,
                        progress: bool = False) -> BoundaryCurvatures:
    """Principal curvatures of the decision boundary of random networks of several depths.

    For each depth D, a network [input_width, width x D] and a random readout
    beta ~ N(0, 1/width), beta_0 = 0 are drawn; ``n_points`` starts x0 ~ N(0, input_q I)
    are moved onto the boundary (:func:`find_boundary_point`) and the principal
    curvatures are taken there (Poole et al. 2016, Sec. 6, Fig. 4G).

    Parameters
    ----------
    phi : Nonlinearity, str or sympy expression
        Pointwise nonlinearity (anything ``meanfield.Nonlinearity`` accepts).
    sigma_w : float
        Weight scale; W_ij ~ N(0, sigma_w^2 / N_{l-1}).
    sigma_b : float
        Bias scale; b_i ~ N(0, sigma_b^2).
    input_width : int
        N0, the input dimension; needs N0 - 1 >= 2k.
    width : int
        Width of every hidden layer.
    depths : sequence of int
        The depths D to measure.
    n_points : int
        Boundary points per depth.
    k : int
        How many of the largest and of the smallest curvatures to average.
    input_q : float
        Variance per coordinate of the starting points x0.
    seed : int
        Seeds the networks, readouts and starts (each depth independently).
    progress : bool
        Print a one-line counter on stderr.

    Returns
    -------
    BoundaryCurvatures
        All curvatures per depth and the averaged k largest / k smallest.

    Raises
    ------
    BoundaryError
        If ``input_width - 1 < 2 k``, or a start cannot be moved onto the boundary.
    """
    depths = np.asarray(depths, dtype=int)
    k = int(k)
    if input_width - 1 < 2 * k:
        raise BoundaryError(f"input_width - 1 = {input_width - 1} principal curvatures cannot give {k} largest "
                         f"and {k} smallest; use input_width >= {2 * k + 1} or smaller k")
    all_curv, top, bottom = [], [], []
    for d in depths:
        rng = np.random.default_rng((seed, int(d)))
        net = RandomNetwork(phi, [input_width] + [width] * int(d), sigma_w, sigma_b, seed=(seed, int(d), 0))
        beta = rng.standard_normal(width) / np.sqrt(width)
        rows = []
        for i in range(int(n_points)):
            if progress:
                print(f"\rboundary_curvatures: depth {d}, point {i + 1}/{n_points}", end="", file=sys.stderr,
                      flush=True)
            x0 = rng.standard_normal(input_width) * np.sqrt(input_q)
            x = find_boundary_point(net, beta, 0.0, x0)
            rows.append(principal_curvatures(net, beta, 0.0, x))
        rows = np.array(rows)
        all_curv.append(rows)
        top.append(rows[:, :k].mean(axis=0))
        bottom.append(rows[:, ::-1][:, :k].mean(axis=0))
    if progress:
        print(file=sys.stderr)
    return BoundaryCurvatures(depths, tuple(all_curv), np.array(top), np.array(bottom))
