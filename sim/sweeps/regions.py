"""Activation-region counts at initialisation over architectures: Hanin & Rolnick (2019), Theorem 5 / Remark 1.

HR Theorem 5 bounds the expected number of activation regions of a random ReLU
network per unit volume by a function of the total number of neurons, not of the
depth; Remark 1 (Sec. 3.3 heuristic) puts the count over all of R^{n_in} at about
#neurons^{n_in} / n_in!, the value of a single layer (eq. 4), whatever the depth.
For a 2D plane that is #neurons^2 / 2.

One task (:func:`regions_task`) draws one network 2 -> width x depth (He
initialisation sigma_w = sqrt(2) by default, small biases) and counts its exact
activation regions in the input plane, inside a box large enough to hold nearly
every crossing (:func:`sim.activation_regions_2d`).  A grid over architectures with
the same #neurons (``--neurons 48 --depths 1,2,3,4``: widths 48, 24, 16, 12) and many
seeds gives the table (:func:`regions_table`) and figure (:func:`plot_regions`):
mean count against #neurons, per depth, with the #neurons^2/2 line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .engine import run_sweep
from .errors import SweepError
from .grid import Grid
from .store import finished_records

#: The task run by ``meanfield sweep regions``.
TASK = "sim.sweeps.regions:regions_task"
DEFAULT_BOX = (-100.0, 100.0, -100.0, 100.0)


def regions_task(width: int, depth: int, phi: str = "relu", sigma_w: float = math.sqrt(2), sigma_b: float = 0.1,
                 box=DEFAULT_BOX, *, seed: int) -> dict:
    """Exact activation regions of one random network 2 -> [width] * depth in its input plane.

    Parameters
    ----------
    width : int
        Neurons per hidden layer (>= 1).
    depth : int
        Number of hidden layers (>= 1).
    phi : str
        A piecewise-linear nonlinearity (registry name or expression in x).
    sigma_w, sigma_b : float
        Weight and bias standard deviations (default: He initialisation sqrt(2), biases 0.1).
    box : sequence of 4 float
        ``(s_min, s_max, t_min, t_max)`` of the counted rectangle of the input plane.
    seed : int
        Seed of the network.

    Returns
    -------
    dict
        ``count`` (activation regions meeting the box), ``linear_count`` (linear
        regions), ``n_degenerate`` (zero-area pieces dropped), ``n_neurons`` = width *
        depth and ``hr_heuristic`` = #neurons^2 / 2 (Hanin & Rolnick 2019, Remark 1, for n_in = 2).

    Raises
    ------
    SweepError
        If ``width`` or ``depth`` is below 1.
    """
    from meanfield import bounds

    from ..networks.network import RandomNetwork
    from ..regions import activation_regions_2d

    width, depth = int(width), int(depth)
    if width < 1 or depth < 1:
        raise SweepError(f"width and depth must be >= 1, got {width}, {depth}")
    net = RandomNetwork(phi, [2] + [width] * depth, sigma_w, sigma_b, seed=seed)
    res = activation_regions_2d(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), tuple(box))
    n = width * depth
    return {"count": int(res.count), "linear_count": int(res.linear.count), "n_degenerate": int(res.n_degenerate),
            "n_neurons": n, "hr_heuristic": float(bounds.hanin_rolnick_heuristic(n, 2))}


def regions_grid(*, depths, seeds: int, neurons=None, widths=None, phi: str = "relu",
                 sigma_w: float = math.sqrt(2), sigma_b: float = 0.1, box=DEFAULT_BOX) -> Grid:
    """Architectures x seeds: ``neurons`` (width = neurons / depth, same #neurons per depth) or ``widths``.

    Parameters
    ----------
    depths : sequence of int
        Numbers of hidden layers (>= 1).
    seeds : int
        Networks (replicates) per architecture, >= 1.
    neurons : sequence of int, optional
        Total #neurons; each depth d gets width n / d (d must divide n).  Give this or ``widths``.
    widths : sequence of int, optional
        Widths (>= 1), each combined with every depth.  Give this or ``neurons``.
    phi : str
        A piecewise-linear nonlinearity.
    sigma_w, sigma_b : float
        Weight and bias standard deviations.
    box : sequence of 4 float
        ``(s_min, s_max, t_min, t_max)`` of the counted rectangle.

    Returns
    -------
    Grid
        Parameter sets for :func:`regions_task` (``width``, ``depth``, ``phi``, ``sigma_w``,
        ``sigma_b``, ``box``, ``replicate``), architecture by architecture.

    Raises
    ------
    SweepError
        If ``depths`` is empty or has a depth below 1, ``seeds < 1``, ``box`` is not four
        numbers with s_min < s_max and t_min < t_max, both or neither of ``neurons`` and
        ``widths`` is given, a #neurons is not divisible by a depth, or a width is below 1.
    ExpressionError
        If ``phi`` is not a known name or a valid expression (meanfield's parser).
    RegionsError
        If ``phi`` is not piecewise linear (:func:`sim.regions.piecewise_linear`).
    """
    from meanfield.nonlinearity import as_nonlinearity

    from ..regions import piecewise_linear

    piecewise_linear(as_nonlinearity(phi))  # a phi without kinks is one error here, not a failed task each
    depths = [int(d) for d in depths]
    if not depths or min(depths) < 1:
        raise SweepError(f"--depths must be integers >= 1, got {depths}")
    if int(seeds) < 1:
        raise SweepError(f"--seeds must be at least 1, got {seeds}")
    box = [float(b) for b in box]
    if len(box) != 4 or box[1] <= box[0] or box[3] <= box[2]:
        raise SweepError(f"--box must be s_min,s_max,t_min,t_max with s_min < s_max, t_min < t_max; got {box}")
    if (neurons is None) == (widths is None):
        raise SweepError("give either neurons (same #neurons at every depth) or widths")
    archs = []
    if neurons is not None:
        for n in neurons:
            for d in depths:
                if int(n) % d:
                    raise SweepError(f"#neurons {n} is not divisible by depth {d}; choose depths that divide "
                                     "every --neurons value")
                archs.append((int(n) // d, d))
    else:
        if not widths or min(widths) < 1:
            raise SweepError(f"--widths must be integers >= 1, got {widths}")
        archs = [(int(w), d) for w in widths for d in depths]
    return Grid.rows([{"width": w, "depth": d, "phi": str(phi), "sigma_w": float(sigma_w),
                       "sigma_b": float(sigma_b), "box": box, "replicate": r}
                      for w, d in archs for r in range(int(seeds))])


def run_regions_sweep(grid: Grid, store, **kwargs):
    """:func:`sim.sweeps.run_sweep` of :func:`regions_task` (keywords as there).

    Parameters
    ----------
    grid : Grid
        Parameter sets, usually from :func:`regions_grid`.
    store : str or os.PathLike
        The SQLite store (created or resumed).
    **kwargs
        Keywords of :func:`sim.sweeps.run_sweep` (``workers``, ``scheduler``, ``base_seed``,
        ``retry_failed``, ``progress``, ...).

    Returns
    -------
    SweepSummary
        What the sweep did.

    Raises
    ------
    SweepError
        As :func:`sim.sweeps.run_sweep` (bad grid, store of another task, ...).
    """
    return run_sweep(TASK, grid, store, **kwargs)


@dataclass(frozen=True)
class RegionsTable:
    """Per architecture (sorted by #neurons, then depth): mean and standard deviation of the count.

    Every array has one entry per architecture.

    Attributes
    ----------
    depth, width, n_neurons : numpy.ndarray of int
        Hidden layers, neurons per layer and their product.
    n_seeds : numpy.ndarray of int
        Finished networks of the architecture.
    mean, std : numpy.ndarray of float
        Mean and sample standard deviation (0 for one network) of the activation-region count.
    linear_mean : numpy.ndarray of float
        Mean linear-region count.
    hr_heuristic : numpy.ndarray of float
        #neurons^2 / 2 (Hanin & Rolnick 2019, Remark 1, n_in = 2).
    n_failed : int
        Number of failed tasks in the store.
    """

    depth: np.ndarray
    width: np.ndarray
    n_neurons: np.ndarray
    n_seeds: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    linear_mean: np.ndarray
    hr_heuristic: np.ndarray
    n_failed: int

    @property
    def ratio(self) -> np.ndarray:
        """mean count / (#neurons^2 / 2)."""
        return self.mean / self.hr_heuristic


def regions_table(store) -> RegionsTable:
    """Aggregate a ``sweep regions`` store over seeds (readable while the sweep runs).

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        A store written by :func:`run_regions_sweep` (or ``meanfield sweep regions``).

    Returns
    -------
    RegionsTable
        One entry per architecture, sorted by #neurons, then depth.

    Raises
    ------
    SweepError
        If the store holds another task or no finished task yet.
    StoreError
        If ``store`` is not a readable sweep store.
    """
    done, n_failed = finished_records(store, TASK, "regions")
    groups: dict = {}
    for r in done:
        groups.setdefault((int(r.results["n_neurons"]), int(r.params["depth"]), int(r.params["width"])), []).append(r)
    keys = sorted(groups)
    cols = {k: [] for k in ("depth", "width", "n_neurons", "n_seeds", "mean", "std", "linear_mean", "hr")}
    for n, d, w in keys:
        counts = np.array([r.results["count"] for r in groups[(n, d, w)]], dtype=float)
        linear = np.array([r.results["linear_count"] for r in groups[(n, d, w)]], dtype=float)
        for k, v in (("depth", d), ("width", w), ("n_neurons", n), ("n_seeds", len(counts)),
                     ("mean", counts.mean()), ("std", counts.std(ddof=1) if len(counts) > 1 else 0.0),
                     ("linear_mean", linear.mean()), ("hr", n * n / 2)):
            cols[k].append(v)
    a = {k: np.asarray(v) for k, v in cols.items()}
    return RegionsTable(a["depth"], a["width"], a["n_neurons"], a["n_seeds"], a["mean"], a["std"],
                        a["linear_mean"], a["hr"].astype(float), n_failed)


def regions_table_markdown(t: RegionsTable) -> str:
    """The table as Markdown: one row per architecture, with the ratio to #neurons^2 / 2.

    Parameters
    ----------
    t : RegionsTable
        The aggregated counts (:func:`regions_table`).

    Returns
    -------
    str
        A heading line, a blank line and a Markdown table (#neurons, depth, width, seeds,
        mean and std of the count, mean linear count, #neurons^2/2, ratio); ends with a newline.
    """
    lines = [("Activation regions in the 2D input plane at initialisation vs Hanin & Rolnick Remark 1 "
             f"(#neurons^2 / 2){'; ' + str(t.n_failed) + ' failed tasks' if t.n_failed else ''}"), "",
             ("| #neurons | depth | width | seeds | regions (mean) | std | linear regions (mean) | #neurons^2/2 | "
             "mean / (#neurons^2/2) |"), "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i in range(len(t.depth)):
        lines.append(f"| {t.n_neurons[i]} | {t.depth[i]} | {t.width[i]} | {t.n_seeds[i]} | {t.mean[i]:.1f} | "
                     f"{t.std[i]:.1f} | {t.linear_mean[i]:.1f} | {t.hr_heuristic[i]:.0f} | {t.ratio[i]:.3f} |")
    return "\n".join(lines) + "\n"


def plot_regions(t: RegionsTable):
    """Mean region count (error bars: std over seeds) against #neurons, one series per depth, and #neurons^2/2.

    Parameters
    ----------
    t : RegionsTable
        The aggregated counts (:func:`regions_table`).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the counts on log-log axes with the #neurons^2/2 line (Hanin & Rolnick
        2019, Remark 1), and the ratio count / (#neurons^2/2) with 1 marked.
    """
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    depths = sorted(set(t.depth.tolist()))
    for i, d in enumerate(depths):
        m = t.depth == d
        off = 1 + 0.02 * (i - (len(depths) - 1) / 2)  # small horizontal offsets so error bars do not overlap
        ax.errorbar(t.n_neurons[m] * off, t.mean[m], yerr=t.std[m], fmt="o", ms=4, capsize=2, label=f"depth {d}")
        ax2.errorbar(t.n_neurons[m] * off, t.ratio[m], yerr=t.std[m] / t.hr_heuristic[m], fmt="o-", ms=4,
                     capsize=2, label=f"depth {d}")  # error bars: std over seeds
    n = np.unique(t.n_neurons).astype(float)
    grid = np.geomspace(n.min() * 0.8, n.max() * 1.25, 50)
    ax.plot(grid, grid ** 2 / 2, "k--", lw=1.2, label=r"$\#\mathrm{neurons}^2/2$ (HR Remark 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("#neurons")
    ax.set_ylabel("activation regions in the plane")
    ax.legend(fontsize=8, frameon=False)
    ax2.axhline(1.0, color="k", ls="--", lw=1.2)
    ax2.set_xscale("log")
    ax2.set_xlabel("#neurons")
    ax2.set_ylabel(r"regions / ($\#\mathrm{neurons}^2/2$)")
    ax2.legend(fontsize=8, frameon=False)
    for a in (ax, ax2):  # label the #neurons of the grid, not log-axis minor ticks
        a.set_xticks(n)
        a.set_xticks([], minor=True)
        a.set_xticklabels([f"{v:g}" for v in n])
    fig.suptitle("Hanin & Rolnick Theorem 5 / Remark 1: depth-independent region counts at initialisation",
                 fontsize=10)
    fig.tight_layout()
    return fig
