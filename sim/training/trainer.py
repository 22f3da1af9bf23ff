"""Cross-entropy training of a ``NetworkSpec`` network with optax, measured on a schedule.

The objective on a mini-batch (x_i, y_i) is

    L = -1/B sum_i log softmax(h^D(x_i))[y_i]  +  lambda sum_{l in reg_layers} len_l(theta) / len_l(theta_0),

len_l = sum_k || h^l(c_{k+1}) - h^l(c_k) || the polyline length of the image in layer l
of an interpolation c_1..c_n (``TrainConfig.reg_curve``, or the mini-batch in its
order), theta_0 the initial parameters (Raghu et al. slides, "trajectory
regularization").  One compiled function runs any number of consecutive steps
(``lax.fori_loop`` over the batches of an epoch, traced once), so a run compiles once.
"""
from __future__ import annotations

import math
import pathlib
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from ..networks.network import Network
from ._deps import require_jax
from .config import Optimizer, Precision, TrainConfig
from .errors import DivergedError, TrainingError
from .history import History, Snapshot, Timing
from .model import NetworkSpec, forward, init_bn_state, init_params, loss, polyline_lengths, to_network
from .phi_jax import _compiled as _phi_compiled
from .schedule import measurement_steps


def trajectory_reg_term(params, params0, curve, phi_fn, lam: float, layers, bn_state=None, bn_state0=None):
    """lambda sum_l len_l(params) / len_l(params0) for the interpolation ``curve`` (n, N0) (JAX).

    Lengths are those of the pre-activations h^l (after BN where it sits, in
    evaluation mode), exactly the polyline lengths ``sim.trajectory_length`` reports
    as ``length_h[l]`` for smooth phi on the same points.  This is the trajectory
    regularization of the lecture slides on Raghu et al. 2017.

    Parameters
    ----------
    params : list of dict
        Current per-layer parameters (:func:`sim.training.model.init_params` layout).
    params0 : list of dict
        The initial parameters theta_0.
    curve : array of shape (n, N0)
        The interpolation c_1..c_n, n >= 2.
    phi_fn : callable
        Elementwise JAX nonlinearity.
    lam : float
        The weight lambda of the term.
    layers : sequence of int
        Layers l (1-based) whose lengths enter the sum.
    bn_state : dict, optional
        Running BN statistics of ``params`` (default: none).
    bn_state0 : dict, optional
        Running BN statistics of ``params0`` (default: ``bn_state``).

    Returns
    -------
    jax.Array
        The scalar term (0 if ``layers`` is empty).

    Raises
    ------
    MissingDependencyError
        If JAX or optax is not installed.
    """
    _, jnp, _ = require_jax()
    bn_state = {} if bn_state is None else bn_state
    bn_state0 = bn_state if bn_state0 is None else bn_state0
    cur = polyline_lengths(forward(params, bn_state, curve, phi_fn)[0], layers)
    orig = polyline_lengths(forward(params0, bn_state0, curve, phi_fn)[0], layers)
    return lam * sum(c / o for c, o in zip(cur, orig)) if layers else jnp.zeros(())


def _check_data(spec: NetworkSpec, data):
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    xt, yt = np.asarray(data.x_test), np.asarray(data.y_test)
    for name, arr in (("x_train", x), ("x_test", xt)):
        if arr.size and not np.issubdtype(arr.dtype, np.floating):
            raise TrainingError(f"{name} must hold float features (n, {spec.widths[0]}); got dtype {arr.dtype} "
                                f"(call Dataset.scaled() on raw images)")
        if arr.size and (arr.ndim != 2 or arr.shape[1] != spec.widths[0]):
            raise TrainingError(f"{name} must have shape (n, {spec.widths[0]}) to match widths[0], got {arr.shape}")
    n_out = spec.widths[-1]
    for name, lab, arr in (("y_train", y, x), ("y_test", yt, xt)):
        if lab.shape != (arr.shape[0],):
            raise TrainingError(f"{name} must have one label per sample ({arr.shape[0]}), got shape {lab.shape}")
        if lab.size and (lab.min() < 0 or lab.max() >= n_out):
            raise TrainingError(f"{name} must lie in 0..{n_out - 1} (the output width), found {lab.min()}..{lab.max()}")
    return x, y, xt, yt


def train(spec: NetworkSpec, data, config: TrainConfig | None = None, *, steps=None,
          measure: Mapping[str, Callable[[Network], object]] | None = None, keep_snapshots: bool = False,
          snapshot_dir=None, progress: bool = False) -> History:
    """Train ``spec``'s network on ``data`` and measure it on a schedule.

    Parameters
    ----------
    spec : NetworkSpec
        Architecture and initialisation (step 0 is ``spec.random_network()``).
    data : sim.data.Dataset (or anything with x_train, y_train, x_test, y_test)
        Float features (n, N0) (``Dataset.scaled()``) and integer labels < N_D.
        The test part may be empty (its columns are then NaN).
    config : TrainConfig, optional
        Default ``TrainConfig()``.
    steps : sequence of int, optional
        Measurement steps (updates done), e.g. ``measurement_steps(...)``; step 0
        and the last step are always added.  Default: every epoch.
    measure : mapping name -> f(sim.Network), optional
        Called at each measurement step on the float64 network; the value goes into
        the row under ``name`` (e.g. region counts, ``sim.trajectory_length``).
    keep_snapshots : bool
        Keep a ``Snapshot`` per measurement step in ``History.snapshots``.
    snapshot_dir : path, optional
        Also write each snapshot as ``snapshot_<step>.npz`` there.
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    History
        One row per measurement step, the final network, snapshots (if kept) and timings.

    Raises
    ------
    TrainingError
        Bad data shapes or labels, a batch larger than the training set, a schedule
        outside 0..total steps, trainable or regularized layers outside 1..D, a bad
        ``reg_curve``, or a measurement name that clashes with the history's columns.
    DivergedError
        The training loss became NaN or infinite.
    MissingDependencyError
        JAX or optax missing (``pip install 'meanfield[train]'``).
    """
    jax, _, _ = require_jax()
    config = TrainConfig() if config is None else config
    x, y, xt, yt = _check_data(spec, data)
    n = x.shape[0]
    if n < config.batch_size:
        raise TrainingError(f"batch_size {config.batch_size} exceeds the {n} training samples; use a smaller batch")
    spe = n // config.batch_size
    total = spe * config.epochs
    sched = measurement_steps(spe, config.epochs) if steps is None else tuple(int(s) for s in steps)
    if sched and (min(sched) < 0 or max(sched) > total):
        raise TrainingError(f"measurement steps must lie in 0..{total} ({config.epochs} epochs of {spe} steps), "
                            f"got {min(sched)}..{max(sched)}")
    sched = tuple(sorted(set(sched) | {0, total}))
    depth = spec.depth
    trainable = tuple(range(1, depth + 1)) if config.trainable is None else config.trainable
    if not set(trainable) <= set(range(1, depth + 1)):
        raise TrainingError(f"trainable layers must lie in 1..{depth}, got {list(trainable)}")
    reg_layers = tuple(range(1, depth)) if config.reg_layers is None else config.reg_layers
    if not set(reg_layers) <= set(range(1, depth + 1)):
        raise TrainingError(f"reg_layers must lie in 1..{depth}, got {list(reg_layers)}")
    if config.reg_curve is not None:
        rc = np.asarray(config.reg_curve)
        if rc.ndim != 2 or rc.shape[1] != spec.widths[0] or rc.shape[0] < 2:
            raise TrainingError(f"reg_curve must be (n >= 2, {spec.widths[0]}) points, got shape {rc.shape}")
    measure = dict(measure or {})
    clash = set(measure) & {"step", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    if clash:
        raise TrainingError(f"measurement names {sorted(clash)} clash with the history's own columns; rename them")

    x64 = config.precision is Precision.FLOAT64
    with (jax.enable_x64(True) if x64 else nullcontext()):
        return _run(spec, config, x, y, xt, yt, spe, total, sched, trainable, reg_layers, measure,
                    keep_snapshots, snapshot_dir, progress)


@lru_cache(maxsize=32)
def _compiled(widths, phi, batch_norm, depth, trainable, optimizer, lr, momentum, lam, reg_layers, fixed_curve, bs,
              x64):
    """(run_steps, evaluate), jit-compiled; cached so repeated runs (other seeds) compile once."""
    jax, _, optax = require_jax()
    phi_fn = _phi_compiled(*phi)
    t_idx = [l - 1 for l in trainable]
    f_idx = [l - 1 for l in range(1, depth + 1) if l not in trainable]
    if optimizer is Optimizer.ADAM:
        opt = optax.adam(lr)
    else:
        opt = optax.sgd(lr, momentum=momentum or None)

    def merge(tp, fp):
        params = [None] * depth
        for i, p in zip(t_idx, tp):
            params[i] = p
        for i, p in zip(f_idx, fp):
            params[i] = p
        return params

    def objective(tp, fp, bn_state, xb, yb, params0, bn0, curve):
        params = merge(tp, fp)
        value, new_bn = loss(params, bn_state, xb, yb, phi_fn, train=True)
        if lam > 0:
            c = curve if fixed_curve else xb
            value = value + trajectory_reg_term(params, params0, c, phi_fn, lam, reg_layers, bn_state, bn0)
        return value, new_bn

    grad_fn = jax.value_and_grad(objective, has_aux=True)

    @jax.jit
    def run_steps(tp, opt_state, bn_state, fp, params0, bn0, curve, xs, ys, perm, start, stop):
        def body(i, carry):
            tp, opt_state, bn_state = carry
            idx = jax.lax.dynamic_slice(perm, (i * bs,), (bs,))
            (_, bn_state), g = grad_fn(tp, fp, bn_state, xs[idx], ys[idx], params0, bn0, curve)
            updates, opt_state = opt.update(g, opt_state, tp)
            return optax.apply_updates(tp, updates), opt_state, bn_state

        return jax.lax.fori_loop(start, stop, body, (tp, opt_state, bn_state))

    @jax.jit
    def evaluate(params, bn_state, xs, ys):
        logits = forward(params, bn_state, xs, phi_fn)[0][-1]
        return (optax.softmax_cross_entropy_with_integer_labels(logits, ys).mean(),
                (logits.argmax(axis=1) == ys).mean())

    return run_steps, evaluate, opt, merge, t_idx, f_idx


def _run(spec, config, x, y, xt, yt, spe, total, sched, trainable, reg_layers, measure, keep_snapshots,
         snapshot_dir, progress):
    jax, jnp, _ = require_jax()
    x64 = config.precision is Precision.FLOAT64
    dtype = np.float64 if x64 else np.float32
    net0 = spec.random_network()
    params0_np = init_params(spec, dtype)
    bn0_np = init_bn_state(spec, dtype)
    params0 = jax.tree_util.tree_map(jnp.asarray, params0_np)
    bn0 = jax.tree_util.tree_map(jnp.asarray, bn0_np)
    bs = config.batch_size
    fixed = config.reg_curve is not None
    curve = jnp.asarray(np.asarray(config.reg_curve, dtype) if fixed else np.zeros((2, spec.widths[0]), dtype))
    run_steps, evaluate, opt, merge, t_idx, f_idx = _compiled(
        spec.widths, (net0.phi.key, net0.phi.pw, net0.phi.d1), spec.batch_norm, spec.depth, trainable,
        config.optimizer, float(config.lr), float(config.momentum), float(config.trajectory_reg), reg_layers,
        fixed, bs, x64)

    xs, ys = jnp.asarray(x.astype(dtype, copy=False)), jnp.asarray(y.astype(np.int32))
    xts, yts = jnp.asarray(xt.astype(dtype, copy=False)), jnp.asarray(yt.astype(np.int32))
    tp = [params0[i] for i in t_idx]
    fp = [params0[i] for i in f_idx]
    opt_state = opt.init(tp)
    bn_state = bn0
    order = np.random.default_rng(config.seed)
    perm, perm_epoch = None, -1
    rows, snaps = [], []
    t_train = t_eval = t_meas = 0.0
    snap_dir = None if snapshot_dir is None else pathlib.Path(snapshot_dir)
    if snap_dir is not None:
        snap_dir.mkdir(parents=True, exist_ok=True)
    cur = 0
    net = net0
    for target in sched:
        t0 = time.perf_counter()
        while cur < target:
            epoch = cur // spe
            if epoch != perm_epoch:
                perm = jnp.asarray(order.permutation(x.shape[0])[:spe * bs].astype(np.int32))
                perm_epoch = epoch
            i0 = cur - epoch * spe
            stop = min(target, (epoch + 1) * spe)
            tp, opt_state, bn_state = run_steps(tp, opt_state, bn_state, fp, params0, bn0, curve, xs, ys, perm,
                                                    i0, i0 + stop - cur)
            cur = stop
            if progress:
                _progress(cur, total)
        jax.block_until_ready(tp)
        t1 = time.perf_counter()
        params = merge(tp, fp)
        tr_loss, tr_acc = (float(v) for v in evaluate(params, bn_state, xs, ys))
        if not math.isfinite(tr_loss):
            raise DivergedError(f"the training loss is {tr_loss} at step {cur} (lr {config.lr}); "
                                f"lower the learning rate or the weight scale")
        te_loss, te_acc = ((float(v) for v in evaluate(params, bn_state, xts, yts)) if xt.shape[0]
                           else (math.nan, math.nan))
        t2 = time.perf_counter()
        # bitwise net0 at step 0 and in frozen layers (no BN): see model.to_network
        net = to_network(spec, jax.device_get(params), jax.device_get(bn_state), params0_np, net0)
        row = {"step": cur, "epoch": cur / spe, "train_loss": tr_loss, "train_accuracy": tr_acc,
               "test_loss": te_loss, "test_accuracy": te_acc}
        for name, f in measure.items():
            row[name] = f(net)
        t3 = time.perf_counter()
        rows.append(row)
        if keep_snapshots or snap_dir is not None:
            snap = Snapshot(cur, cur / spe, net)
            if keep_snapshots:
                snaps.append(snap)
            if snap_dir is not None:
                snap.save(snap_dir / f"snapshot_{cur:08d}.npz")
        t_train += t1 - t0
        t_eval += t2 - t1
        t_meas += t3 - t2
    if progress:
        sys.stderr.write("\n")
    return History(rows, spe, net, tuple(snaps), Timing(t_train, t_eval, t_meas))


def _progress(done: int, total: int) -> None:
    k = int(30 * done / max(total, 1))
    sys.stderr.write(f"\r  training [{'#' * k}{'.' * (30 - k)}] step {done}/{total}")
    sys.stderr.flush()
