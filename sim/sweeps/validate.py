"""Theory against simulation across a grid: how wide must a network be for the mean-field theory to hold?

One task (:func:`validate_task`) is one random network of width N and depth D at one
(phi, sigma_w, sigma_b).  A circle of squared length q* per neuron (Poole et al.
2016, Sec. 4) is pushed through it, and per layer l = 2..D the simulated

==========  ===============================================  =============  ========
quantity    simulation (one network, mean over the circle)   theory         error
==========  ===============================================  =============  ========
q           q^l (eq. 2)                                      eq. (3)        relative
c           c12^l of points dtheta apart (c^1 nearest c0)    eq. (5)-(6)    absolute
chi1        |J u|^2 / |u|^2 through layer l (exact E_u)      eq. (7)        relative
g_E         g_E / N                                          eq. (8)        relative
kappa2      N <g_G> / <g_E> (curve-level)                    eq. (8)        relative
==========  ===============================================  =============  ========

is compared with the theory of :class:`meanfield.MeanField`.  The task returns, per
quantity, the root mean square over layers 2..D of the error (``err_q``, ...;
layer 1 is exact by construction), and the per-layer simulated and theoretical
values as arrays (``sim_q``, ``theory_q``, ...).  Relative errors follow
``sim.validation.verdict.RELATIVE``.  kappa2 is NaN for piecewise-linear phi (chi2 undefined).

Finite-width fluctuations of each quantity are averages over N neurons, so a single
network's error falls like 1/sqrt(N) (the O(1/N) bias is smaller at these widths):
:func:`plot_error_vs_width` draws the errors against N on log axes with that slope.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import run_sweep
from .errors import SweepError
from .grid import Grid
from .store import finished_records

#: The task run by ``meanfield sweep validate``.
TASK = "sim.sweeps.validate:validate_task"
#: Quantities in tables and plots (the order of ``sim.validation.verdict.QUANTITIES``).
QUANTITIES = ("q", "c", "chi1", "g_E", "kappa2")


def validate_task(phi: str, sigma_w: float, sigma_b: float, width: int, depth: int, *, n_points: int = 32,
                  c0: float = 0.5, seed: int) -> dict:
    """Errors of one random network against the mean-field theory (see the module docstring).

    Parameters
    ----------
    phi : str
        Nonlinearity (registry name or expression in x).
    sigma_w, sigma_b : float
        Weight and bias standard deviations.
    width, depth : int
        N for every layer and the number of layers D >= 2.
    n_points : int
        Samples of the circle.
    c0 : float
        Requested initial correlation of the c rows; the circle's grid rounds it to
        cos(2 pi k / n_points).
    seed : int
        The network uses ``(seed, 0)``, the circle ``(seed, 1)``.

    Returns
    -------
    dict
        ``err_<quantity>`` (RMS error over layers 2..D), ``q_star``, ``chi1_theory``,
        ``c1`` (the rounded c^1) and arrays ``sim_<quantity>``, ``theory_<quantity>``
        (layers 1..D; chi1 from layer 2).

    Raises
    ------
    SweepError
        If ``width < 2``, ``depth < 2`` or ``n_points < 8``.
    """
    from meanfield import MeanField
    from meanfield.nonlinearity import as_nonlinearity

    from ..geometry.curves import circle
    from ..geometry.measure import (
        correlation,
        curve_curvature2,
        normalised_metric,
        perturbation_growth,
        squared_length,
    )
    from ..geometry.propagate import propagate_iter
    from ..networks.network import RandomNetwork
    from ..validation.verdict import RELATIVE

    width, depth, n_points = int(width), int(depth), int(n_points)
    if width < 2 or depth < 2 or n_points < 8:
        raise SweepError(f"need width >= 2, depth >= 2 and n_points >= 8; got {width}, {depth}, {n_points}")
    nl = as_nonlinearity(phi)
    mf = MeanField(nl, sigma_w, sigma_b)
    q_star, chi1 = float(mf.q_star()), float(mf.chi1())
    try:
        geometry = mf.curvature(depth)
        theory_g, theory_k = np.asarray(geometry.g_E), np.asarray(geometry.kappa2)
    except ValueError:  # UndefinedQuantityError: piecewise-linear phi has no chi2, hence no kappa2
        theory_g, theory_k = q_star * chi1 ** np.arange(depth), None
    k = max(1, round(n_points * float(np.arccos(np.clip(c0, -1, 1))) / (2 * np.pi)))
    c1 = float(np.cos(2 * np.pi * k / n_points))
    theory = {"q": np.asarray(mf.length_trajectory(q_star, depth)),
              "c": np.asarray(mf.correlation_trajectory(c1, depth)),
              "chi1": np.full(depth - 1, chi1), "g_E": theory_g}
    if theory_k is not None:
        theory["kappa2"] = theory_k

    net = RandomNetwork(nl, [width] * (depth + 1), sigma_w, sigma_b, seed=(seed, 0))
    sim = {name: [] for name in theory}
    previous = None
    for state in propagate_iter(net, circle(width, q_star, n_points, seed=(seed, 1)), order=2):
        h = state.position
        sim["q"].append(float(np.mean(squared_length(h))))
        sim["c"].append(float(np.mean(correlation(h, np.roll(h, -k, axis=0)))))
        sim["g_E"].append(float(np.mean(normalised_metric(state.velocity))))
        if "kappa2" in sim:
            sim["kappa2"].append(float(curve_curvature2(state.velocity, state.acceleration)))
        if previous is not None:
            sim["chi1"].append(float(np.mean(perturbation_growth(net, state.layer, previous))))
        previous = h

    out: dict = {"q_star": q_star, "chi1_theory": chi1, "c1": c1}
    for name in QUANTITIES:
        if name not in theory:
            out[f"err_{name}"] = float("nan")
            continue
        s, t = np.asarray(sim[name]), np.asarray(theory[name], dtype=float)
        # layers 2..D: layer 1 is the circle itself (exact); chi1 starts at layer 2
        s2, t2 = (s, t) if name == "chi1" else (s[1:], t[1:])
        err = np.abs(s2 - t2)
        if RELATIVE[name]:
            err = err / np.where(t2 != 0, np.abs(t2), 1.0)
        out[f"err_{name}"] = float(np.sqrt(np.mean(err ** 2)))
        out[f"sim_{name}"], out[f"theory_{name}"] = s, t
    return out


def validate_grid(phi: str, sigma_w, sigma_b, widths, depth: int, seeds: int, *, n_points: int = 32) -> Grid:
    """The grid of ``meanfield sweep validate``: every (sigma_w, sigma_b, width) with ``seeds`` replicates.

    Parameters
    ----------
    phi : str
        Nonlinearity (registry name or expression in x); checked here, once.
    sigma_w, sigma_b : sequence of float
        Weight and bias standard deviations (>= 0); every combination is used.
    widths : sequence of int
        Network widths N (>= 2).
    depth : int
        Number of layers D (>= 2), the same for every task.
    seeds : int
        Number of replicates (independent networks) per (sigma_w, sigma_b, width), >= 1.
    n_points : int
        Samples of the input circle (:func:`validate_task`).

    Returns
    -------
    Grid
        Parameter sets for :func:`validate_task`: ``phi``, ``sigma_w``, ``sigma_b``,
        ``width``, ``depth``, ``n_points`` and ``replicate`` (the last varying fastest).

    Raises
    ------
    SweepError
        If ``seeds < 1``, ``depth < 2``, ``widths`` is empty or has a width below 2, or a
        sigma is negative.
    ExpressionError
        If ``phi`` is not a known name or a valid expression (meanfield's parser).
    """
    from meanfield.nonlinearity import as_nonlinearity

    as_nonlinearity(phi)  # a bad phi is one error here, not one failed task per grid point
    widths, sigma_w, sigma_b = list(widths), list(sigma_w), list(sigma_b)
    if int(seeds) < 1:
        raise SweepError(f"--seeds must be at least 1, got {seeds}")
    if int(depth) < 2:
        raise SweepError(f"--depth must be at least 2, got {depth}")
    if not widths or min(widths) < 2:
        raise SweepError(f"--widths must be integers >= 2, got {widths}")
    if min(sigma_w + sigma_b) < 0:
        raise SweepError("sigma_w and sigma_b are standard deviations and must be >= 0")
    return Grid.product(phi=str(phi), sigma_w=[float(s) for s in sigma_w], sigma_b=[float(s) for s in sigma_b],
                        width=[int(w) for w in widths], depth=int(depth), n_points=int(n_points),
                        replicate=range(int(seeds)))


def run_validate_sweep(grid: Grid, store, **kwargs):
    """:func:`sim.sweeps.run_sweep` of :func:`validate_task` (keywords as there).

    Parameters
    ----------
    grid : Grid
        Parameter sets, usually from :func:`validate_grid`.
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
class ErrorTable:
    """Errors per quantity and width, over every (sigma_w, sigma_b) and seed of a validate store.

    ``mean[i, j]`` is the mean over tasks of width ``widths[j]`` of ``err_<quantities[i]>``,
    ``sem`` its standard error, ``count[j]`` the number of finished tasks, ``slope[i]``
    the least-squares slope of log(mean error) against log(N) (1/sqrt(N) gives -1/2).

    Attributes
    ----------
    phi : str
        The nonlinearities of the store, comma-separated (normally one).
    sigmas : tuple of (float, float)
        The distinct (sigma_w, sigma_b) of the finished tasks, sorted.
    depth : tuple of int
        The distinct depths, sorted.
    widths : numpy.ndarray of int, shape (n_widths,)
        The distinct widths N, ascending.
    quantities : tuple of str
        The quantities with at least one finite error (a subset of :data:`QUANTITIES`,
        in that order; ``kappa2`` is absent for piecewise-linear phi).
    mean : numpy.ndarray of shape (n_quantities, n_widths)
        Mean over tasks of the per-network RMS error (NaN where none is finite).
    sem : numpy.ndarray of shape (n_quantities, n_widths)
        Standard error of ``mean`` (NaN with fewer than two finite errors).
    count : numpy.ndarray of int, shape (n_widths,)
        Number of finished tasks per width.
    slope : numpy.ndarray of shape (n_quantities,)
        Fitted slope of log(mean) against log(N) (NaN with fewer than two usable widths).
    n_failed : int
        Number of failed tasks in the store.
    """

    phi: str
    sigmas: tuple[tuple[float, float], ...]
    depth: tuple[int, ...]
    widths: np.ndarray
    quantities: tuple[str, ...]
    mean: np.ndarray
    sem: np.ndarray
    count: np.ndarray
    slope: np.ndarray
    n_failed: int


def error_table(store) -> ErrorTable:
    """Aggregate the errors of a ``sweep validate`` store (readable while the sweep runs).

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        A store written by :func:`run_validate_sweep` (or ``meanfield sweep validate``).

    Returns
    -------
    ErrorTable
        Mean error and its standard error per quantity and width, and the fitted slopes.

    Raises
    ------
    SweepError
        If the store holds another task or no finished task yet.
    StoreError
        If ``store`` is not a readable sweep store.
    """
    done, n_failed = finished_records(store, TASK, "validate")
    widths = np.array(sorted({int(r.params["width"]) for r in done}))
    quantities = tuple(q for q in QUANTITIES
                       if any(np.isfinite(r.results.get(f"err_{q}", np.nan)) for r in done))
    mean = np.full((len(quantities), len(widths)), np.nan)
    sem = np.full_like(mean, np.nan)
    count = np.zeros(len(widths), dtype=int)
    for j, w in enumerate(widths):
        rows = [r for r in done if int(r.params["width"]) == w]
        count[j] = len(rows)
        for i, q in enumerate(quantities):
            e = np.array([r.results[f"err_{q}"] for r in rows], dtype=float)
            e = e[np.isfinite(e)]
            if len(e):
                mean[i, j] = e.mean()
                sem[i, j] = e.std(ddof=1) / np.sqrt(len(e)) if len(e) > 1 else np.nan
    slope = np.full(len(quantities), np.nan)
    if len(widths) > 1:
        for i in range(len(quantities)):
            ok = np.isfinite(mean[i]) & (mean[i] > 0)
            if ok.sum() > 1:
                slope[i] = np.polyfit(np.log(widths[ok]), np.log(mean[i][ok]), 1)[0]
    phis = sorted({str(r.params["phi"]) for r in done})
    sigmas = tuple(sorted({(float(r.params["sigma_w"]), float(r.params["sigma_b"])) for r in done}))
    depth = tuple(sorted({int(r.params["depth"]) for r in done}))
    return ErrorTable(", ".join(phis), sigmas, depth, widths, quantities, mean, sem, count, slope, n_failed)


def error_table_markdown(t: ErrorTable) -> str:
    """The table as Markdown: one row per quantity, one column per width, and the fitted slope.

    Parameters
    ----------
    t : ErrorTable
        The aggregated errors (:func:`error_table`).

    Returns
    -------
    str
        A heading line (phi, sigmas, depth, failed tasks), a blank line and a Markdown
        table with a last row of task counts per width; ends with a newline.
    """
    failed = f"; {t.n_failed} failed tasks" if t.n_failed else ""
    head = (f"phi = `{t.phi}`, (sigma_w, sigma_b) in {list(t.sigmas)}, depth {', '.join(map(str, t.depth))}; "
            f"mean error over networks (RMS over layers 2..D){failed}")
    lines = [head, "", "| quantity | " + " | ".join(f"N={w}" for w in t.widths) + " | slope (1/sqrt N: -0.5) |",
             "|---|" + "---:|" * (len(t.widths) + 1)]
    for i, q in enumerate(t.quantities):
        cells = " | ".join(f"{m:.3g}" for m in t.mean[i])
        lines.append(f"| {q} | {cells} | {t.slope[i]:.2f} |")
    lines.append("| tasks | " + " | ".join(str(c) for c in t.count) + " | |")
    return "\n".join(lines) + "\n"


def plot_error_vs_width(t: ErrorTable):
    """Error against width on log axes, one line per quantity, with the 1/sqrt(N) slope drawn.

    Parameters
    ----------
    t : ErrorTable
        The aggregated errors (:func:`error_table`).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: mean error with standard-error bars per quantity (fitted slope in the
        legend) and a dashed 1/sqrt(N) reference line.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for i, q in enumerate(t.quantities):
        ax.errorbar(t.widths, t.mean[i], yerr=np.nan_to_num(t.sem[i]), fmt="o-", ms=4, capsize=2,
                    label=f"{q} (slope {t.slope[i]:.2f})")
    if len(t.widths):
        anchor = np.nanmax(t.mean[:, 0]) * 1.5
        ax.plot(t.widths, anchor * np.sqrt(t.widths[0] / t.widths), "k--", lw=1.2, label=r"$\propto 1/\sqrt{N}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width N")
    ax.set_ylabel("error of one network (RMS over layers)")
    sig = ", ".join(f"({w:g}, {b:g})" for w, b in t.sigmas[:4]) + (", ..." if len(t.sigmas) > 4 else "")
    ax.set_title(f"{t.phi}: theory vs simulation, depth {', '.join(map(str, t.depth))}\n"
                 f"(sigma_w, sigma_b) = {sig}; {int(t.count.sum())} networks", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
