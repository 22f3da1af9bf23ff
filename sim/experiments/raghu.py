"""Raghu et al. 2017 (survey Figs. 4-6): trajectory length through training, remaining depth.

Networks are hard-tanh (the phi of Raghu et al.'s Theorem 1), so that
``sim.trajectory_length`` is exact for the sampled interpolation (the image of a
polyline under a piecewise-linear network is refined at every kink), biases
N(0, 0.1^2), weights N(0, sigma_w^2 / fan-in), a linear read-out of the 10 classes;
Adam, batch 128 on MNIST.  Trajectory length is that of the post-activations
z^(d) = phi(h^d) of the hidden layers (the output layer is not plotted, as in the
paper); layer 0 is the input curve.

CIFAR-10 (Raghu et al. also use it for Fig. 6) cannot be obtained on the machines
these experiments ran on; only MNIST is used.
"""
from __future__ import annotations

import math

import numpy as np

from .common import (
    BASE,
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

PHI = "hard_tanh"
SIGMA_B = 0.1


def curves_for(ds, n_curve: int, seed):
    """The two interpolations of Figs. 4-5: a great circle between two training images and
    one between two random points uniform in [0, 1]^N0 (the images' range).

    Parameters
    ----------
    ds : Dataset
        Scaled MNIST (its training images are the endpoints of the first curve).
    n_curve : int
        Points per curve.
    seed : int
        The run's seed: the images are drawn from ``[seed, 1]``, the random points from ``[seed, 4]``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"mnist": (n_curve, N0) array, "random": (n_curve, N0) array}``, float64.
    """
    from ..geometry.curves import great_circle

    a, b = pick(ds.x_train.shape[0], 2, [seed, 1])
    x = ds.x_train.astype(np.float64)
    r = np.random.default_rng([seed, 4]).uniform(0.0, 1.0, (2, x.shape[1]))
    return {"mnist": great_circle(x[a], x[b], n_curve), "random": great_circle(r[0], r[1], n_curve)}


def trajectory_run(*, sigma_w2: float, replicate: int, epochs: int, n_train, n_test, width: int, depth: int,
                   batch_size: int, lr: float, n_curve: int, n_checkpoints: int, seed: int, data=None,
                   precision: str = "float32") -> dict:
    """One run of Raghu Figs. 4-5: trajectory length per layer of two circular
    interpolations at ``n_checkpoints`` log-spaced steps (plus step 0).

    A task of the sweep engine (:func:`sim.experiments.common.run_grid`).

    Parameters
    ----------
    sigma_w2 : float
        Weight variance sigma_w^2 (16 for Fig. 4, 3 for Fig. 5).
    replicate : int
        Run number (enters the seed only).
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    width, depth : int
        Hidden-layer width and number of hidden layers.
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    n_curve : int
        Points per interpolation.
    n_checkpoints : int
        Number of log-spaced measurement steps in 1..total.
    seed : int
        The run's seed (weights, batch order, curves).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        Equal-length columns (:func:`rows_result`): the history's base columns and
        ``curve`` (``"mnist"`` / ``"random"``), ``layer`` (0: input), ``trajectory_length``
        (of z^(d), Raghu et al. 2017, Theorem 1's quantity) and ``sigma_w2``.
    """
    from ..expressivity.trajectory import trajectory_length
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    curves = curves_for(ds, n_curve, seed)
    spec = NetworkSpec([ds.x_train.shape[1]] + [width] * depth + [10], PHI, math.sqrt(sigma_w2), SIGMA_B,
                       seed=seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision)
    steps = log_steps(ds.x_train.shape[0], batch_size, epochs, n_checkpoints)

    def lengths(net):
        return {k: trajectory_length(net, c).length_x[:depth + 1].tolist() for k, c in curves.items()}

    hist = train(spec, ds, cfg, steps=steps.tolist(), measure={"traj": lengths})
    rows = history_rows(hist, lambda row: [{"curve": k, "layer": d, "trajectory_length": float(v[d]),
                                            "sigma_w2": sigma_w2}
                                           for k, v in row["traj"].items() for d in range(depth + 1)])
    return rows_result(rows)


TRAJ = {
    "quick": {"runs": 1, "epochs": 1, "n_train": 512, "n_test": 128, "width": 16, "depth": 3, "batch_size": 64,
              "n_curve": 50,
              "n_checkpoints": 3},
    "full": {"runs": 2, "epochs": 4, "n_train": None, "n_test": None, "width": 64, "depth": 6, "batch_size": 128,
             "n_curve": 400,
             "n_checkpoints": 10},
}


def _trajectory(name: str, sigma_w2: float, settings: Settings) -> ExperimentResult:
    s = TRAJ["quick" if settings.quick else "full"]
    runs = [{"sigma_w2": sigma_w2, "replicate": r, "epochs": s["epochs"], "n_train": s["n_train"],
             "n_test": s["n_test"],
             "width": s["width"], "depth": s["depth"], "batch_size": s["batch_size"], "lr": 1e-3,
             "n_curve": s["n_curve"],
             "n_checkpoints": s["n_checkpoints"]} for r in range(s["runs"])]
    notes = {"paper": "Raghu et al. survey Figs. 4-5 (MNIST; sigma_w^2 = 16 and 3)",
             "scale": f"hard tanh, {s['depth']} hidden layers of width {s['width']}, sigma_w^2 = {sigma_w2:g}, "
                      f"sigma_b = {SIGMA_B}, {s['runs']} run(s), {s['epochs']} epoch(s) on "
                      f"{s['n_train'] or 60000} images, Adam lr 1e-3, {s['n_checkpoints']} log-spaced checkpoints; "
                      f"great circles of {s['n_curve']} points"}
    return run_grid(name, "sim.experiments.raghu:trajectory_run", runs, settings,
                    columns=BASE + ("test_accuracy", "curve", "layer", "trajectory_length", "sigma_w2"),
                    notes=notes, shared={"data": settings.data})


def raghu_fig4(settings: Settings) -> ExperimentResult:
    """Raghu Fig. 4: sigma_w^2 = 16; training should shrink the trajectory length.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per run, checkpoint, curve and layer (see :func:`trajectory_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    return _trajectory("raghu-fig4", 16.0, settings)


def raghu_fig5(settings: Settings) -> ExperimentResult:
    """Raghu Fig. 5: sigma_w^2 = 3; training should grow the trajectory length.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per run, checkpoint, curve and layer (see :func:`trajectory_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    return _trajectory("raghu-fig5", 3.0, settings)


def plot_trajectory(result: ExperimentResult):
    """Length against layer, one curve per checkpoint coloured from red (start) to purple (end).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`raghu_fig4` or :func:`raghu_fig5`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (MNIST and random interpolation), mean over runs, log length axis.
    """
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    t = result.table
    steps = t.unique("step")
    cmap = plt.get_cmap("rainbow_r")
    norm = Normalize(0, len(steps) - 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, curve in zip(axes, ("mnist", "random")):
        sub = t.where(curve=curve)
        for k, s in enumerate(steps):
            at = sub.where(step=s)
            layers = at.unique("layer")
            mean = [np.mean(at.where(layer=d)["trajectory_length"]) for d in layers]
            ax.semilogy(layers, mean, "o-", ms=3, color=cmap(norm(k)))
        ax.set_xlabel("layer d (0: input)")
        ax.set_ylabel("trajectory length of z^(d)")
        ax.set_title("interpolation between two MNIST images" if curve == "mnist"
                     else "interpolation between two random points")
    sm = ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(sm, ax=axes, label="training step (red: start, purple: end)")
    ticks = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 6)).round().astype(int))
    bar.set_ticks(ticks)
    bar.set_ticklabels([str(steps[k]) for k in ticks])
    fig.suptitle(f"Raghu et al.: trajectory length through training, sigma_w^2 = {t['sigma_w2'][0]:g}")
    return fig


# -------------------------------------------------------------- Fig. 6: one trainable layer

def one_layer_run(*, layer: int, replicate: int, init_seed: int, epochs: int, n_train, n_test, width: int,
                  depth: int, sigma_w2: float, batch_size: int, lr: float, seed: int, data=None,
                  precision: str = "float32") -> dict:
    """One run of Raghu Fig. 6: only hidden layer ``layer`` (its W and b) trains; every
    other layer, the read-out included, stays at its initialization ``init_seed``
    (the same for every choice of layer, so the choices are compared on one network).

    Parameters
    ----------
    layer : int
        The trained hidden layer, 1..depth.
    replicate : int
        Run number (enters the seed only).
    init_seed : int
        Seed of the initial weights, shared by the runs of one replicate.
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    width, depth : int
        Hidden-layer width and number of hidden layers.
    sigma_w2 : float
        Weight variance sigma_w^2.
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
        Equal-length columns: the history's base columns (once per epoch) and
        ``remaining_depth`` = depth - layer.
    """
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    spec = NetworkSpec([ds.x_train.shape[1]] + [width] * depth + [10], PHI, math.sqrt(sigma_w2), SIGMA_B,
                       seed=init_seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, trainable=(layer,),
                      precision=precision)
    hist = train(spec, ds, cfg)
    return rows_result(history_rows(hist, lambda row: [{"remaining_depth": depth - layer}]))


FIG6 = {
    "quick": {"runs": 1, "epochs": 1, "n_train": 512, "n_test": 256, "width": 16, "depth": 2, "sigma_w2": 4.0,
              "batch_size": 64},
    "full": {"runs": 2, "epochs": 3, "n_train": None, "n_test": None, "width": 64, "depth": 6, "sigma_w2": 4.0,
             "batch_size": 128},
}


def raghu_fig6(settings: Settings) -> ExperimentResult:
    """Raghu Fig. 6: train exactly one hidden layer; accuracy for each choice of layer.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per run (replicate and layer) and epoch (see :func:`one_layer_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG6["quick" if settings.quick else "full"]
    runs = []
    for r in range(s["runs"]):
        init = run_seed({"experiment": "raghu-fig6", "replicate": r, "width": s["width"], "depth": s["depth"]})
        runs += [{"layer": l, "replicate": r, "init_seed": init, "epochs": s["epochs"], "n_train": s["n_train"],
                  "n_test": s["n_test"], "width": s["width"], "depth": s["depth"], "sigma_w2": s["sigma_w2"],
                  "batch_size": s["batch_size"], "lr": 1e-3} for l in range(1, s["depth"] + 1)]
    notes = {"paper": "Raghu et al. survey Fig. 6 (MNIST; CIFAR-10 not obtainable here)",
             "scale": f"hard tanh, {s['depth']} hidden layers of width {s['width']}, sigma_w^2 = {s['sigma_w2']:g}, "
                      f"one trainable hidden layer (read-out frozen), {s['runs']} run(s), {s['epochs']} epoch(s) on "
                      f"{s['n_train'] or 60000} images, Adam lr 1e-3"}
    return run_grid("raghu-fig6", "sim.experiments.raghu:one_layer_run", runs, settings,
                    columns=BASE + ("test_accuracy", "layer", "remaining_depth"), notes=notes,
                    shared={"data": settings.data})


def plot_fig6(result: ExperimentResult):
    """Accuracy during training per trained layer, and final accuracy against the trained layer.

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`raghu_fig6`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: train and test accuracy against epoch (mean +- std over runs), and
        the final accuracies against the trained hidden layer.
    """
    import matplotlib.pyplot as plt

    from .plotting import band, run_means

    t = result.table
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, col in zip(axes, ("train_accuracy", "test_accuracy")):
        band(ax, run_means(t, col, "epoch", "layer"), label_fmt="train layer {}", marker="o")
        ax.set_xlabel("epoch")
        ax.set_ylabel(col.replace("_", " "))
        ax.legend(fontsize=8)
    final = t.where(step=max(t["step"]))
    layers = final.unique("layer")
    for col, m in (("train_accuracy", "o-"), ("test_accuracy", "s--")):
        axes[2].plot(layers, [np.mean(final.where(layer=l)[col]) for l in layers], m, label=col.replace("_", " "))
    axes[2].set_xlabel("the one trained hidden layer")
    axes[2].set_ylabel("final accuracy")
    axes[2].legend()
    fig.suptitle("Raghu Fig. 6: training exactly one hidden layer (others frozen at initialization), MNIST")
    fig.tight_layout()
    return fig
