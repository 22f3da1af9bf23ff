"""Sweeps: one task function over a grid of parameter sets, on Dask, resumable, into an SQLite store.

Public API
----------
``run_sweep(task, grid, store, *, fixed=None, workers=None, client=None, scheduler=None,
base_seed=0, retry_failed=False, progress=True, connect_timeout=5.0, on_result=None) -> SweepSummary``
    Run ``task`` on every parameter set of ``grid`` and record each result in the
    SQLite file ``store`` as it finishes.  ``workers=None``: a ``dask.distributed``
    LocalCluster of one worker process per core, started and stopped here;
    ``workers=k``: k worker processes; ``workers=0``: in-process, in grid order, no
    Dask needed; ``client=`` a ``dask.distributed.Client`` of an existing cluster;
    ``scheduler="tcp://host:port"`` connect to a running scheduler (an unreachable
    one is a :class:`SweepError` after ``connect_timeout`` seconds).  Re-running with
    the same store skips the tasks already done (and those failed, unless
    ``retry_failed=True``).  ``on_result(outcome)`` is called after each task is stored.
``Grid.product(**lists)``, ``Grid.rows([dict, ...])``, ``grid_a + grid_b``
    Parameter sets.  ``run_sweep`` also takes a dict of lists (a product) or a list of dicts.
``task_seed(params, base_seed=0) -> int``, ``task_key(params) -> str``, ``canonical(params) -> str``
    The derived seed (SHA-256 of ``"seed:<base_seed>:" + canonical JSON``, first 8 bytes
    big-endian, top bit cleared) and the store key (first 32 hex digits of SHA-256 of
    the canonical JSON): functions of the parameters only, so results do not depend
    on the number of workers or the order in which tasks finish.
``SweepStore.open(path)`` -> ``.records(status=None, arrays=False)``, ``.arrays(key)``, ``.counts()``, ``.meta()``
    Read a store (also while a sweep writes it).  Rows are :class:`TaskRecord`.
``export_csv(store, path)``
    One CSV row per task: ``key``, ``status``, ``seed``, parameters, scalar results,
    ``error_type``, ``error_message``, ``version``, ``attempts``, ``time_*``, ``host_*``.
``SweepSummary``: ``n_tasks``, ``n_skipped``, ``n_done``, ``n_failed``, ``failures``, ``ok``, ``report()``.
Errors: :class:`SweepError` (bad input) > :class:`StoreError` > :class:`StoreVersionError`,
all ``sim.errors.SimError`` (a ``ValueError``).

Task functions
--------------
A task is a module-level function of an importable module (given as the function or
as ``"module:function"``) so it pickles by reference to worker processes; the
module must be installed on every worker.  It takes the grid's parameters as
keyword arguments, plus ``seed`` (an int in [0, 2^63) derived from the parameters)
if its signature has a ``seed`` parameter; a grid that sets ``seed`` itself
overrides the derived one.  The parameter name ``replicate`` is the engine's: it
numbers repetitions of the same settings (changing key and seed) and is passed to
the task only if the task has a ``replicate`` parameter.  It returns a dict: numbers, strings, booleans and None
are stored as scalar results (JSON), numpy arrays and lists of numbers as arrays
(``.npy`` bytes).  If it raises, the task is recorded as failed with the error type
and message, and the sweep goes on.  Parameters must be JSON values (numbers,
strings, booleans, None, lists); ``1`` and ``1.0`` are different parameters.

Example::

    from sim.sweeps import Grid, run_sweep, SweepStore
    s = run_sweep("sim.sweeps.examples:gaussian_moments",
                  Grid.product(n=[10, 100, 1000], replicate=range(5)), "moments.sqlite", workers=2)
    rows = SweepStore.open("moments.sqlite").records()

Ready-made sweeps
-----------------
:mod:`sim.sweeps.validate` (``meanfield sweep validate``): ``validate_task`` (one network,
per-quantity errors against the theory), ``validate_grid(phi, sigma_w, sigma_b, widths,
depth, seeds)``, ``run_validate_sweep(grid, store, **run_sweep_kwargs)``,
``error_table(store) -> ErrorTable``, ``error_table_markdown``, ``plot_error_vs_width``.
:mod:`sim.sweeps.regions` (``meanfield sweep regions``): ``regions_task``,
``regions_grid(depths=, seeds=, neurons= | widths=)``, ``run_regions_sweep``,
``regions_table(store) -> RegionsTable``, ``regions_table_markdown``, ``plot_regions``
(Hanin & Rolnick Remark 1: #neurons^2 / 2).  :mod:`sim.sweeps.examples`: small tasks.
Dask is imported only when a sweep runs on workers; ``import sim.sweeps`` does not need it.
"""
from .engine import (
    SweepSummary,
    TaskFailure,
    TaskOutcome,
    execute,
    package_version,
    run_sweep,
    task_path,
)
from .errors import StoreError, StoreVersionError, SweepError
from .export import export_csv, table_rows
from .grid import Grid, as_grid, canonical, task_key, task_seed
from .store import SCHEMA_VERSION, SweepStore, TaskRecord, TaskStatus

__all__ = [
    "SCHEMA_VERSION",
    "Grid",
    "StoreError",
    "StoreVersionError",
    "SweepError",
    "SweepStore",
    "SweepSummary",
    "TaskFailure",
    "TaskOutcome",
    "TaskRecord",
    "TaskStatus",
    "as_grid",
    "canonical",
    "execute",
    "export_csv",
    "package_version",
    "run_sweep",
    "table_rows",
    "task_key",
    "task_path",
    "task_seed",
]
