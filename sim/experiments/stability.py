"""Raghu et al. slides: perturbations grow with the remaining depth; trajectory regularization.

* ``noise-depth``: a network is trained on MNIST, then Gaussian noise of a fixed
  *relative* size eps is added to the pre-activations of one hidden layer l,
  h^l <- h^l + eps rms(h^l) xi with xi ~ N(0, I) and rms(h^l) the root mean square
  of h^l over the test set, and the rest of the network is applied unchanged.  We
  record the test accuracy and the relative change of the logits ||dh^D|| / ||h^D||.
  The claim: the damage grows with the remaining depth D - l.
* ``trajectory-regularization``: the same chaotic network trained three ways: plain,
  with batch normalization of every hidden layer, and with lambda * sum_l current
  length / original length of the mini-batch's polyline at every hidden layer (where
  batch normalization would sit) added to the loss (``sim.training``).  Recorded:
  accuracy and the trajectory length per layer of a great circle between two test
  images, through training.
"""
from __future__ import annotations

import math

import numpy as np

from .common import (
    BASE,
    ExperimentError,
    ExperimentResult,
    Settings,
    history_rows,
    log_steps,
    mnist,
    pick,
    rows_result,
    run_grid,
    run_seed,
)
from .raghu import PHI, SIGMA_B


def noisy_forward(net, x, layer: int, eps: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """(logits with noise eps rms(h^layer) xi added to h^layer, clean logits), float64.

    rms(h^layer) is the root mean square of the clean pre-activations over all of ``x``
    and all units; xi ~ N(0, I) has the shape of h^layer; the layers above are applied
    unchanged to the perturbed pre-activations.

    Parameters
    ----------
    net : sim.Network
        The (trained) float64 network.
    x : array_like of shape (n, N0)
        Inputs.
    layer : int
        The layer l in 1..D whose pre-activations h^l are perturbed.
    eps : float
        Relative size of the noise (0: none).
    rng : numpy.random.Generator
        Source of xi.

    Returns
    -------
    noisy : numpy.ndarray of shape (n, N_D)
        Logits of the perturbed pass.
    clean : numpy.ndarray of shape (n, N_D)
        Logits without noise.
    """
    h = np.asarray(x, np.float64) @ net.weights[0].T + net.biases[0]
    clean = noisy = h
    for l in range(1, net.depth + 1):
        if l == layer:
            rms = math.sqrt(float(np.mean(clean ** 2)))
            noisy = clean + eps * rms * rng.standard_normal(clean.shape)
        if l == net.depth:
            break
        w, b = net.weights[l], net.biases[l]
        clean = np.asarray(net.activation(clean), np.float64) @ w.T + b
        noisy = np.asarray(net.activation(noisy), np.float64) @ w.T + b
    return noisy, clean


def noise_run(*, replicate: int, epochs: int, n_train, n_test, width: int, depth: int, sigma_w2: float,
              noises: list, n_draws: int, batch_size: int, lr: float, seed: int, data=None,
              precision: str = "float32") -> dict:
    """Train once, then perturb each hidden layer by each relative noise size.

    A task of the sweep engine: one trained network of ``noise-depth``; each (layer,
    eps) is measured on the test set with ``n_draws`` noise draws (:func:`noisy_forward`).

    Parameters
    ----------
    replicate : int
        Run number (enters the seed only).
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    width, depth : int
        Hidden-layer width and number of hidden layers.
    sigma_w2 : float
        Weight variance sigma_w^2 at initialisation.
    noises : list of float
        Relative noise sizes eps.
    n_draws : int
        Noise draws averaged per (layer, eps).
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    seed : int
        The run's seed (weights, batch order; noise from ``[seed, 5]``).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        One row per (layer, eps): ``step``, ``epoch``, ``train_accuracy`` of the trained
        network, ``layer``, ``remaining_depth`` = depth - layer, ``noise``, ``test_accuracy``
        (mean over draws), ``clean_test_accuracy``, ``accuracy_drop``, ``output_change``
        (mean ||dh^D|| / ||h^D||) and ``trainer_test_accuracy``.
    """
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    spec = NetworkSpec([ds.x_train.shape[1]] + [width] * depth + [10], PHI, math.sqrt(sigma_w2), SIGMA_B,
                       seed=seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision)
    hist = train(spec, ds, cfg, steps=[])
    last = hist.rows[-1]
    net = hist.final
    rng = np.random.default_rng([seed, 5])
    y = ds.y_test
    rows = []
    for layer in range(1, depth + 1):
        for eps in noises:
            acc, change = [], []
            for _ in range(n_draws):
                noisy, clean = noisy_forward(net, ds.x_test, layer, float(eps), rng)
                acc.append(np.mean(np.argmax(noisy, axis=1) == y))
                change.append(np.linalg.norm(noisy - clean) / np.linalg.norm(clean))
            clean_acc = float(np.mean(np.argmax(clean, axis=1) == y))
            rows.append({"step": int(last["step"]), "epoch": float(last["epoch"]),
                         "train_accuracy": float(last["train_accuracy"]), "layer": layer,
                         "remaining_depth": depth - layer, "noise": float(eps),
                         "test_accuracy": float(np.mean(acc)), "clean_test_accuracy": clean_acc,
                         "accuracy_drop": clean_acc - float(np.mean(acc)),
                         "output_change": float(np.mean(change)),
                         "trainer_test_accuracy": float(last["test_accuracy"])})
    return rows_result(rows)


NOISE = {
    "quick": {"runs": 1, "epochs": 1, "n_train": 512, "n_test": 256, "width": 16, "depth": 3, "sigma_w2": 4.0,
              "noises": [0.0, 0.5], "n_draws": 2, "batch_size": 64},
    "full": {"runs": 3, "epochs": 3, "n_train": None, "n_test": None, "width": 64, "depth": 6, "sigma_w2": 4.0,
             "noises": [0.0, 0.1, 0.3, 1.0], "n_draws": 3, "batch_size": 128},
}


def noise_depth(settings: Settings) -> ExperimentResult:
    """Slides: Gaussian noise of fixed relative size at one layer of a trained network.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per trained network, layer and noise size (see :func:`noise_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = NOISE["quick" if settings.quick else "full"]
    runs = [{"replicate": r, "epochs": s["epochs"], "n_train": s["n_train"], "n_test": s["n_test"], "width": s["width"],
             "depth": s["depth"], "sigma_w2": s["sigma_w2"], "noises": s["noises"], "n_draws": s["n_draws"],
             "batch_size": s["batch_size"], "lr": 1e-3} for r in range(s["runs"])]
    notes = {"paper": "Raghu et al. slides, 'a perturbation at a layer grows exponentially in the remaining depth'",
             "scale": f"hard tanh, {s['depth']} hidden layers of width {s['width']}, sigma_w^2 = {s['sigma_w2']:g}, "
                      f"{s['runs']} trained network(s), {s['epochs']} epoch(s) on {s['n_train'] or 60000} images; "
                      f"noise eps in {s['noises']} x rms(h^l), {s['n_draws']} draws each on "
                      f"{s['n_test'] or 10000} test images"}
    return run_grid("noise-depth", "sim.experiments.stability:noise_run", runs, settings,
                    columns=BASE + ("layer", "noise", "test_accuracy", "remaining_depth", "accuracy_drop",
                                    "output_change"), notes=notes, shared={"data": settings.data})


def plot_noise_depth(result: ExperimentResult):
    """Damage of the noise against the layer where it is added, one curve per eps > 0.

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`noise_depth`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: test accuracy lost and relative change of the logits (log scale)
        against the layer, mean +- std over trained networks.
    """
    import matplotlib.pyplot as plt

    t = result.table
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for eps in [e for e in t.unique("noise") if e > 0]:
        sub = t.where(noise=eps)
        layers = sub.unique("layer")
        for ax, col in zip(axes, ("accuracy_drop", "output_change")):
            m = [np.mean(sub.where(layer=l)[col]) for l in layers]
            s = [np.std(sub.where(layer=l)[col]) for l in layers]
            ax.errorbar(layers, m, yerr=s, marker="o", ms=4, capsize=2, label=f"eps = {eps:g}")
    axes[0].set_ylabel("test accuracy lost")
    axes[1].set_ylabel("relative change of the logits")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("layer l where the noise is added (remaining depth decreases ->)")
        ax.legend(fontsize=8)
    fig.suptitle("Slides: noise eps*rms(h^l)*xi added at one layer of a trained network (MNIST test set)")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------- trajectory regularization

METHODS = ("none", "batchnorm", "trajreg")


def trajreg_run(*, method: str, replicate: int, init_seed: int, epochs: int, n_train, n_test, width: int,
                depth: int, sigma_w2: float, lam: float, n_curve: int, n_checkpoints: int, batch_size: int,
                lr: float, seed: int, data=None, precision: str = "float32") -> dict:
    """One run: train plainly, with batch normalization at every hidden layer, or with the
    trajectory regularizer lambda * sum_l len_l / len_l(init); trajectory length per
    layer of a great circle between two test images at log-spaced checkpoints.

    Parameters
    ----------
    method : str
        ``"none"``, ``"batchnorm"`` or ``"trajreg"`` (:data:`METHODS`).
    replicate : int
        Run number (enters the seed only).
    init_seed : int
        Seed of the initial weights and of the two test images, shared by the methods of
        one replicate (so they start from one network).
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    width, depth : int
        Hidden-layer width and number of hidden layers.
    sigma_w2 : float
        Weight variance sigma_w^2 at initialisation.
    lam : float
        lambda of the regularizer (used by ``"trajreg"`` only).
    n_curve : int
        Points of the great circle.
    n_checkpoints : int
        Number of log-spaced measurement steps in 1..total.
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    seed : int
        The run's seed (batch order).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        Equal-length columns: the history's base columns and ``method``, ``variant``
        (the method, with lambda for ``trajreg``), ``layer`` (0: input) and
        ``trajectory_length`` of z^(d).

    Raises
    ------
    ExperimentError
        If ``method`` is not one of :data:`METHODS`.
    """
    from ..expressivity.trajectory import trajectory_length
    from ..geometry.curves import great_circle
    from ..training import NetworkSpec, TrainConfig, train

    if method not in METHODS:
        raise ExperimentError(f"method must be one of {METHODS}, got {method!r}")
    ds = mnist(data, n_train, n_test)
    a, b = pick(ds.x_test.shape[0], 2, [init_seed, 6])
    curve = great_circle(ds.x_test[a].astype(np.float64), ds.x_test[b].astype(np.float64), n_curve)
    hidden = tuple(range(1, depth + 1))
    spec = NetworkSpec([ds.x_train.shape[1]] + [width] * depth + [10], PHI, math.sqrt(sigma_w2), SIGMA_B,
                       seed=init_seed, batch_norm=hidden if method == "batchnorm" else ())
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision,
                      trajectory_reg=lam if method == "trajreg" else 0.0, reg_layers=hidden)
    steps = log_steps(ds.x_train.shape[0], batch_size, epochs, n_checkpoints)
    hist = train(spec, ds, cfg, steps=steps.tolist(),
                 measure={"traj": lambda net: trajectory_length(net, curve).length_x[:depth + 1].tolist()})
    variant = f"trajreg lambda={lam:g}" if method == "trajreg" else method
    rows = history_rows(hist, lambda row: [{"method": method, "variant": variant, "layer": d,
                                            "trajectory_length": float(v)} for d, v in enumerate(row["traj"])])
    return rows_result(rows)


TRAJREG = {
    "quick": {"runs": 1, "epochs": 1, "n_train": 256, "n_test": 64, "width": 16, "depth": 3, "sigma_w2": 16.0,
              "lams": [0.1],
              "n_curve": 40, "n_checkpoints": 3, "batch_size": 64},
    "full": {"runs": 2, "epochs": 3, "n_train": None, "n_test": None, "width": 64, "depth": 6, "sigma_w2": 16.0,
             "lams": [0.1, 1.0],
             "n_curve": 300, "n_checkpoints": 8, "batch_size": 128},
}


def trajectory_regularization(settings: Settings) -> ExperimentResult:
    """Slides: no normalization vs batch normalization vs trajectory regularization.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per run (replicate and variant), checkpoint and layer (see :func:`trajreg_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = TRAJREG["quick" if settings.quick else "full"]
    runs = []
    for r in range(s["runs"]):
        init = run_seed({"experiment": "trajectory-regularization", "replicate": r})
        variants = [("none", 0.0), ("batchnorm", 0.0)] + [("trajreg", lam) for lam in s["lams"]]
        runs += [{"method": m, "replicate": r, "init_seed": init, "epochs": s["epochs"], "n_train": s["n_train"],
                  "n_test": s["n_test"], "width": s["width"], "depth": s["depth"], "sigma_w2": s["sigma_w2"],
                  "lam": lam, "n_curve": s["n_curve"], "n_checkpoints": s["n_checkpoints"],
                  "batch_size": s["batch_size"], "lr": 1e-3} for m, lam in variants]
    notes = {"paper": "Raghu et al. slides, 'trajectory regularization' and batch normalization",
             "scale": f"hard tanh, {s['depth']} hidden layers of width {s['width']}, sigma_w^2 = {s['sigma_w2']:g}, "
                      f"lambda in {s['lams']}, {s['runs']} run(s) per method, {s['epochs']} epoch(s) on "
                      f"{s['n_train'] or 60000} images; great circle of {s['n_curve']} points between two test images"}
    return run_grid("trajectory-regularization", "sim.experiments.stability:trajreg_run", runs, settings,
                    columns=BASE + ("test_accuracy", "method", "lam", "variant", "layer", "trajectory_length"),
                    notes=notes,
                    shared={"data": settings.data})


def plot_trajectory_regularization(result: ExperimentResult):
    """Test accuracy through training and trajectory length per layer, per variant.

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`trajectory_regularization`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: test accuracy against epoch (mean +- std over runs), and trajectory
        length against layer at initialization and after training.
    """
    import matplotlib.pyplot as plt

    from .plotting import band, run_means

    t = result.table
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    one_layer = t.where(layer=1)
    band(axes[0], run_means(one_layer, "test_accuracy", "epoch", "variant"), label_fmt="{}", marker="o")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("test accuracy")
    axes[0].set_xscale("symlog", linthresh=0.01)
    colours = {m: f"C{i}" for i, m in enumerate(t.unique("variant"))}
    for ax, which in zip(axes[1:], ("start", "end")):
        step = 0 if which == "start" else max(t["step"])
        for m in t.unique("variant"):
            at = t.where(variant=m, step=step)
            layers = at.unique("layer")
            ax.semilogy(layers, [np.mean(at.where(layer=d)["trajectory_length"]) for d in layers], "o-",
                        color=colours[m], label=m)
        ax.set_xlabel("layer d (0: input)")
        ax.set_ylabel("trajectory length of z^(d)")
        ax.set_title("at initialization" if which == "start" else "after training")
        ax.legend(fontsize=8)
    axes[0].legend(fontsize=8)
    fig.suptitle("Slides: no normalization vs batch normalization vs trajectory regularization (MNIST)")
    fig.tight_layout()
    return fig
