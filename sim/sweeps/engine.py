"""Run a sweep: every parameter set of a grid through one task function, on Dask, into a store.

See the package docstring (:mod:`sim.sweeps`) for the contract of a task function.
The driver (this process) submits every pending task to a Dask cluster, and records
each result in the SQLite store as it finishes (``as_completed``), one transaction
per task.  Tasks never raise through Dask: :func:`execute` (which runs on the
worker) catches the task's exception and returns it as a failed
:class:`TaskOutcome`, so one bad parameter set does not stop the sweep and is not
retried by Dask.  A worker that dies is handled by Dask: its tasks are rescheduled
on the other workers (a task that kills three workers is recorded as failed with
``KilledWorker``).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import json
import logging
import math
import os
import pathlib
import socket
import sys
import time
import traceback as tb
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SweepError
from .grid import Grid, as_grid, canonical, check_params, task_key, task_seed
from .store import SweepStore, TaskStatus, array_to_bytes

#: Seconds to wait for an existing scheduler before giving up (``scheduler=``).
CONNECT_TIMEOUT = 5.0


@functools.lru_cache(maxsize=1)
def package_version() -> str:
    """The installed meanfield version (recorded with every task).

    Returns
    -------
    str
        The version from the installed distribution's metadata, or ``"unknown"`` when
        meanfield runs from a source tree that is not installed.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("meanfield")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def task_path(task) -> str:
    """``module:function`` of an importable task (a function or that string), checked by importing it.

    Parameters
    ----------
    task : callable or str
        A module-level function of an importable module, or its ``"module:function"``.

    Returns
    -------
    str
        ``"module:function"``, which workers import (functions are not shipped by value).

    Raises
    ------
    SweepError
        If ``task`` is a lambda, a nested function, a method or defined in ``__main__``;
        if it is neither callable nor a string; or if the path cannot be imported
        (see :func:`resolve_task`).
    """
    if isinstance(task, str):
        path = task
    elif callable(task):
        module, qualname = getattr(task, "__module__", None), getattr(task, "__qualname__", "")
        if not module or module == "__main__" or "<" in qualname or "." in qualname:
            raise SweepError(f"task {qualname or task!r} must be a module-level function of an importable module "
                             "(module:function), so that workers can import it; move it into a module")
        path = f"{module}:{qualname}"
    else:
        raise SweepError(f"task must be a function or a 'module:function' string, got {type(task).__name__}")
    resolve_task(path)
    return path


def resolve_task(path: str) -> Callable:
    """The function named by ``module:function``.

    Parameters
    ----------
    path : str
        ``"module:function"``, e.g. ``"sim.sweeps.examples:gaussian_moments"``.

    Returns
    -------
    callable
        The imported function.

    Raises
    ------
    SweepError
        If ``path`` is not of the form ``module:function``, the module or the name
        cannot be imported, or the name is not callable.
    """
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise SweepError(f"task {path!r} must be written module:function, e.g. sim.sweeps.examples:square")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SweepError(f"cannot import the task {path!r} ({exc}); it must be importable on the driver and "
                         "every worker") from None
    if not callable(fn):
        raise SweepError(f"task {path!r} is not a function")
    return fn


@dataclass(frozen=True)
class TaskOutcome:
    """What a worker sends back for one task (``arrays`` hold ``.npy`` bytes).

    Attributes
    ----------
    key : str
        The task's key (:func:`sim.sweeps.task_key`).
    params : mapping of str to parameter value
        The task's parameters (with ``fixed=`` merged in).
    seed : int
        The seed the task was given (derived, or the grid's own ``seed``).
    status : TaskStatus
        ``DONE`` or ``FAILED``.
    results : mapping of str to scalar
        Scalar results (numbers, strings, booleans, None); empty if the task failed.
    arrays : mapping of str to bytes
        Array results as ``.npy`` bytes; empty if the task failed.
    error_type, error_message, traceback : str or None
        The exception's class name, its message on one line and the formatted
        traceback; None when the task succeeded.
    time_start, time_end : float
        UNIX time (seconds) on the worker when the task started and ended.
    time_run : float
        Seconds spent in the task (``time.perf_counter``).
    host : str
        Host name of the worker (empty if the worker was lost).
    pid : int
        Process id of the worker (0 if the worker was lost).
    version : str
        meanfield version on the worker (:func:`package_version`).
    """

    key: str
    params: Mapping[str, Any]
    seed: int
    status: TaskStatus
    results: Mapping[str, Any]
    arrays: Mapping[str, bytes]
    error_type: str | None
    error_message: str | None
    traceback: str | None
    time_start: float
    time_end: float
    time_run: float
    host: str
    pid: int
    version: str

    @property
    def ok(self) -> bool:
        """True when the task succeeded (``status`` is ``DONE``)."""
        return self.status is TaskStatus.DONE

    def row(self) -> dict:
        """The store row (without ``attempts``).

        Returns
        -------
        dict
            One value per column of the store's ``tasks`` table except ``attempts``:
            ``params`` as canonical JSON, ``results`` as a JSON object, ``status`` as its
            string value (see :mod:`sim.sweeps.store`).
        """
        return {"key": self.key, "params": canonical(self.params), "seed": int(self.seed),
                "status": self.status.value, "results": json.dumps(dict(self.results), sort_keys=True),
                "error_type": self.error_type, "error_message": self.error_message, "traceback": self.traceback,
                "time_start": self.time_start, "time_end": self.time_end, "time_run": self.time_run,
                "host": self.host, "pid": self.pid, "version": self.version}


def _split_results(out) -> tuple[dict, dict]:
    """Scalars and arrays of a task's return value (a mapping of names to values)."""
    if not isinstance(out, Mapping):
        raise TypeError(f"the task returned a {type(out).__name__}; it must return a dict of scalars and arrays")
    scalars, arrays = {}, {}
    for name, v in out.items():
        if not isinstance(name, str):
            raise TypeError(f"result names must be strings, got {name!r}")
        if isinstance(v, np.ndarray) and v.ndim > 0:
            if v.dtype == object:
                raise TypeError(f"result {name!r} is an object array; return numeric arrays")
            arrays[name] = array_to_bytes(v)
        elif isinstance(v, (list, tuple)):
            a = np.asarray(v)
            if a.dtype == object:
                raise TypeError(f"result {name!r} is a ragged or mixed list; return a numeric array")
            arrays[name] = array_to_bytes(a)
        else:
            if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0):
                v = v.item()
            if not isinstance(v, (bool, int, float, str, type(None))):
                raise TypeError(f"result {name!r} has type {type(v).__name__}; return numbers, strings, booleans, "
                                "None or numpy arrays")
            scalars[name] = v
    return scalars, arrays


def call_kwargs(fn: Callable, params: Mapping[str, Any], seed: int) -> dict:
    """Keyword arguments of one call: the parameters, plus ``seed`` if ``fn`` takes it and the grid does not
    set it, minus the engine's ``replicate`` if ``fn`` does not take it.

    Parameters
    ----------
    fn : callable
        The task function.
    params : mapping of str to parameter value
        The task's parameters.
    seed : int
        The derived seed (:func:`sim.sweeps.task_seed`).

    Returns
    -------
    dict
        Keyword arguments for ``fn(**kwargs)``.
    """
    ps = inspect.signature(fn).parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in ps.values())
    kwargs = dict(params)
    if "replicate" in kwargs and "replicate" not in ps and not var_kw:
        del kwargs["replicate"]
    if "seed" not in kwargs and ("seed" in ps or var_kw):
        kwargs["seed"] = int(seed)
    return kwargs


def execute(path: str, key: str, params: Mapping[str, Any], seed: int) -> TaskOutcome:
    """Run one task (on a worker or in-process) and return its outcome; never raises for the task's errors.

    An exception of the task (or of importing it, or a return value that is not a dict
    of scalars and arrays) is caught and recorded in a failed outcome.

    Parameters
    ----------
    path : str
        The task's ``"module:function"``.
    key : str
        The task's key (:func:`sim.sweeps.task_key` of ``params``).
    params : mapping of str to parameter value
        The task's parameters.
    seed : int
        The seed passed to the task if it takes one.

    Returns
    -------
    TaskOutcome
        Status ``DONE`` with the scalar and array results, or ``FAILED`` with the
        error type, message and traceback; with timing, host, pid and version.
    """
    t_wall, t0 = time.time(), time.perf_counter()
    status, scalars, arrays, err = TaskStatus.DONE, {}, {}, (None, None, None)
    try:
        fn = resolve_task(path)
        scalars, arrays = _split_results(fn(**call_kwargs(fn, params, seed)))
    except Exception as exc:  # noqa: BLE001 - a failed task is data, recorded with its error
        status, scalars, arrays = TaskStatus.FAILED, {}, {}
        message = " ".join(str(exc).split()) or type(exc).__name__
        err = (type(exc).__name__, message, tb.format_exc())
    t_run = time.perf_counter() - t0
    return TaskOutcome(key, dict(params), int(seed), status, scalars, arrays, *err, t_wall, t_wall + t_run, t_run,
                       socket.gethostname(), os.getpid(), package_version())


def _lost(key, params, seed, exc: BaseException) -> TaskOutcome:
    """Outcome of a task whose future failed outside the task (e.g. KilledWorker, missing module on a worker)."""
    now = time.time()
    return TaskOutcome(key, dict(params), int(seed), TaskStatus.FAILED, {}, {}, type(exc).__name__,
                       " ".join(str(exc).split()) or type(exc).__name__, "".join(tb.format_exception(exc)),
                       now, now, 0.0, "", 0, package_version())


@dataclass(frozen=True)
class TaskFailure:
    """A failed task of the sweep, as recorded in the store.

    Attributes
    ----------
    params : mapping of str to parameter value
        The task's parameters.
    error_type : str
        Class name of the exception (``KilledWorker`` for a task that killed its workers).
    error_message : str
        The exception's message, on one line.
    """

    params: Mapping[str, Any]
    error_type: str
    error_message: str


@dataclass(frozen=True)
class SweepSummary:
    """What :func:`run_sweep` did.

    ``n_tasks`` parameter sets in the grid; ``n_skipped`` were already in the store
    (done, or failed and not retried); ``n_done`` and ``n_failed`` ran now.
    ``failures`` lists every task of the grid whose stored record is a failure.

    Attributes
    ----------
    store : str
        Path of the store.
    task : str
        The task's ``"module:function"``.
    n_tasks : int
        Number of distinct parameter sets in the grid.
    n_skipped : int
        Tasks already in the store (done, or failed and not retried), not run now.
    n_done, n_failed : int
        Tasks that ran in this call and succeeded / failed.
    failures : tuple of TaskFailure
        Every task of the grid recorded as failed in the store (also from earlier runs).
    elapsed : float
        Wall-clock seconds of the call.
    """

    store: str
    task: str
    n_tasks: int
    n_skipped: int
    n_done: int
    n_failed: int
    failures: tuple[TaskFailure, ...]
    elapsed: float

    @property
    def ok(self) -> bool:
        """True when every task of the grid is recorded as done."""
        return not self.failures

    def report(self) -> str:
        """A short text summary, one failure per line (at most 20).

        Returns
        -------
        str
            A first line with the counts and the elapsed time, then (if any task failed)
            one line per failure: canonical parameters, error type and message (cut to 200
            characters), and a count of those not shown.
        """
        lines = [(f"sweep {self.task}: {self.n_tasks} tasks, {self.n_done} done and {self.n_failed} failed in "
                  f"this run, {self.n_skipped} already in {self.store}; {self.elapsed:.1f} s")]
        if self.failures:
            lines.append(f"{len(self.failures)} task(s) failed (re-run with retry_failed=True / --retry-failed):")
            for f in self.failures[:20]:
                lines.append(f"  {canonical(f.params)}: {f.error_type}: {f.error_message[:200]}")
            if len(self.failures) > 20:
                lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)


class _Progress:
    """One self-rewriting line on stderr: done, failed, skipped, elapsed, estimated time left."""

    def __init__(self, total: int, skipped: int, enabled: bool, label: str):
        self.total, self.skipped, self.enabled, self.label = total, skipped, enabled, label
        self.done = self.failed = 0
        self.t0 = time.perf_counter()
        self.t_first = None  # rate measured from the first result: cluster start-up is not task time
        self._last = 0.0

    def update(self, ok: bool) -> None:
        if self.t_first is None:
            self.t_first = time.perf_counter()
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self.show()

    def show(self, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        n = self.done + self.failed
        if not final and (now - self._last < 0.2 or n == self.total):
            return
        self._last = now
        elapsed = now - self.t0
        eta = (now - self.t_first) / (n - 1) * (self.total - n) if n > 1 else math.nan
        eta_s = "?" if math.isnan(eta) else f"{eta:.0f} s"
        sys.stderr.write(f"\r{self.label}: {n}/{self.total} ({self.done} done, {self.failed} failed"
                         f"{f', {self.skipped} skipped' if self.skipped else ''}), {elapsed:.0f} s, "
                         f"left ~{eta_s}   ")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _cluster_client(workers: int | None, client, scheduler: str | None, connect_timeout: float):
    """(client, things to close): the given client, one connected to ``scheduler``, or a new LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("sweeps on workers need Dask: pip install 'meanfield[sweep]' (or run with workers=0, "
                         "--workers 0, in-process)") from None
    if client is not None:
        return client, []
    if scheduler is not None:
        try:
            c = Client(scheduler, timeout=connect_timeout)
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address
            msg = " ".join(str(exc).split())[:300]
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} within {connect_timeout:g} s "
                             f"({type(exc).__name__}: {msg}); check the address and that `dask scheduler` "
                             "is running") from None
        return c, [c]
    n = workers if workers is not None else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count() or 1)
    # loopback only; no dashboard, and its always-on HTTP routes on a free port rather than 8787
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    return c, [c, cluster]


def run_sweep(task, grid, store, *, fixed: Mapping[str, Any] | None = None, workers: int | None = None,
              client=None, scheduler: str | None = None, base_seed: int = 0, retry_failed: bool = False,
              progress: bool = True, connect_timeout: float = CONNECT_TIMEOUT,
              on_result: Callable[[TaskOutcome], None] | None = None) -> SweepSummary:
    """Run ``task`` on every parameter set of ``grid``, recording each result in ``store`` as it finishes.

    Parameters
    ----------
    task : function or str
        An importable module-level function (or its ``"module:function"``) taking the
        grid's parameters as keywords (plus ``seed`` if it has that parameter) and
        returning a dict of scalars and numpy arrays.
    grid : Grid, dict of lists, or list of dicts
        Parameter sets (:class:`sim.sweeps.Grid`); a dict is a product.
    store : path
        SQLite store; created if absent, resumed if present (done tasks are skipped).
    fixed : dict, optional
        Parameters shared by every task (part of each task's key and seed).
    workers : int, optional
        None: a LocalCluster with one worker process per core; 0: in-process, in grid
        order, without Dask; k: a LocalCluster of k worker processes.
    client : dask.distributed.Client, optional
        Run on this existing cluster (not closed afterwards).
    scheduler : str, optional
        Address ``tcp://host:port`` of a running scheduler to connect to.
    base_seed : int
        Mixed into every derived seed (:func:`sim.sweeps.task_seed`); fixed per store.
    retry_failed : bool
        Run tasks recorded as failed again (otherwise they are skipped).
    progress : bool
        Progress line on stderr, and the summary when done.
    connect_timeout : float
        Seconds to wait for ``scheduler``.
    on_result : callable, optional
        Called with each :class:`TaskOutcome` after it is stored.

    Returns
    -------
    SweepSummary
        ``.ok`` is False when some task of the grid is recorded as failed.

    Raises
    ------
    SweepError
        If the task is not importable, more than one of ``workers``, ``client`` and
        ``scheduler`` is given, ``workers`` is not an integer >= 0, the grid is empty or
        does not match the task's signature, the scheduler cannot be reached within
        ``connect_timeout`` seconds, or Dask is needed but not installed.
    StoreError
        If ``store`` exists but is not a sweep store of this task with this ``base_seed``,
        or cannot be created.
    StoreVersionError
        If ``store`` was written with another store schema version.
    """
    path = task_path(task)
    fn = resolve_task(path)
    if (workers is not None) + (client is not None) + (scheduler is not None) > 1:
        raise SweepError("give at most one of workers=, client= and scheduler=")
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 0):
        raise SweepError(f"workers must be an integer >= 0 (0 runs in-process), got {workers!r}")
    fixed = dict(fixed or {})
    grid = as_grid(grid)
    check_params(fn, grid, fixed, path)
    params_list = list(Grid.rows([{**fixed, **row} for row in grid]))
    tasks = []
    for p in params_list:
        seed = int(p["seed"]) if "seed" in p else task_seed(p, base_seed)
        tasks.append((task_key(p), p, seed))
    t0 = time.perf_counter()
    # Which tasks are pending, read before anything is created: bad input leaves no store behind.
    skip: set[str] = set()
    if pathlib.Path(store).exists():
        with SweepStore.open(store) as st:
            st.check_sweep(path, base_seed)
            skip = st.keys(TaskStatus.DONE) | (set() if retry_failed else st.keys(TaskStatus.FAILED))
    pending = [t for t in tasks if t[0] not in skip]
    c, to_close = (None, [])
    if pending and workers != 0:
        # connect (or start the local cluster) before creating the store, so an unreachable scheduler
        # is a one-line error and nothing on disk
        c, to_close = _cluster_client(workers, client, scheduler, connect_timeout)
    try:
        with SweepStore.create(store, task=path, base_seed=base_seed, package_version=package_version()) as st:
            bar = _Progress(len(pending), len(tasks) - len(pending), progress, f"sweep {path.split(':')[-1]}")

            def record(outcome: TaskOutcome) -> None:
                st.write(outcome.row(), outcome.arrays)
                bar.update(outcome.ok)
                if on_result is not None:
                    on_result(outcome)

            if pending and c is None:
                for key, p, seed in pending:
                    record(execute(path, key, p, seed))
            elif pending:
                _run_dask(c, path, pending, record)
            if pending:
                bar.show(final=True)
            keys = {t[0] for t in tasks}
            failures = tuple(TaskFailure(r.params, r.error_type or "", r.error_message or "")
                             for r in st.iter_records(TaskStatus.FAILED) if r.key in keys)
    finally:
        for thing in to_close:
            try:
                thing.close()
            except Exception as exc:  # noqa: BLE001 - a cluster may fail to close cleanly; the sweep is done
                sys.stderr.write(f"sweep: warning: closing {type(thing).__name__} failed: {exc}\n")
    summary = SweepSummary(str(store), path, len(tasks), len(tasks) - len(pending), bar.done, bar.failed, failures,
                           time.perf_counter() - t0)
    if progress:
        sys.stderr.write(summary.report() + "\n")
    return summary


def _run_dask(c, path, pending, record) -> None:
    """Submit every pending task to client ``c`` and record each outcome as it completes."""
    from dask.distributed import as_completed

    futures = {}
    try:
        # Unique keys: a driver killed earlier may have left same-named futures on a shared scheduler.
        tag = uuid.uuid4().hex[:8]
        for key, p, seed in pending:
            f = c.submit(execute, path, key, p, seed, key=f"sweep-{key}-{tag}", pure=False, retries=0)
            futures[f.key] = (f, key, p, seed)
        # with_results: results stream in behind the scenes instead of one blocking round trip each
        for f, result in as_completed([v[0] for v in futures.values()], with_results=True, raise_errors=False):
            _, key, p, seed = futures.pop(f.key)
            if isinstance(result, TaskOutcome):
                outcome = result
            else:  # the future failed outside the task: KilledWorker, a worker that cannot import it, ...
                try:
                    f.result()
                    exc = RuntimeError(f"the worker returned {type(result).__name__}, not a TaskOutcome")
                except Exception as err:  # noqa: BLE001 - recorded as the task's failure
                    exc = err
                outcome = _lost(key, p, seed, exc)
            f.release()
            record(outcome)
    finally:
        for f, *_ in futures.values():
            f.cancel()


def signature_names(task) -> list[str]:
    """Keyword parameters of a task (for help texts).

    Parameters
    ----------
    task : callable or str
        The task function or its ``"module:function"``.

    Returns
    -------
    list of str
        Names of the parameters that can be passed by keyword, in signature order.

    Raises
    ------
    SweepError
        If the task is not an importable module-level function (see :func:`task_path`).
    """
    return [n for n, p in inspect.signature(resolve_task(task_path(task))).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
