"""The training experiments of Hanin & Rolnick 2019 and Raghu et al. 2017, by name.

Public API
----------
EXPERIMENTS : dict name -> Experiment
    ``hr-fig3`` .. ``hr-fig7``, ``raghu-fig4``, ``raghu-fig5``, ``raghu-fig6``,
    ``noise-depth``, ``trajectory-regularization``.
run_experiment(name, *, quick=False, data=None, workers=0, scheduler=None, store=None, progress=False)
    -> ExperimentResult (``.table``: a tidy :class:`ExperimentTable`, one row per run and
    measurement step, ``.extras``: arrays for the plot).
Experiment.run(settings) / Experiment.plot(result) -> matplotlib Figure.
ExperimentTable: columns of equal length; ``to_csv``, ``from_csv``, ``where``, ``unique``.
plane_regions, line_regions: exact activation regions of a whole plane / line.

Every run of an experiment is a task of the sweep engine (``sim.sweeps``), its seed
derived from its parameters.  Each experiment has a quick mode (seconds, for CI) and a
full mode (about 30 minutes at most on 2 cores); the scale of each is stated in the
table's ``notes`` and in docs/experiments.md.  MNIST comes from ``sim.data.load_mnist``
(``data=`` or ``$MEANFIELD_DATA``); CIFAR-10 is not used: it cannot be obtained on the
machines these experiments were run on, so Raghu et al.'s CIFAR-10 panels are not
reproduced.  ``import sim.experiments`` needs neither JAX nor Dask.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .common import BASE, ExperimentError, ExperimentResult, Settings
from .sections import SectionCount, SectionError, line_regions, plane_regions
from .table import ExperimentTable, TableError


@dataclass(frozen=True)
class Experiment:
    """One figure: how to run it, how to draw it, what it measures.

    Attributes
    ----------
    name : str
        Registry name (``hr-fig3``, ``raghu-fig4``, ...).
    title : str
        One line naming the paper's figure and what it shows.
    run : callable
        ``run(settings: Settings) -> ExperimentResult``.
    plot : callable
        ``plot(result: ExperimentResult) -> matplotlib.figure.Figure``.
    columns : tuple of str
        Columns its table always has.
    needs_mnist : bool
        True if it trains on MNIST (``Settings.data`` or ``$MEANFIELD_DATA`` must point to it).
    """

    name: str
    title: str
    run: Callable
    plot: Callable
    columns: tuple
    needs_mnist: bool


def _registry() -> dict:
    from . import hanin_rolnick as hr
    from . import raghu, stability

    E = Experiment
    exps = [
        E("hr-fig3", "HR Fig. 3: regions in planes through MNIST images during training", hr.hr_fig3, hr.plot_fig3,
          BASE + ("arch", "plane", "regions"), True),
        E("hr-fig4", "HR Fig. 4: regions on lines under label corruption", hr.hr_fig4, hr.plot_fig4,
          BASE + ("corruption", "regions"), True),
        E("hr-fig5", "HR Fig. 5: regions while memorizing random 2D points", hr.hr_fig5, hr.plot_fig5,
          BASE + ("n_points", "plane", "regions"), False),
        E("hr-fig6", "HR Fig. 6: learning rate and weight scale", hr.hr_fig6, hr.plot_fig6,
          BASE + ("lr", "weight_scale", "plane", "regions"), False),
        E("hr-fig7", "HR Fig. 7: pictures of the regions before, during and after training", hr.hr_fig7,
          hr.plot_fig7, BASE + ("plane", "regions"), True),
        E("raghu-fig4", "Raghu Fig. 4: trajectory length during training, sigma_w^2 = 16", raghu.raghu_fig4,
          raghu.plot_trajectory, BASE + ("curve", "layer", "trajectory_length"), True),
        E("raghu-fig5", "Raghu Fig. 5: trajectory length during training, sigma_w^2 = 3", raghu.raghu_fig5,
          raghu.plot_trajectory, BASE + ("curve", "layer", "trajectory_length"), True),
        E("raghu-fig6", "Raghu Fig. 6: training exactly one layer (remaining depth)", raghu.raghu_fig6,
          raghu.plot_fig6, BASE + ("layer", "test_accuracy"), True),
        E("noise-depth", "Slides: noise at a layer hurts more the more depth remains", stability.noise_depth,
          stability.plot_noise_depth, BASE + ("layer", "noise", "test_accuracy"), True),
        E("trajectory-regularization", "Slides: trajectory regularization vs batch normalization",
          stability.trajectory_regularization, stability.plot_trajectory_regularization,
          BASE + ("test_accuracy", "method", "layer", "trajectory_length"), True),
    ]
    return {e.name: e for e in exps}


class _Lazy(dict):
    """The registry, built on first use (the experiment modules import nothing heavy, but
    keeping ``import sim.experiments`` minimal keeps ``import sim`` fast)."""

    def _fill(self):
        if not super().__len__():
            super().update(_registry())

    def __getitem__(self, k):
        self._fill()
        return super().__getitem__(k)

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()

    def __contains__(self, k):
        self._fill()
        return super().__contains__(k)

    def keys(self):
        self._fill()
        return super().keys()

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()


EXPERIMENTS: dict = _Lazy()


def get(name: str) -> Experiment:
    """The experiment called ``name``, or an :class:`ExperimentError` listing the names.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`.

    Returns
    -------
    Experiment
        The registered experiment.

    Raises
    ------
    ExperimentError
        If no experiment has that name (the message lists them).
    """
    if name not in EXPERIMENTS:
        raise ExperimentError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def run_experiment(name: str, *, quick: bool = False, data=None, workers: int | None = 0, scheduler=None,
                   store=None, progress: bool = False) -> ExperimentResult:
    """Run experiment ``name`` (quick or full mode) and return its result.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`.
    quick : bool
        The tiny CI size (seconds) instead of the full one (minutes).
    data : str or os.PathLike, optional
        MNIST directory (default: ``$MEANFIELD_DATA``).
    workers : int or None
        0: in-process; k: a local Dask cluster of k processes; None: one per core.
    scheduler : str, optional
        Address ``tcp://host:port`` of a running Dask scheduler (overrides ``workers``).
    store : str or os.PathLike, optional
        SQLite sweep store, to resume an interrupted run (default: a temporary one).
    progress : bool
        Progress line on stderr.

    Returns
    -------
    ExperimentResult
        The tidy table (one row per run and measurement) and the arrays the plot needs.

    Raises
    ------
    ExperimentError
        If the name is unknown or a run fails (the message names the first failure).
    """
    exp = get(name)
    settings = Settings(quick=quick, data=None if data is None else str(data), workers=workers,
                        scheduler=scheduler, store=None if store is None else str(store), progress=progress)
    return exp.run(settings)


__all__ = ["EXPERIMENTS", "Experiment", "ExperimentError", "ExperimentResult", "ExperimentTable", "SectionCount",
           "SectionError", "Settings", "TableError", "get", "line_regions", "plane_regions", "run_experiment"]
