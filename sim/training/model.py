"""Fully connected networks for training, initialised exactly as ``sim.RandomNetwork``.

    h^1 = W^1 x + b^1,   h^{l+1} = W^{l+1} phi(BN_l(h^l)) + b^{l+1}   (Poole et al. eq. 1),

with W^l_ij ~ N(0, sigma_w^2 / N_{l-1}), b^l_i ~ N(0, sigma_b^2) drawn by
``sim.RandomNetwork(phi, widths, sigma_w, sigma_b, seed)``: the step-0 network *is*
that network.  ``BN_l`` (optional, hidden layers only) is batch normalization of the
pre-activations, gamma (h - mean) / sqrt(var + eps) + beta, with batch statistics in
training and running (exponential moving average) statistics in evaluation; in
evaluation it is affine, so it folds into W^l, b^l and a trained network is again a
plain ``sim.Network``.  The last layer D is the readout (logits, no phi).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..networks.network import Network, RandomNetwork
from ._deps import require_jax
from .errors import TrainingError

BN_EPS = 1e-5
BN_MOMENTUM = 0.9      # running <- momentum * running + (1 - momentum) * batch


def sigma_w_for_weight_scale(weight_scale: float) -> float:
    """sigma_w with Var W = weight_scale * 2 / fan-in (HR Fig. 6 scales are relative to 2/fan-in).

    Hanin & Rolnick 2019, Fig. 6 train with weight variances c * 2 / fan-in; with
    W_ij ~ N(0, sigma_w^2 / N_{l-1}) that is sigma_w = sqrt(2 c).

    Parameters
    ----------
    weight_scale : float
        The factor c > 0 multiplying the He variance 2 / fan-in.

    Returns
    -------
    float
        sigma_w = sqrt(2 * weight_scale).

    Raises
    ------
    TrainingError
        If ``weight_scale`` is not a finite number > 0.
    """
    if not (math.isfinite(weight_scale) and weight_scale > 0):
        raise TrainingError(f"weight_scale must be a positive number, got {weight_scale}")
    return math.sqrt(2.0 * weight_scale)


@dataclass(frozen=True)
class NetworkSpec:
    """The parameters of ``sim.RandomNetwork`` plus optional batch normalization.

    Attributes
    ----------
    widths : tuple of int
        [N0, N1, ..., ND]: input, hidden widths, number of classes.
    phi : str or Nonlinearity
        Any nonlinearity meanfield accepts.
    sigma_w, sigma_b : float
        Standard deviations (default: He, sigma_w = sqrt(2), and sigma_b = 0.1).
    seed : int
        Seed of ``RandomNetwork`` (the initial weights).
    batch_norm : tuple of int
        Hidden layers l in 1..D-1 whose pre-activations h^l are batch-normalised.

    Raises
    ------
    TrainingError
        On construction: fewer than two widths, a width below 1, or a batch_norm layer
        outside 1..D-1.
    """

    widths: tuple
    phi: object = "relu"
    sigma_w: float = math.sqrt(2.0)
    sigma_b: float = 0.1
    seed: int = 0
    batch_norm: tuple = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(n) for n in self.widths))
        object.__setattr__(self, "batch_norm", tuple(sorted({int(l) for l in self.batch_norm})))
        if len(self.widths) < 2 or min(self.widths) < 1:
            raise TrainingError(f"widths must list at least [N0, ND], all >= 1; got {list(self.widths)}")
        bad = [l for l in self.batch_norm if not 1 <= l < self.depth]
        if bad:
            raise TrainingError(f"batch_norm layers must be hidden layers 1..{self.depth - 1}, got {bad}")

    @property
    def depth(self) -> int:
        """Number of weight layers D."""
        return len(self.widths) - 1

    def random_network(self) -> RandomNetwork:
        """The float64 ``sim.RandomNetwork`` that is the step-0 network.

        Returns
        -------
        RandomNetwork
            ``RandomNetwork(phi, widths, sigma_w, sigma_b, seed=seed)``; batch
            normalization is not part of it.

        Raises
        ------
        TrainingError
            If ``RandomNetwork`` refuses the parameters (bad phi, negative sigma, ...).
        """
        try:
            return RandomNetwork(self.phi, self.widths, self.sigma_w, self.sigma_b, seed=self.seed)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None


def init_params(spec: NetworkSpec, dtype=np.float32) -> list[dict]:
    """Parameters as a list of per-layer dicts {"w": (N_l, N_{l-1}), "b": (N_l,)[, "gamma", "beta"]}.

    numpy arrays of ``dtype``, copied from ``spec.random_network()``; BN layers start
    at gamma = 1, beta = 0.

    Parameters
    ----------
    spec : NetworkSpec
        Architecture and initialisation.
    dtype : numpy dtype
        Floating-point type of the arrays (float32 or float64).

    Returns
    -------
    list of dict
        One dict per layer l = 1..D: ``"w"`` of shape (N_l, N_{l-1}), ``"b"`` of shape (N_l,),
        and for batch-normalised layers ``"gamma"`` (ones) and ``"beta"`` (zeros), shape (N_l,).

    Raises
    ------
    TrainingError
        If the network cannot be drawn (see :meth:`NetworkSpec.random_network`).
    """
    net = spec.random_network()
    params = []
    for l, (w, b) in enumerate(zip(net.weights, net.biases), start=1):
        layer = {"w": w.astype(dtype), "b": b.astype(dtype)}
        if l in spec.batch_norm:
            layer["gamma"] = np.ones(w.shape[0], dtype)
            layer["beta"] = np.zeros(w.shape[0], dtype)
        params.append(layer)
    return params


def init_bn_state(spec: NetworkSpec, dtype=np.float32) -> dict:
    """Running statistics {str(l): {"mean", "var"}} of every BN layer, starting at 0 and 1.

    Parameters
    ----------
    spec : NetworkSpec
        Architecture (its ``batch_norm`` layers).
    dtype : numpy dtype
        Floating-point type of the arrays.

    Returns
    -------
    dict
        ``{str(l): {"mean": zeros(N_l), "var": ones(N_l)}}`` for each l in ``spec.batch_norm``
        (empty without batch normalization).
    """
    return {str(l): {"mean": np.zeros(spec.widths[l], dtype), "var": np.ones(spec.widths[l], dtype)}
            for l in spec.batch_norm}


def forward(params, bn_state, x, phi_fn, *, train: bool = False):
    """JAX forward pass: ([h^1, ..., h^D], new_bn_state).

    ``h^l`` are the pre-activations after BN where BN sits (what phi sees); ``h^D``
    are the logits.  ``train`` uses batch statistics in BN and returns updated
    running statistics; otherwise running statistics are used and returned unchanged.
    The recursion is Poole et al. 2016, eq. (1), with BN inserted before phi.

    Parameters
    ----------
    params : list of dict
        Per-layer parameters (:func:`init_params` layout), numpy or JAX arrays.
    bn_state : dict
        Running statistics (:func:`init_bn_state` layout); its keys say which layers are normalised.
    x : array of shape (n, N0)
        Inputs, one per row.
    phi_fn : callable
        Elementwise JAX nonlinearity (:func:`sim.training.phi_jax.jax_phi`).
    train : bool
        Batch statistics and updated running statistics (momentum ``BN_MOMENTUM``) if
        True; running statistics otherwise.

    Returns
    -------
    hs : list of jax.Array
        ``[h^1, ..., h^D]``, each of shape (n, N_l); ``h^D`` are the logits.
    new_bn_state : dict
        Updated running statistics if ``train``, else a copy of ``bn_state``.

    Raises
    ------
    MissingDependencyError
        If JAX or optax is not installed.
    """
    _, jnp, _ = require_jax()
    hs, new_state = [], dict(bn_state)
    z = x
    depth = len(params)
    for l, layer in enumerate(params, start=1):
        h = z @ layer["w"].T + layer["b"]
        key = str(l)
        if key in bn_state:
            if train:
                mean, var = h.mean(axis=0), h.var(axis=0)
                run = bn_state[key]
                new_state[key] = {"mean": BN_MOMENTUM * run["mean"] + (1 - BN_MOMENTUM) * mean,
                                  "var": BN_MOMENTUM * run["var"] + (1 - BN_MOMENTUM) * var}
            else:
                mean, var = bn_state[key]["mean"], bn_state[key]["var"]
            h = layer["gamma"] * (h - mean) / jnp.sqrt(var + BN_EPS) + layer["beta"]
        hs.append(h)
        if l < depth:
            z = phi_fn(h)
    return hs, new_state


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy -1/n sum_i log softmax(logits_i)[y_i] (optax).

    Parameters
    ----------
    logits : array of shape (n, N_D)
        The outputs h^D.
    labels : array of int, shape (n,)
        Class indices in 0..N_D - 1.

    Returns
    -------
    jax.Array
        The mean cross-entropy (a scalar).

    Raises
    ------
    MissingDependencyError
        If JAX or optax is not installed.
    """
    _, _, optax = require_jax()
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def loss(params, bn_state, x, y, phi_fn, *, train: bool = False):
    """(cross-entropy of the logits, new_bn_state); the training objective without regularization.

    Parameters
    ----------
    params : list of dict
        Per-layer parameters (:func:`init_params` layout).
    bn_state : dict
        Running statistics (:func:`init_bn_state` layout).
    x : array of shape (n, N0)
        Inputs.
    y : array of int, shape (n,)
        Labels in 0..N_D - 1.
    phi_fn : callable
        Elementwise JAX nonlinearity.
    train : bool
        Batch statistics in BN (see :func:`forward`).

    Returns
    -------
    loss : jax.Array
        The mean cross-entropy (:func:`cross_entropy`), a scalar.
    new_bn_state : dict
        As returned by :func:`forward`.

    Raises
    ------
    MissingDependencyError
        If JAX or optax is not installed.
    """
    hs, new_state = forward(params, bn_state, x, phi_fn, train=train)
    return cross_entropy(hs[-1], y), new_state


def polyline_lengths(hs, layers) -> list:
    """Sum of distances between consecutive rows of h^l for each l in ``layers`` (1-based).

    The length of the polyline through the images of consecutive points: a discrete
    trajectory length (Raghu et al. 2017, Theorem 1 measures its growth with depth).
    Coinciding consecutive points contribute 0 with gradient 0 (not NaN).

    Parameters
    ----------
    hs : list of array
        ``[h^1, ..., h^D]`` from :func:`forward`, each of shape (n, N_l).
    layers : iterable of int
        Layers l (1-based) to measure.

    Returns
    -------
    list of jax.Array
        One scalar length per entry of ``layers``, in that order.

    Raises
    ------
    MissingDependencyError
        If JAX or optax is not installed.
    """
    _, jnp, _ = require_jax()
    out = []
    for l in layers:
        d2 = ((hs[l - 1][1:] - hs[l - 1][:-1]) ** 2).sum(axis=1)
        # sqrt has an infinite derivative at 0: two consecutive points mapped to one (saturated units) would
        # make the gradient NaN; the distance there is 0 with gradient 0 instead
        pos = d2 > 0
        out.append(jnp.where(pos, jnp.sqrt(jnp.where(pos, d2, 1.0)), 0.0).sum())
    return out


def to_network(spec: NetworkSpec, params, bn_state, init=None, init64: Network | None = None) -> Network:
    """The network as a float64 ``sim.Network`` (BN folded in with its running statistics).

    When trained in float32, the float64 weights are the float64 initialisation plus
    the training update, W64 = W_init64 + (W - W_init) with the difference taken in
    float64 (exact): at step 0 and in frozen layers the network is bitwise the
    ``RandomNetwork``.  Pass ``init`` (the initial params) and ``init64`` for that;
    without them the params are converted directly.

    In evaluation mode BN is the affine map h -> gamma (h - mean) / sqrt(var + eps) + beta,
    so it is folded into layer l as W <- s W, b <- s (b - mean) + beta with
    s = gamma / sqrt(var + eps).

    Parameters
    ----------
    spec : NetworkSpec
        Architecture (gives phi when ``init64`` is not passed).
    params : list of dict
        Trained per-layer parameters (:func:`init_params` layout).
    bn_state : dict
        Running statistics of the BN layers (:func:`init_bn_state` layout).
    init : list of dict, optional
        The initial parameters in the training dtype (from :func:`init_params`).
    init64 : Network, optional
        The float64 step-0 network (``spec.random_network()``).

    Returns
    -------
    Network
        The float64 network computing the same function as ``params`` in evaluation mode.
    """
    weights, biases = [], []
    for l, layer in enumerate(params, start=1):
        w = np.asarray(layer["w"], dtype=np.float64)
        b = np.asarray(layer["b"], dtype=np.float64)
        if init is not None and init64 is not None:
            w = init64.weights[l - 1] + (w - np.asarray(init[l - 1]["w"], dtype=np.float64))
            b = init64.biases[l - 1] + (b - np.asarray(init[l - 1]["b"], dtype=np.float64))
        if str(l) in bn_state:
            run = bn_state[str(l)]
            scale = (np.asarray(layer["gamma"], np.float64)
                     / np.sqrt(np.asarray(run["var"], np.float64) + BN_EPS))
            b = scale * (b - np.asarray(run["mean"], np.float64)) + np.asarray(layer["beta"], np.float64)
            w = scale[:, None] * w
        weights.append(w)
        biases.append(b)
    return Network(init64.phi if init64 is not None else spec.phi, weights, biases)
