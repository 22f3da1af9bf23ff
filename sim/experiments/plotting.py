"""Curves of a tidy table: the mean over runs with a band of one standard deviation."""
from __future__ import annotations

import numpy as np

from .table import ExperimentTable


def run_means(table: ExperimentTable, value: str, x: str, group: str | None = None):
    """{group value: (x, mean over runs, std over runs)}, where each run first averages
    ``value`` over its rows at one step (planes, lines), as HR do.

    Parameters
    ----------
    table : ExperimentTable
        A tidy table with ``run`` and ``step`` columns.
    value : str
        Column to average (e.g. ``regions``).
    x : str
        Column giving the abscissa of each step (its mean over the step's rows, e.g. ``epoch``).
    group : str, optional
        Column whose values give separate curves (None: one curve, key None).

    Returns
    -------
    dict
        ``{group value: (x, mean, std)}``, three numpy arrays with one entry per step,
        sorted by x; mean and (population) std are over runs.

    Raises
    ------
    TableError
        If a column does not exist.
    """
    out = {}
    groups = table.unique(group) if group else [None]
    for g in groups:
        sub = table.where(**{group: g}) if group else table
        steps = sub.unique("step")
        xs, means, stds = [], [], []
        for s in steps:
            at = sub.where(step=s)
            per_run = [np.nanmean(at.where(run=r)[value].astype(float)) for r in at.unique("run")]
            xs.append(float(np.mean(at[x].astype(float))))
            means.append(float(np.mean(per_run)))
            stds.append(float(np.std(per_run)))
        order = np.argsort(xs)
        out[g] = tuple(np.asarray(a)[order] for a in (xs, means, stds))
    return out


def band(ax, curves: dict, *, label_fmt: str = "{}", colors=None, marker=None):
    """Draw mean curves with +-1 std bands; returns {group: colour}.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    curves : dict
        ``{group: (x, mean, std)}`` as from :func:`run_means`.
    label_fmt : str
        Legend label, ``label_fmt.format(group)``.
    colors : mapping, optional
        Colour per group (default: the colour cycle C0, C1, ...).
    marker : str, optional
        Matplotlib marker of the mean curves.

    Returns
    -------
    dict
        ``{group: colour}`` used.
    """
    used = {}
    for i, (g, (x, m, s)) in enumerate(curves.items()):
        c = colors[g] if colors else f"C{i}"
        ax.plot(x, m, color=c, marker=marker, ms=3, label=label_fmt.format(g))
        ax.fill_between(x, m - s, m + s, color=c, alpha=0.2, lw=0)
        used[g] = c
    return used
