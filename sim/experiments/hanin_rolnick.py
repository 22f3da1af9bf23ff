"""Hanin & Rolnick 2019, Sec. 4: activation regions while ReLU networks train (Figs. 3-7).

Every network is ``sim.training.NetworkSpec``: ReLU, He weights (Var W = 2 / fan-in,
times ``weight_scale`` in Fig. 6), biases N(0, 0.1^2), a linear read-out whose units
are not counted as neurons (HR count the neurons of the hidden layers).  Adam at
learning rate 1e-3 (HR's choice, Fig. 6 caption), batch 128 on MNIST.  Regions are
counted exactly in the *whole* plane or on the whole line
(:mod:`sim.experiments.sections`), at every measurement step, on the float64
network the trainer hands over (bitwise ``sim.RandomNetwork`` at step 0).

Scales (paper -> ours) are in each experiment's ``notes`` and in docs/experiments.md.
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
    hr_prediction,
    mnist,
    pick,
    rows_result,
    run_grid,
    run_seed,
    steps_for,
)
from .plotting import band, run_means
from .sections import line_regions, plane_regions

SIGMA_B = 0.1
#: Innermost tile of a whole-plane / whole-line count, relative to the data's norm (|x| ~ 10 for MNIST,
#: ~1 for the random points); the tiles then reach at least 1e4 times further (10 |x|), see ``sections``.
R_MIN = 1e-3


def _widths(arch: str) -> list[int]:
    return [int(w) for w in str(arch).split(",")]


def _plane_counts(net, planes):
    return [plane_regions(net, pl.origin, pl.u, pl.v, r_min=R_MIN * float(np.abs(pl.points_st).max())).count
            for pl in planes]


# ------------------------------------------------------------------ Fig. 3: MNIST planes

def fig3_run(*, arch: str, replicate: int, epochs: int, n_train, n_test, n_planes: int, n_dense: int,
             batch_size: int, lr: float, seed: int, data=None, precision: str = "float32") -> dict:
    """One MNIST training run of HR Fig. 3: regions in ``n_planes`` planes through the origin
    and two random training images, at every measurement step.

    Parameters
    ----------
    arch : str
        Hidden widths, comma-separated (``"32,32,32"``).
    replicate : int
        Run number (enters the seed only).
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    n_planes : int
        Planes per run (images drawn from ``[seed, 1]``).
    n_dense : int
        Extra measurements over the first half epoch (HR Fig. 3, left).
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    seed : int
        The run's seed (weights, batch order, planes).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        One row per measurement step and plane: the history's base columns and ``plane``,
        ``image_a``, ``image_b`` (the training images), ``n_neurons``, ``regions`` (exact
        count in the whole plane) and ``prediction`` = #neurons^2 / 2 (Hanin & Rolnick
        2019, Theorem 5 / Remark 1).
    """
    from ..regions import plane_through_points
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    idx = pick(ds.x_train.shape[0], 2 * n_planes, [seed, 1]).reshape(n_planes, 2)
    planes = [plane_through_points(ds.x_train[a].astype(np.float64), ds.x_train[b].astype(np.float64))
              for a, b in idx]
    widths = _widths(arch)
    spec = NetworkSpec([ds.x_train.shape[1]] + widths + [10], "relu", math.sqrt(2.0), SIGMA_B, seed=seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision)
    spe = ds.x_train.shape[0] // batch_size
    hist = train(spec, ds, cfg, steps=steps_for(spe, epochs, n_dense=n_dense),
                 measure={"regions": lambda net: _plane_counts(net, planes)})
    n = sum(widths)
    rows = history_rows(hist, lambda row: [
        {"plane": p, "image_a": int(idx[p, 0]), "image_b": int(idx[p, 1]), "n_neurons": n,
         "regions": int(c), "prediction": hr_prediction(n, 2)} for p, c in enumerate(row["regions"])])
    return rows_result(rows)


FIG3 = {
    "quick": {"archs": ["8,8", "16"], "runs": 1, "epochs": 1, "n_train": 1024, "n_test": 256, "n_planes": 2,
              "n_dense": 2,
              "batch_size": 128},
    "full": {"archs": ["32,32,32", "48,48", "96", "20,20,20"], "runs": 3, "epochs": 20, "n_train": None, "n_test": None,
             "n_planes": 5, "n_dense": 8, "batch_size": 128},
}


def hr_fig3(settings: Settings) -> ExperimentResult:
    """HR Fig. 3: regions in 2D cross-sections through the origin and two MNIST images during training.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per architecture, run, measurement step and plane (see :func:`fig3_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG3["quick" if settings.quick else "full"]
    runs = [{"arch": a, "replicate": r, "epochs": s["epochs"], "n_train": s["n_train"], "n_test": s["n_test"],
             "n_planes": s["n_planes"], "n_dense": s["n_dense"], "batch_size": s["batch_size"], "lr": 1e-3}
            for a in s["archs"] for r in range(s["runs"])]
    notes = {"paper": "HR 2019 Fig. 3: 10 runs x 5 planes per architecture, 20 epochs of MNIST",
             "scale": f"{s['runs']} run(s) x {s['n_planes']} plane(s) per architecture {s['archs']}, "
                      f"{s['epochs']} epoch(s), {s['n_train'] or 60000} training images, Adam lr 1e-3, batch "
                      f"{s['batch_size']}, sigma_b {SIGMA_B}; whole-plane exact counts"}
    return run_grid("hr-fig3", "sim.experiments.hanin_rolnick:fig3_run", runs, settings,
                    columns=BASE + ("test_accuracy", "arch", "plane", "regions", "n_neurons", "prediction"),
                    notes=notes, shared={"data": settings.data})


def plot_fig3(result: ExperimentResult):
    """Regions against epoch per architecture, with #neurons^2/2 dashed (HR Fig. 3).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`hr_fig3`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the first half epoch and the whole run, mean +- std over runs.
    """
    import matplotlib.pyplot as plt

    t = result.table
    curves = run_means(t, "regions", "epoch", "arch")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, close in zip(axes, (True, False)):
        shown = {g: tuple(a[c[0] <= 0.5 + 1e-9] if close else a for a in c) for g, c in curves.items()}
        colours = band(ax, shown, label_fmt="[{}]", marker="o")
        for g, c in colours.items():
            n = int(t.where(arch=g)["n_neurons"][0])
            ax.axhline(hr_prediction(n, 2), color=c, ls="--", lw=0.8)
        ax.set_xlabel("epoch")
        ax.set_ylabel("activation regions in the plane")
        ax.set_title("first half epoch" if close else "whole run")
    axes[0].legend(title="hidden widths (dashed: #neurons^2/2)", fontsize=8)
    fig.suptitle("HR Fig. 3: regions in planes through the origin and two MNIST images")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------- Fig. 4: label corruption

def fig4_run(*, corruption: float, replicate: int, init_seed: int, epochs: int, n_train, n_test, n_lines: int,
             width: int, depth: int, batch_size: int, lr: float, seed: int, data=None,
             precision: str = "float32") -> dict:
    """One run of HR Fig. 4: MNIST with a fraction of labels corrupted; the mean number of
    regions on ``n_lines`` lines through the origin and random training images.  The
    initial network and the lines come from ``init_seed``, shared by all corruption
    levels of a replicate, so that the levels are compared on the same network.

    Parameters
    ----------
    corruption : float
        Fraction of training labels replaced by random labels (:func:`sim.data.corrupt_labels`).
    replicate : int
        Run number (enters the seed only).
    init_seed : int
        Seed of the initial weights and of the lines.
    epochs : int
        Training epochs.
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    n_lines : int
        Lines through the origin and a training image.
    width, depth : int
        Hidden-layer width and number of hidden layers.
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    seed : int
        The run's seed (batch order, corrupted labels).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        One row per measurement step (each epoch): the history's base columns and
        ``regions`` (mean over lines), ``regions_std``, ``corrupted_fraction`` (labels
        actually changed), ``n_neurons`` and ``prediction`` = #neurons (HR Fig. 4 caption).
    """
    from ..data import corrupt_labels
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    true = ds.y_train
    bad = corrupt_labels(true, corruption, ds.n_classes, [seed, 2])
    ds = ds.with_train_labels(bad.labels)
    fraction = float(np.mean(bad.labels != true))
    idx = pick(ds.x_train.shape[0], n_lines, [init_seed, 1])
    dirs = ds.x_train[idx].astype(np.float64)
    spec = NetworkSpec([ds.x_train.shape[1]] + [width] * depth + [10], "relu", math.sqrt(2.0), SIGMA_B,
                       seed=init_seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision)
    zero = np.zeros(ds.x_train.shape[1])

    def lines(net):
        return [line_regions(net, zero, d, r_min=R_MIN * float(np.linalg.norm(d))).count for d in dirs]

    hist = train(spec, ds, cfg, measure={"lines": lines})
    n = width * depth
    rows = history_rows(hist, lambda row: [
        {"regions": float(np.mean(row["lines"])), "regions_std": float(np.std(row["lines"])),
         "corrupted_fraction": fraction, "n_neurons": n, "prediction": float(n)}])
    return rows_result(rows)


FIG4 = {
    "quick": {"corruptions": [0.0, 0.5, 1.0], "runs": 1, "epochs": 2, "n_train": 512, "n_test": 128, "n_lines": 4,
              "width": 8,
              "depth": 3, "batch_size": 64},
    "full": {"corruptions": [0.0, 0.25, 0.5, 0.75, 1.0], "runs": 3, "epochs": 50, "n_train": 10000, "n_test": 2000,
             "n_lines": 20, "width": 32, "depth": 3, "batch_size": 128},
}


def hr_fig4(settings: Settings) -> ExperimentResult:
    """HR Fig. 4: mean regions on lines through the origin and MNIST images under label corruption.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per corruption level, run and epoch (see :func:`fig4_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG4["quick" if settings.quick else "full"]
    runs = [{"corruption": c, "replicate": r, "init_seed": run_seed({"experiment": "hr-fig4", "replicate": r}),
             "epochs": s["epochs"], "n_train": s["n_train"], "n_test": s["n_test"], "n_lines": s["n_lines"],
             "width": s["width"],
             "depth": s["depth"], "batch_size": s["batch_size"], "lr": 1e-3}
            for c in s["corruptions"] for r in range(s["runs"])]
    notes = {"paper": "HR 2019 Fig. 4: depth 3 width 32, 40 runs, 100 lines, all of MNIST",
             "scale": f"depth {s['depth']} width {s['width']}, {s['runs']} run(s) per corruption level (the same "
                      f"initial networks and lines at every level), "
                      f"{s['n_lines']} lines, {s['epochs']} epochs on the first {s['n_train']} training images, "
                      f"Adam lr 1e-3, batch {s['batch_size']}; whole-line exact counts"}
    return run_grid("hr-fig4", "sim.experiments.hanin_rolnick:fig4_run", runs, settings,
                    columns=BASE + ("test_accuracy", "corruption", "regions", "regions_std", "corrupted_fraction",
                                    "n_neurons", "prediction"),
                    notes=notes, shared={"data": settings.data})


def _regions_vs(result, group, fmt, title, n_in):
    import matplotlib.pyplot as plt

    t = result.table
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    band(axes[0], run_means(t, "regions", "epoch", group), label_fmt=fmt)
    band(axes[1], run_means(t, "regions", "train_accuracy", group), label_fmt=fmt, marker="o")
    n = int(t["n_neurons"][0])
    pred = hr_prediction(n, n_in)
    for ax, xl in zip(axes, ("epoch", "training accuracy")):
        ax.axhline(pred, color="k", ls="--", lw=0.8, label=f"#neurons^{n_in}/{n_in}! = {pred:g}"
                   if n_in > 1 else f"#neurons = {n}")
        ax.set_xlabel(xl)
        ax.set_ylabel("activation regions" + (" per line (mean)" if n_in == 1 else " in the plane"))
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_fig4(result: ExperimentResult):
    """Regions per line against epoch and training accuracy, per corruption level (HR Fig. 4).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`hr_fig4`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, mean +- std over runs, with #neurons dashed.
    """
    return _regions_vs(result, "corruption", "corruption {}", "HR Fig. 4: regions on lines through MNIST images, "
                       "label corruption", 1)


# ------------------------------------------------------- Figs. 5-6: random 2D points

def points_run(*, n_points: int, replicate: int, epochs: int, width: int, depth: int, batch_size: int, lr: float,
               weight_scale: float, n_measure: int, seed: int, precision: str = "float32") -> dict:
    """One run of HR Figs. 5-6: memorize ``n_points`` random 2D points with random binary
    labels; regions in the whole input plane at ``n_measure`` + 1 evenly spaced steps.

    Parameters
    ----------
    n_points : int
        Number of random points (:func:`sim.data.random_points_2d`, drawn from ``[seed, 3]``).
    replicate : int
        Run number (enters the seed only).
    epochs : int
        Training epochs.
    width, depth : int
        Hidden-layer width and number of hidden layers.
    batch_size : int
        Mini-batch size (capped at ``n_points``).
    lr : float
        Adam learning rate.
    weight_scale : float
        Weight variance in units of 2 / fan-in (:func:`sim.training.sigma_w_for_weight_scale`).
    n_measure : int
        Number of intervals between measurement steps (evenly spaced, 0..total; steps
        that round to the same value are measured once).
    seed : int
        The run's seed (points, weights, batch order).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        One row per measurement step: the history's base columns (the test set is empty:
        ``test_accuracy`` NaN) and ``plane`` (0), ``regions`` (exact count in the whole
        plane), ``n_neurons`` and ``prediction`` = #neurons^2 / 2.
    """
    from ..data import random_points_2d
    from ..training import NetworkSpec, TrainConfig, sigma_w_for_weight_scale, train

    ds = random_points_2d(n_points, [seed, 3])
    bs = min(batch_size, n_points)
    spec = NetworkSpec([2] + [width] * depth + [2], "relu", sigma_w_for_weight_scale(weight_scale), SIGMA_B,
                       seed=seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=bs, seed=seed, precision=precision)
    total = (n_points // bs) * epochs
    steps = np.unique(np.rint(np.linspace(0, total, n_measure + 1)).astype(int))
    e1, e2, o = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)
    hist = train(spec, ds, cfg, steps=steps.tolist(),
                 measure={"regions": lambda net: plane_regions(net, o, e1, e2, r_min=R_MIN).count})
    n = width * depth
    rows = history_rows(hist, lambda row: [{"plane": 0, "regions": int(row["regions"]), "n_neurons": n,
                                            "prediction": hr_prediction(n, 2)}])
    return rows_result(rows)


FIG5 = {
    "quick": {"n_points": [16, 64], "runs": 1, "epochs": 4, "width": 8, "depth": 3, "batch_size": 16, "n_measure": 2},
    "full": {"n_points": [100, 500, 2000, 5000], "runs": 3, "epochs": 1000, "width": 32, "depth": 3, "batch_size": 32,
             "n_measure": 20},
}


def hr_fig5(settings: Settings) -> ExperimentResult:
    """HR Fig. 5: regions in the input plane while memorizing N random 2D points.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per N, run and measurement step (see :func:`points_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG5["quick" if settings.quick else "full"]
    runs = [{"n_points": n, "replicate": r, "epochs": s["epochs"], "width": s["width"], "depth": s["depth"],
             "batch_size": s["batch_size"], "lr": 1e-3, "weight_scale": 1.0, "n_measure": s["n_measure"]}
            for n in s["n_points"] for r in range(s["runs"])]
    notes = {"paper": "HR 2019 Fig. 5: depth 3 width 32, 40 runs per N, 2000 epochs",
             "scale": f"depth {s['depth']} width {s['width']}, N in {s['n_points']}, {s['runs']} run(s) each, "
                      f"{s['epochs']} epochs, batch min({s['batch_size']}, N), Adam lr 1e-3; whole-plane exact "
                      f"counts"}
    return run_grid("hr-fig5", "sim.experiments.hanin_rolnick:points_run", runs, settings,
                    columns=BASE + ("n_points", "plane", "regions", "lr", "weight_scale", "n_neurons",
                                    "prediction"), notes=notes)


def plot_fig5(result: ExperimentResult):
    """Regions against epoch and training accuracy, per number of points N (HR Fig. 5).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`hr_fig5`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, mean +- std over runs, with #neurons^2/2 dashed.
    """
    return _regions_vs(result, "n_points", "N = {}", "HR Fig. 5: memorizing N random 2D points", 2)


FIG6 = {
    "quick": {"n_points": 64, "lrs": [1e-4, 1e-3, 1e-2], "scales": [0.5, 1.0, 2.0], "runs": 1, "epochs": 4, "width": 8,
              "depth": 3, "batch_size": 16, "n_measure": 2},
    "full": {"n_points": 5000, "lrs": [1e-4, 1e-3, 1e-2], "scales": [0.25, 0.5, 1.0, 2.0, 4.0], "runs": 2,
             "epochs": 300,
             "width": 32, "depth": 3, "batch_size": 32, "n_measure": 15},
}


def hr_fig6(settings: Settings) -> ExperimentResult:
    """HR Fig. 6: the memorization task across learning rates (weight scale 1) and weight
    scales (learning rate 1e-3).

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per (lr, weight scale), run and measurement step (see :func:`points_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG6["quick" if settings.quick else "full"]
    combos = sorted({(lr, 1.0) for lr in s["lrs"]} | {(1e-3, w) for w in s["scales"]})
    runs = [{"n_points": s["n_points"], "replicate": r, "epochs": s["epochs"], "width": s["width"], "depth": s["depth"],
             "batch_size": s["batch_size"], "lr": lr, "weight_scale": w, "n_measure": s["n_measure"]}
            for lr, w in combos for r in range(s["runs"])]
    notes = {"paper": "HR 2019 Fig. 6: 5000 points, depth 3 width 32",
             "scale": f"N = {s['n_points']} points, learning rates {s['lrs']} (weight scale 1), weight scales "
                      f"{s['scales']} x 2/fan-in (lr 1e-3), {s['runs']} run(s) each, {s['epochs']} epochs"}
    return run_grid("hr-fig6", "sim.experiments.hanin_rolnick:points_run", runs, settings,
                    columns=BASE + ("lr", "weight_scale", "n_points", "plane", "regions", "n_neurons",
                                    "prediction"), notes=notes)


def plot_fig6(result: ExperimentResult):
    """Regions against epoch per learning rate and per weight scale, and against accuracy (HR Fig. 6).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`hr_fig6`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, mean +- std over runs, with #neurons^2/2 dashed.
    """
    import matplotlib.pyplot as plt

    t = result.table
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    by_lr = t.where(weight_scale=1.0)
    band(axes[0], run_means(by_lr, "regions", "epoch", "lr"), label_fmt="lr {:g}")
    by_w = t.where(lr=1e-3)
    band(axes[1], run_means(by_w, "regions", "epoch", "weight_scale"), label_fmt="weight scale {:g}")
    band(axes[2], run_means(by_w, "regions", "train_accuracy", "weight_scale"), label_fmt="weight scale {:g}",
         marker="o")
    pred = hr_prediction(int(t["n_neurons"][0]), 2)
    for ax, xl in zip(axes, ("epoch", "epoch", "training accuracy")):
        ax.axhline(pred, color="k", ls="--", lw=0.8, label=f"#neurons^2/2 = {pred:g}")
        ax.set_xlabel(xl)
        ax.set_ylabel("activation regions in the plane")
        ax.legend(fontsize=8)
    fig.suptitle(f"HR Fig. 6: {int(t['n_points'][0])} random 2D points, learning rate and weight scale")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------- Fig. 7: region pictures

def fig7_run(*, width: int, depth: int, epochs: int, n_train, n_test, batch_size: int, lr: float, seed: int,
             data=None, precision: str = "float32") -> dict:
    """HR Fig. 7: one MNIST run; region counts in the plane through the origin and two
    images and in the plane through three images at initialization, after one epoch
    and at the end, with the weights at those steps kept for the pictures.

    Parameters
    ----------
    width, depth : int
        Hidden-layer width and number of hidden layers.
    epochs : int
        Training epochs, >= 2 (so that "after one epoch" and "the end" differ).
    n_train, n_test : int or None
        MNIST training / test images used (None: all).
    batch_size : int
        Mini-batch size.
    lr : float
        Adam learning rate.
    seed : int
        The run's seed (weights, batch order, the five images).
    data : str, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    precision : str
        ``"float32"`` or ``"float64"`` training.

    Returns
    -------
    dict of str to numpy.ndarray
        Rows (one per step and plane: base columns, ``plane`` = ``"origin"`` / ``"three"``,
        ``regions``) plus ``images`` (the five training-image indices) and
        ``snap<k>_w<l>``, ``snap<k>_b<l>`` (float64 weights and biases at the k-th step).

    Raises
    ------
    ExperimentError
        If ``epochs < 2``.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 2:
        raise ExperimentError(f"HR Fig. 7 pictures initialization, one epoch and the end: need an integer "
                              f"epochs >= 2, got {epochs!r}")
    from ..regions import plane_through_points
    from ..training import NetworkSpec, TrainConfig, train

    ds = mnist(data, n_train, n_test)
    idx = pick(ds.x_train.shape[0], 5, [seed, 1])
    x = ds.x_train[idx].astype(np.float64)
    origin_plane = plane_through_points(x[0], x[1])
    three = plane_through_points(x[2], x[3], x[4])
    spec = NetworkSpec([x.shape[1]] + [width] * depth + [10], "relu", math.sqrt(2.0), SIGMA_B, seed=seed)
    cfg = TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, precision=precision)
    spe = ds.x_train.shape[0] // batch_size
    hist = train(spec, ds, cfg, steps=[0, spe, spe * epochs], keep_snapshots=True,
                 measure={"regions": lambda net: _plane_counts(net, [origin_plane, three])})
    rows = history_rows(hist, lambda row: [{"plane": name, "regions": int(c)}
                                           for name, c in zip(("origin", "three"), row["regions"])])
    out = rows_result(rows)
    out["images"] = idx
    for k, snap in enumerate(hist.snapshots):
        for l, (w, b) in enumerate(zip(snap.network.weights, snap.network.biases), start=1):
            out[f"snap{k}_w{l}"] = w
            out[f"snap{k}_b{l}"] = b
    return out


FIG7 = {
    "quick": {"width": 8, "depth": 3, "epochs": 2, "n_train": 1024, "n_test": 256, "batch_size": 128},
    "full": {"width": 64, "depth": 3, "epochs": 20, "n_train": None, "n_test": None, "batch_size": 128},
}


def hr_fig7(settings: Settings) -> ExperimentResult:
    """HR Fig. 7: pictures of the regions at initialization, after one epoch and at the end.

    Parameters
    ----------
    settings : Settings
        Quick or full size, data, workers, store.

    Returns
    -------
    ExperimentResult
        One row per step and plane; ``extras[0]`` holds the images' indices and the snapshots (see :func:`fig7_run`).

    Raises
    ------
    ExperimentError
        If a run fails.
    """
    s = FIG7["quick" if settings.quick else "full"]
    runs = [{"width": s["width"], "depth": s["depth"], "epochs": s["epochs"], "n_train": s["n_train"],
             "n_test": s["n_test"], "batch_size": s["batch_size"], "lr": 1e-3}]
    depth = s["depth"]
    extras = ["images"] + [f"snap{k}_{p}{l}" for k in range(3) for p in "wb" for l in range(1, depth + 2)]
    notes = {"paper": "HR 2019 Fig. 7: depth 3 width 64, 20 epochs of MNIST",
             "scale": f"depth {depth} width {s['width']}, {s['epochs']} epochs on "
                      f"{s['n_train'] or 60000} training images, one run"}
    res = run_grid("hr-fig7", "sim.experiments.hanin_rolnick:fig7_run", runs, settings,
                   columns=BASE + ("test_accuracy", "plane", "regions"), notes=notes,
                   shared={"data": settings.data}, extras=extras)
    return ExperimentResult(res.table, res.extras, settings.data)


def plot_fig7(result: ExperimentResult):
    """Region pictures; reads the MNIST images again from ``result.data`` (or ``$MEANFIELD_DATA``).

    Parameters
    ----------
    result : ExperimentResult
        Of :func:`hr_fig7` (its ``extras[0]`` holds the snapshots).

    Returns
    -------
    matplotlib.figure.Figure
        Four panels: the plane through the origin and two images at initialization, after
        one epoch and at the end, and the plane through three images at initialization;
        each titled with the regions drawn and the whole-plane count.

    Raises
    ------
    ExperimentError
        If the result does not hold three measurement steps with their snapshots
        (a run of fewer than 2 epochs).
    """
    import matplotlib.pyplot as plt

    from ..networks.network import Network
    from ..regions import activation_regions_2d, plane_through_points

    t = result.table
    ex = result.extras[0]
    steps = t.unique("step")
    if len(steps) < 3 or not all(f"snap{k}_w1" in ex for k in range(3)):
        raise ExperimentError(f"plot_fig7 needs three measurement steps (initialization, one epoch, the end) with "
                              f"their snapshots, got steps {list(steps)}; run hr-fig7 with epochs >= 2")
    ds = mnist(result.data)
    x = ds.x_train[ex["images"]].astype(np.float64)
    depth = sum(1 for k in ex if k.startswith("snap0_w"))

    def net(k):
        return Network("relu", [ex[f"snap{k}_w{l}"] for l in range(1, depth + 1)],
                       [ex[f"snap{k}_b{l}"] for l in range(1, depth + 1)])

    fig, axes = plt.subplots(1, 4, figsize=(18, 4.8))
    panels = [(0, plane_through_points(x[0], x[1]), "origin")] + [(k, plane_through_points(x[0], x[1]), "origin")
                                                                   for k in (1, 2)]
    panels.append((0, plane_through_points(x[2], x[3], x[4]), "three"))
    labels = ["initialization", "after 1 epoch", f"after {t['epoch'].max():g} epochs", "initialization"]
    for ax, (k, pl, name), lab in zip(axes, panels, labels):
        pts = pl.points_st if name == "three" else np.vstack([pl.points_st, [0.0, 0.0]])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.4 * (hi - lo).max()
        box = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
        res = activation_regions_2d(net(k), pl.origin, pl.u, pl.v, box, readout=True)
        res.plot(ax, points=pl.points_st, edges=True)
        if name == "origin":
            ax.plot(0, 0, "+", color="k", ms=9)
        whole = int(t.where(step=steps[k], plane=name)["regions"][0])
        where = "origin + 2 images" if name == "origin" else "3 images"
        ax.set_title(f"{lab}, plane through {where}\n{res.count} regions shown, {whole} in the whole plane",
                     fontsize=9)
    fig.suptitle(f"HR Fig. 7: activation regions of a {depth - 1}-layer ReLU network training on MNIST")
    fig.tight_layout()
    return fig
