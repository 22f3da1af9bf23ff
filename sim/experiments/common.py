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
    extras : dict run -> dict name -> array
        Per-run arrays (e.g. weight snapshots for region pictures).
    data : str or None
        The MNIST directory used (plots that show images read them again).
    """

    table: ExperimentTable
    extras: Mapping[int, Mapping[str, np.ndarray]] = field(default_factory=dict)
    data: str | None = None


def run_seed(params: Mapping) -> int:
    """The seed of a run: a function of its parameters (``sim.sweeps.task_seed``)."""
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
        by_key = {r.key: r for r in SweepStore.open(store).records(arrays=True)}
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
    """A task's rows (dicts with the same keys) as the dict of arrays the sweep store keeps."""
    if not rows:
        raise ExperimentError("a run produced no rows")
    keys = list(rows[0])
    return {k: np.asarray([r[k] for r in rows]) for k in keys}


# ------------------------------------------------------------------------- data

def mnist(data: str | None, n_train: int | None = None, n_test: int | None = None):
    """MNIST scaled to [0, 1] (float32 features), the first ``n_train`` / ``n_test`` images."""
    from ..data import Dataset, load_mnist

    ds = load_mnist(data).scaled()
    return Dataset(ds.name, ds.x_train[:n_train], ds.y_train[:n_train], ds.x_test[:n_test], ds.y_test[:n_test],
                   ds.n_classes)


def pick(n: int, k: int, seed) -> np.ndarray:
    """``k`` distinct indices out of ``n`` drawn from ``seed``."""
    return np.random.default_rng(seed).choice(n, size=k, replace=False)


def steps_for(spe: int, epochs: int, *, n_dense: int = 0, dense_epochs: float = 0.5, per_epoch: int = 1):
    from ..training import measurement_steps

    return measurement_steps(spe, epochs, dense_epochs=dense_epochs, n_dense=n_dense, per_epoch=per_epoch)


def history_rows(history, extra: Callable[[dict], list[dict]] | None = None) -> list[dict]:
    """Base columns of every history row, expanded by ``extra(row)`` into several rows."""
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
    """#neurons^n_in / n_in!  (HR Theorem 5 / Remark 1)."""
    return n_neurons ** n_in / math.factorial(n_in)
