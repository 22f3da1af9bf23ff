"""What every training experiment shares: runs through the sweep engine, data, planes, rows.

An experiment is a grid of runs; each run is one task of ``sim.sweeps.run_sweep``
(a module-level function taking JSON parameters) that returns its own tidy rows as
equal-length arrays (``rows_result``).  :func:`run_grid` runs the grid, in-process
(``workers=0``), on a local cluster (``workers=k``) or on a running scheduler, and
stacks the rows into one :class:`ExperimentTable` with a ``run`` column (the run's
index in the grid) and the run's parameters as columns.

Seeds: each run's seed is derived from its scientific parameters only
(``sim.sweeps.task_seed``), never from where the data live, so the same grid gives
the same numbers on any machine and with any number of workers.
"""
from __future__ import annotations

import math
import pathlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import SimError
from .table import ExperimentTable

#: Columns every experiment table starts with.
BASE = ("run", "step", "epoch", "train_accuracy")


class ExperimentError(SimError):
    """An experiment cannot run as asked (bad name, data, or a run that failed)."""


@dataclass(frozen=True)
class Settings:
    """Where and how an experiment runs.

    Attributes
    ----------
    quick : bool
        The tiny CI size instead of the full one.
    data : str or None
        MNIST directory (None: ``$MEANFIELD_DATA``).
    workers : int or None
        0: in-process; k: a local Dask cluster of k processes; None: one per core.
    scheduler : str or None
        Address of a running Dask scheduler (overrides ``workers``).
    store : path or None
        SQLite store of the sweep (resumable); None: a temporary one.
    progress : bool
        Progress line on stderr.
    """

    quick: bool = False
    data: str | None = None
    workers: int | None = 0
    scheduler: str | None = None
    store: str | None = None
    progress: bool = False


@dataclass(frozen=True)
class ExperimentResult:
    """The tidy table of an experiment and the arrays its plot needs beyond the table.

    Attributes
    ----------
    table : ExperimentTable
        One row per run and measurement step (and plane, line or layer where the
        experiment has several), with the run's parameters as columns.
    extras : dict run -> dict name -> array
        Per-run arrays (e.g. weight snapshots for region pictures).
    data : str or None
        The MNIST directory used (plots that show images read them again).
    """

    table: ExperimentTable
    extras: Mapping[int, Mapping[str, np.ndarray]] = field(default_factory=dict)
    data: str | None = None


def run_seed(params: Mapping) -> int:
    """The seed of a run: a function of its parameters (``sim.sweeps.task_seed``).

    Parameters
    ----------
    params : mapping of str to parameter value
        The run's scientific parameters (not the data directory).

    Returns
    -------
    int
        ``task_seed(params)`` with base seed 0, in [0, 2^63).

    Raises
    ------
    SweepError
        If a parameter value cannot be stored as JSON.
    """
    from ..sweeps import task_seed

    return int(task_seed(dict(params)))


def run_grid(name: str, task: str, runs: Sequence[Mapping], settings: Settings, *,
             columns: Sequence[str], notes: Mapping[str, str], shared: Mapping | None = None,
             extras: Sequence[str] = ()) -> ExperimentResult:
    """Run ``task`` ("module:function") once per parameter set of ``runs`` and stack the rows.

    ``shared`` parameters go to every task but do not enter the seed (the data
    directory).  Each task returns arrays of equal length (its rows) plus, under the
    names in ``extras``, arrays kept aside for plotting.  A failed run is an
    :class:`ExperimentError` naming it and its error.

    Parameters
    ----------
    name : str
        The experiment's name (table name, temporary store name, messages).
    task : str
        ``"module:function"`` of the run function.
    runs : sequence of mapping
        One parameter set per run; each gets ``seed`` = :func:`run_seed` of it.
    settings : Settings
        Workers, scheduler, store and progress.
    columns : sequence of str
        Leading columns of the table, in order (further columns follow).
    notes : mapping of str to str
        Scale and settings, kept in the table's ``notes``.
    shared : mapping, optional
        Parameters passed to every run without entering its seed (e.g. ``data``).
    extras : sequence of str
        Names of returned arrays kept per run in ``ExperimentResult.extras`` instead of
        becoming columns.

    Returns
    -------
    ExperimentResult
        Table with a ``run`` column (index in ``runs``) and the runs' scalar
        parameters, the kept arrays and the data directory (``shared["data"]``).

    Raises
    ------
    ExperimentError
        If a run fails, or returns columns of different lengths.
    SweepError
        If the runs do not match the task's signature or the store cannot be used.
    """
    from ..sweeps import SweepStore, run_sweep

    shared = dict(shared or {})
    grid = []
    for params in runs:
        p = dict(params)
        p["seed"] = run_seed(p)
        grid.append({**p, **shared})
    with tempfile.TemporaryDirectory(prefix=f"meanfield-{name}-") as tmp:
        store = settings.store or str(pathlib.Path(tmp) / f"{name}.sqlite")
        summary = run_sweep(task, grid, store, workers=None if settings.scheduler else settings.workers,
                            scheduler=settings.scheduler, progress=settings.progress, retry_failed=True)
        if not summary.ok:
            f = summary.failures[0]
            raise ExperimentError(f"{name}: {summary.n_failed} run(s) failed, first: {_describe(f)}")
        with SweepStore.open(store) as st:
            by_key = {r.key: r for r in st.records(arrays=True)}
    from ..sweeps import task_key

    rows, kept = [], {}
    for run, params in enumerate(grid):
        rec = by_key[task_key(params)]
        arrays = dict(rec.arrays)
        kept[run] = {k: arrays.pop(k) for k in extras if k in arrays}
        n = {len(np.atleast_1d(v)) for v in arrays.values()}
        if len(n) != 1:
            raise ExperimentError(f"{name}: run {run} returned columns of different lengths {sorted(n)}")
        n = n.pop()
        varying = {k: v for k, v in params.items() if k not in shared and not isinstance(v, (list, dict))}
        for i in range(n):
            row = {"run": run, **varying}
            row.update({k: _scalar(v[i]) for k, v in arrays.items()})
            rows.append(row)
    table = ExperimentTable.from_rows(name, rows, columns, notes)
    return ExperimentResult(table, kept, shared.get("data"))


def _describe(failure) -> str:
    for attr in ("error_message", "message"):
        if hasattr(failure, attr):
            return f"{getattr(failure, 'error_type', '')}: {getattr(failure, attr)}"
    return str(failure)


def _scalar(v):
    v = v.item() if hasattr(v, "item") else v
    return v


def rows_result(rows: Sequence[Mapping]) -> dict:
    """A task's rows (dicts with the same keys) as the dict of arrays the sweep store keeps.

    Parameters
    ----------
    rows : sequence of mapping
        The run's rows; the keys of the first row are the columns.

    Returns
    -------
    dict of str to numpy.ndarray
        One array of length ``len(rows)`` per column.

    Raises
    ------
    ExperimentError
        If ``rows`` is empty.
    """
    if not rows:
        raise ExperimentError("a run produced no rows")
    keys = list(rows[0])
    return {k: np.asarray([r[k] for r in rows]) for k in keys}


# ------------------------------------------------------------------------- data

def mnist(data: str | None, n_train: int | None = None, n_test: int | None = None):
    """MNIST scaled to [0, 1] (float32 features), the first ``n_train`` / ``n_test`` images.

    Parameters
    ----------
    data : str or None
        MNIST directory (None: ``$MEANFIELD_DATA``, see :func:`sim.data.load_mnist`).
    n_train, n_test : int, optional
        Numbers of training and test images kept (None: all).

    Returns
    -------
    Dataset
        Flattened images (n, 784) in [0, 1] and their labels.
    """
    from ..data import Dataset, load_mnist

    ds = load_mnist(data).scaled()
    return Dataset(ds.name, ds.x_train[:n_train], ds.y_train[:n_train], ds.x_test[:n_test], ds.y_test[:n_test],
                   ds.n_classes)


def pick(n: int, k: int, seed) -> np.ndarray:
    """``k`` distinct indices out of ``n`` drawn from ``seed``.

    Parameters
    ----------
    n : int
        Size of the population 0..n-1.
    k : int
        Number of indices (<= n).
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray of int, shape (k,)
        Distinct indices, in drawing order.

    Raises
    ------
    ValueError
        If ``k > n`` (numpy's error).
    """
    return np.random.default_rng(seed).choice(n, size=k, replace=False)


def steps_for(spe: int, epochs: int, *, n_dense: int = 0, dense_epochs: float = 0.5, per_epoch: int = 1):
    """Measurement steps of a run (:func:`sim.training.measurement_steps`, dense over the first half epoch).

    Parameters
    ----------
    spe : int
        Optimizer steps per epoch.
    epochs : int
        Number of epochs.
    n_dense : int
        Extra measurements spread over the first ``dense_epochs`` epochs (0: none).
    dense_epochs : float
        Length of the dense start, in epochs (HR Fig. 3: half an epoch).
    per_epoch : int
        Measurements per epoch after that.

    Returns
    -------
    tuple of int
        Distinct steps, ascending, from 0 to ``spe * epochs``.

    Raises
    ------
    TrainingError
        If a count is below its minimum.
    """
    from ..training import measurement_steps

    return measurement_steps(spe, epochs, dense_epochs=dense_epochs, n_dense=n_dense, per_epoch=per_epoch)


def log_steps(n_train: int, batch_size: int, epochs: int, n_checkpoints: int) -> np.ndarray:
    """Step 0 and ``n_checkpoints`` log-spaced steps in 1..total (rounded, distinct, ascending).

    Parameters
    ----------
    n_train : int
        Training samples actually used.
    batch_size : int
        Mini-batch size (>= 1).
    epochs : int
        Number of epochs.
    n_checkpoints : int
        Log-spaced measurement steps wanted in 1..total, total = floor(n_train / batch_size) * epochs.

    Returns
    -------
    numpy.ndarray of int
        The measurement steps.

    Raises
    ------
    TrainingError
        If ``batch_size`` exceeds ``n_train`` (no full batch, so no step to space).
    """
    from ..training import TrainingError

    if n_train < batch_size:          # checked here: geomspace(1, 0) would fail first with numpy's message
        raise TrainingError(f"batch_size {batch_size} exceeds the {n_train} training samples; use a smaller batch")
    total = (n_train // batch_size) * epochs
    return np.unique(np.concatenate([[0], np.rint(np.geomspace(1, total, n_checkpoints))])).astype(int)


def history_rows(history, extra: Callable[[dict], list[dict]] | None = None) -> list[dict]:
    """Base columns of every history row, expanded by ``extra(row)`` into several rows.

    Parameters
    ----------
    history : History
        A training run's history (:func:`sim.training.train`).
    extra : callable, optional
        ``extra(row) -> list of dict``: the rows (e.g. one per plane or layer) that
        one history row becomes, each merged with the base columns.

    Returns
    -------
    list of dict
        Rows with ``step``, ``epoch``, ``train_accuracy``, ``test_accuracy`` (NaN without a
        test set) and the keys of ``extra``.
    """
    out = []
    for row in history.rows:
        base = {"step": int(row["step"]), "epoch": float(row["epoch"]),
                "train_accuracy": float(row["train_accuracy"]), "test_accuracy": _nan(row.get("test_accuracy"))}
        if extra is None:
            out.append(base)
        else:
            out.extend({**base, **e} for e in extra(row))
    return out


def _nan(v):
    return math.nan if v is None else float(v)


def hr_prediction(n_neurons: int, n_in: int) -> float:
    """#neurons^n_in / n_in!  (Hanin & Rolnick 2019, Theorem 5 / Remark 1).

    Parameters
    ----------
    n_neurons : int
        Total number of hidden neurons.
    n_in : int
        Dimension of the input region (2 for a plane, 1 for a line).

    Returns
    -------
    float
        The heuristic average number of activation regions over all of R^n_in (Remark 1:
        the count of a depth-1 network, eq. (4), whatever the depth).
    """
    return n_neurons ** n_in / math.factorial(n_in)
