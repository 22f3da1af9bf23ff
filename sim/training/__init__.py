"""Training fully connected networks on real data with JAX + optax, measured as ``sim.Network``.

Importing this package does not import JAX; the first call that trains does, and
raises ``MissingDependencyError`` (``pip install 'meanfield[train]'``) without it.

Public API
----------
NetworkSpec(widths, phi="relu", sigma_w=sqrt(2), sigma_b=0.1, seed=0, batch_norm=())
    widths = [N0, N1, ..., ND] (input, hidden, classes).  Step 0 is exactly
    ``sim.RandomNetwork(phi, widths, sigma_w, sigma_b, seed)`` (``.random_network()``).
    ``batch_norm``: hidden layers l (1..D-1) whose pre-activations are batch-normalised.
sigma_w_for_weight_scale(weight_scale) -> sqrt(2 * weight_scale)
    HR Fig. 6 weight scales are relative to Var W = 2 / fan-in.
TrainConfig(lr=1e-3, epochs=1, batch_size=128, optimizer="adam"|"sgd", momentum=0.0,
            trainable=None | (layers 1..D), trajectory_reg=0.0 (lambda),
            reg_layers=None (all hidden), reg_curve=None | (n, N0) array, seed=0,
            precision="float32"|"float64")
train(spec, data, config, *, steps=None, measure=None, keep_snapshots=False,
      snapshot_dir=None, progress=False) -> History
    ``data``: a ``sim.data.Dataset`` with float features (``Dataset.scaled()``).
    ``steps``: measurement steps (updates done; 0 and the last always included);
    ``measure``: {name: f(sim.Network float64) -> value} evaluated at every step.
measurement_steps(steps_per_epoch, epochs, dense_epochs=0, n_dense=0, per_epoch=1)
    Schedule helper: dense early (HR Fig. 3 left), then per epoch.
History(rows, steps_per_epoch, final, snapshots, timing)
    ``rows``: list of dicts with step, epoch, train_loss, train_accuracy, test_loss,
    test_accuracy and one key per measurement; ``.column(name)``, ``.columns``,
    ``.to_csv(path)`` (sequence values -> name_0.., mappings -> name_key),
    ``.plot()``; ``final``: trained float64 ``sim.Network``; ``timing``:
    ``Timing(train_seconds, evaluate_seconds, measure_seconds)``, ``.measure_share``.
Snapshot(step, epoch, network), .save(path); load_snapshot(path)
evaluate_network(net, x, y) -> Evaluation(loss, accuracy)
    numpy float64 cross-entropy and accuracy of any ``sim.Network`` (e.g. a trained
    network with noise added at one layer).
trajectory_reg_term(params, params0, curve, phi_fn, lam, layers, bn_state=None, bn_state0=None)
    lambda sum_l len_l(params) / len_l(params0) (JAX), the regularizer the trainer adds.
Model functions (JAX): jax_phi(phi), init_params(spec, dtype), init_bn_state(spec, dtype),
    forward(params, bn_state, x, phi_fn, train=False) -> ([h^1..h^D], bn_state),
    loss(...) -> (cross-entropy, bn_state), cross_entropy(logits, labels),
    polyline_lengths(hs, layers), to_network(spec, params, bn_state, init, init64) -> sim.Network.
    params: list over layers of dicts {"w": (N_l, N_{l-1}), "b": (N_l,)[, "gamma", "beta"]}.
Errors: TrainingError(SimError) > MissingDependencyError, DivergedError.
Enums: Optimizer (ADAM, SGD), Precision (FLOAT32, FLOAT64).

Reproducibility: same spec, data, config -> the same History bit for bit on CPU.
Training runs in float32 by default; measurements get the float64 network
W_init64 + (W - W_init), bitwise the initial network at step 0 and in frozen layers.
"""
from .config import Optimizer, Precision, TrainConfig
from .errors import DivergedError, MissingDependencyError, TrainingError
from .evaluate import Evaluation, evaluate_network
from .history import BASE_COLUMNS, History, Snapshot, Timing, load_snapshot
from .model import (
    NetworkSpec,
    cross_entropy,
    forward,
    init_bn_state,
    init_params,
    loss,
    polyline_lengths,
    sigma_w_for_weight_scale,
    to_network,
)
from .phi_jax import jax_phi
from .schedule import measurement_steps
from .trainer import train, trajectory_reg_term

__all__ = [
    "BASE_COLUMNS",
    "DivergedError",
    "Evaluation",
    "History",
    "MissingDependencyError",
    "NetworkSpec",
    "Optimizer",
    "Precision",
    "Snapshot",
    "Timing",
    "TrainConfig",
    "TrainingError",
    "cross_entropy",
    "evaluate_network",
    "forward",
    "init_bn_state",
    "init_params",
    "jax_phi",
    "load_snapshot",
    "loss",
    "measurement_steps",
    "polyline_lengths",
    "sigma_w_for_weight_scale",
    "to_network",
    "train",
    "trajectory_reg_term",
]
