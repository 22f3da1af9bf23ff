"""The sweep store: one SQLite file (standard library) holding one sweep's finished tasks.

Why SQLite: every finished task is committed in its own transaction, so a killed
driver or worker loses at most the tasks in flight and never leaves a half-written
row or a corrupt file (SQLite's journal rolls back an interrupted transaction); in
WAL mode readers (``meanfield sweep export`` or a notebook) read a consistent
snapshot while the sweep writes; and it is one ordinary file, readable from any
language.  Parquet or Zarr would need a writer that appends atomically per task,
which they do not give without extra machinery.

Schema (version :data:`SCHEMA_VERSION`)
----------------------------------------
``meta(key TEXT PRIMARY KEY, value TEXT)``
    ``schema_version``, ``task`` (``module:function``), ``base_seed``, ``created``
    (UTC ISO time) and ``package_version`` of the run that created the store.
``tasks`` - one row per finished task
    ``key`` (TEXT PRIMARY KEY, :func:`sim.sweeps.grid.task_key`), ``params`` (canonical
    JSON), ``seed`` (INTEGER), ``status`` (``done`` | ``failed``, :class:`TaskStatus`),
    ``results`` (JSON object of scalars), ``error_type``, ``error_message``,
    ``traceback`` (TEXT, failed tasks only), ``time_start``, ``time_end`` (UNIX
    seconds on the worker), ``time_run`` (seconds in the task), ``host`` (worker host
    name), ``pid`` (worker process id), ``version`` (package version on the worker),
    ``attempts`` (how many times the task was recorded).
``arrays(key, name, data)``
    One numpy array per row, ``data`` the ``.npy`` bytes (``numpy.save``, no pickle),
    primary key ``(key, name)``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import numpy as np

from .errors import StoreError, StoreVersionError, SweepError

#: Version of the table layout; a store with another version is refused (StoreVersionError).
SCHEMA_VERSION = 1


class TaskStatus(str, Enum):
    """Status of a finished task in the store."""

    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class TaskRecord:
    """One row of the store (arrays are loaded only when asked for).

    Attributes
    ----------
    key : str
        The task's key (:func:`sim.sweeps.grid.task_key`).
    params : mapping of str to parameter value
        The task's parameters (decoded from the canonical JSON).
    seed : int
        The seed the task was given.
    status : TaskStatus
        ``DONE`` or ``FAILED``.
    results : mapping of str to scalar
        Scalar results (empty for a failed task).
    error_type, error_message, traceback : str or None
        The failure's exception class name, one-line message and traceback; None if done.
    time_start, time_end : float
        UNIX time (seconds) on the worker when the task started and ended.
    time_run : float
        Seconds spent in the task.
    host : str
        Host name of the worker.
    pid : int
        Process id of the worker.
    version : str
        meanfield version on the worker.
    attempts : int
        How many times the task was recorded (> 1 after ``retry_failed``).
    array_names : tuple of str
        Names of the task's stored arrays, sorted.
    arrays : mapping of str to numpy.ndarray
        The arrays themselves, only if the record was read with ``arrays=True`` (else empty).
    """

    key: str
    params: Mapping[str, Any]
    seed: int
    status: TaskStatus
    results: Mapping[str, Any]
    error_type: str | None
    error_message: str | None
    traceback: str | None
    time_start: float
    time_end: float
    time_run: float
    host: str
    pid: int
    version: str
    attempts: int
    array_names: tuple[str, ...] = ()
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the task succeeded (``status`` is ``DONE``)."""
        return self.status is TaskStatus.DONE


@contextlib.contextmanager
def reading(store):
    """A store to read: the given :class:`SweepStore` (left open) or a path (opened and closed here).

    A context manager: ``with reading(store) as st: ...``.

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        An open store, or the path of one.

    Yields
    ------
    SweepStore
        The open store; closed on exit only if it was opened here.

    Raises
    ------
    StoreError
        If the path is not a sweep store (see :meth:`SweepStore.open`).
    StoreVersionError
        If the store has another schema version.
    """
    if isinstance(store, SweepStore):
        yield store
    else:
        with SweepStore.open(store) as st:
            yield st


def finished_records(store, task: str, what: str) -> tuple[list, int]:
    """(records of the finished tasks, number of failed tasks) of a store of ``task``, readable while
    the sweep runs.

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        An open store or the path of one.
    task : str
        The ``"module:function"`` the store must hold.
    what : str
        The sweep kind named in the messages ("validate", "regions").

    Returns
    -------
    records : list of TaskRecord
        The tasks recorded as done, sorted by key (without arrays).
    n_failed : int
        Number of tasks recorded as failed.

    Raises
    ------
    SweepError
        If the store holds another task, or no task of it is done yet.
    StoreError
        If ``store`` is not a readable sweep store.
    """
    with reading(store) as st:
        if st.meta().get("task") != task:
            raise SweepError(f"the store {st.path} holds {st.meta().get('task')}, not a {what} sweep")
        done = st.records(TaskStatus.DONE)
        n_failed = st.counts()[TaskStatus.FAILED]
    if not done:
        raise SweepError(f"the store has no finished {what} task yet")
    return done, n_failed


def array_to_bytes(a) -> bytes:
    """``.npy`` bytes of an array (no pickled objects).

    Parameters
    ----------
    a : array_like
        A numeric array (converted with ``numpy.asarray``).

    Returns
    -------
    bytes
        The array in ``.npy`` format (``numpy.save`` with ``allow_pickle=False``).

    Raises
    ------
    ValueError
        If the array has dtype ``object`` (it would need pickling).
    """
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def array_from_bytes(b: bytes) -> np.ndarray:
    """The array of ``.npy`` bytes (the inverse of :func:`array_to_bytes`; never unpickles).

    Parameters
    ----------
    b : bytes
        An array in ``.npy`` format.

    Returns
    -------
    numpy.ndarray
        The array, with its stored dtype and shape.
    """
    return np.load(io.BytesIO(b), allow_pickle=False)


_TASK_COLUMNS = ("key", "params", "seed", "status", "results", "error_type", "error_message", "traceback",
                 "time_start", "time_end", "time_run", "host", "pid", "version", "attempts")

_CREATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY, params TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')), results TEXT NOT NULL,
    error_type TEXT, error_message TEXT, traceback TEXT,
    time_start REAL, time_end REAL, time_run REAL, host TEXT, pid INTEGER, version TEXT,
    attempts INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS arrays (
    key TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, name));
"""


class SweepStore:
    """A sweep store on disk.  Use :meth:`create` (or open) for writing, :meth:`open` for reading.

    Safe to read from other processes while a sweep writes (WAL mode).  Close with
    :meth:`close` or use as a context manager.

    Parameters
    ----------
    path : str or os.PathLike
        Path of the SQLite file.
    conn : sqlite3.Connection
        An open connection to it (made by :meth:`open` or :meth:`create`; the constructor
        checks nothing).

    Attributes
    ----------
    path : pathlib.Path
        Path of the SQLite file.
    """

    def __init__(self, path, conn: sqlite3.Connection):
        self.path = pathlib.Path(path)
        self._conn = conn

    # -- opening ---------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: pathlib.Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 60000")
            # durability of each commit against power loss too; a killed process loses nothing either way
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise StoreError(f"{path} is not a sweep store or cannot be opened ({exc}); use another --store "
                             "path") from None
        return conn

    @classmethod
    def open(cls, path) -> SweepStore:
        """Open an existing store (for reading or resuming); checks the schema version.

        Parameters
        ----------
        path : str or os.PathLike
            Path of the store.

        Returns
        -------
        SweepStore
            The open store (close it, or use it in a ``with`` block).

        Raises
        ------
        StoreError
            If there is no file at ``path``, it is not an SQLite database, or its sweep
            tables are missing.
        StoreVersionError
            If it was written with another store schema version (:data:`SCHEMA_VERSION`).
        """
        path = pathlib.Path(path)
        if not path.is_file():
            raise StoreError(f"no sweep store at {path}; run a sweep with --store {path} first")
        conn = cls._connect(path)
        store = cls(path, conn)
        try:
            store._check_version()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def create(cls, path, *, task: str, base_seed: int, package_version: str) -> SweepStore:
        """Open ``path`` for a sweep of ``task``, creating it if absent.

        An existing store must have this schema version, this task and this base
        seed (otherwise its rows would not be this sweep's rows).  A new store is built
        under a temporary name and renamed into place, so a store that exists is complete.

        Parameters
        ----------
        path : str or os.PathLike
            Path of the store.
        task : str
            The sweep's ``"module:function"`` (kept in ``meta``).
        base_seed : int
            The sweep's base seed (kept in ``meta``).
        package_version : str
            meanfield version of the run that creates the store (kept in ``meta``).

        Returns
        -------
        SweepStore
            The open store.

        Raises
        ------
        StoreError
            If ``path``'s directory does not exist, the store cannot be created, or an
            existing store holds another task or base seed or is not a sweep store.
        StoreVersionError
            If an existing store has another schema version.
        """
        path = pathlib.Path(path)
        if path.exists():
            store = cls.open(path)
            try:
                store.check_sweep(task, base_seed)
            except StoreError:
                store.close()
                raise
            return store
        if not path.parent.is_dir():
            raise StoreError(f"cannot create the sweep store {path}: directory {path.parent} does not exist")
        # Built under a temporary name and renamed into place: a store that exists is complete, so a
        # reader never sees a half-created one.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".creating", dir=path.parent)
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _CREATE.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                created = datetime.now(timezone.utc).isoformat(timespec="seconds")
                conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [("schema_version", str(SCHEMA_VERSION)), ("task", task),
                                  ("base_seed", str(int(base_seed))), ("created", created),
                                  ("package_version", package_version)])
                conn.execute("COMMIT")
                # WAL: readers never block the writer and see whole transactions only (persistent setting)
                conn.execute("PRAGMA journal_mode = WAL")
            finally:
                conn.close()
            os.replace(tmp, path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create the sweep store {path}: {exc}") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return cls.create(path, task=task, base_seed=base_seed, package_version=package_version)

    def check_sweep(self, task: str, base_seed: int) -> None:
        """Raise StoreError unless this store holds a sweep of ``task`` with ``base_seed``.

        Parameters
        ----------
        task : str
            The expected ``"module:function"``.
        base_seed : int
            The expected base seed.

        Raises
        ------
        StoreError
            If the store's ``meta`` names another task or another base seed.
        """
        meta = self.meta()
        if meta.get("task") != task:
            raise StoreError(f"the store {self.path} holds a sweep of {meta.get('task')}, not {task}; "
                             "use another --store path")
        if int(meta.get("base_seed", 0)) != int(base_seed):
            raise StoreError(f"the store {self.path} was written with base seed {meta.get('base_seed')}, not "
                             f"{base_seed}; use the same seed to resume, or another --store path")

    def _check_version(self) -> None:
        try:
            names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a sweep store (not an SQLite database: {exc})") from None
        if "meta" not in names:
            raise StoreError(f"{self.path} is not a sweep store (no meta table); use another --store path")
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else "missing"
        if version != str(SCHEMA_VERSION):
            raise StoreVersionError(
                f"the store {self.path} has sweep store schema version {version}, this meanfield reads version "
                f"{SCHEMA_VERSION}; use the meanfield version that wrote it, or another --store path")
        if not {"tasks", "arrays"} <= names:
            raise StoreError(f"{self.path} is not a complete sweep store (tables missing); use another --store path")

    def close(self) -> None:
        """Close the connection (the store cannot be used afterwards)."""
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ---------------------------------------------------------------------------------
    def write(self, row: Mapping[str, Any], arrays: Mapping[str, bytes]) -> None:
        """Record one finished task and its arrays in one transaction (replacing an earlier record).

        The task's ``attempts`` is one more than that of the record it replaces (1 if none);
        its old arrays are deleted.  On any error the transaction is rolled back.

        Parameters
        ----------
        row : mapping of str to value
            One value per column of ``tasks`` except ``attempts`` (from
            :meth:`sim.sweeps.engine.TaskOutcome.row`).
        arrays : mapping of str to bytes
            Array results as ``.npy`` bytes (:func:`array_to_bytes`).
        """
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            prev = c.execute("SELECT attempts FROM tasks WHERE key = ?", (row["key"],)).fetchone()
            values = dict(row, attempts=(prev[0] + 1) if prev else 1)
            c.execute("DELETE FROM arrays WHERE key = ?", (row["key"],))
            c.execute(f"INSERT OR REPLACE INTO tasks ({', '.join(_TASK_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_TASK_COLUMNS))})", [values[k] for k in _TASK_COLUMNS])
            c.executemany("INSERT INTO arrays VALUES (?, ?, ?)",
                          [(row["key"], name, sqlite3.Binary(data)) for name, data in arrays.items()])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    # -- reading ---------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The store's ``meta`` table.

        Returns
        -------
        dict of str to str
            ``schema_version``, ``task``, ``base_seed``, ``created`` and ``package_version``
            (all as strings).
        """
        return dict(self._conn.execute("SELECT key, value FROM meta"))

    def keys(self, status: TaskStatus | str | None = None) -> set[str]:
        """Keys of the recorded tasks (of one status).

        Parameters
        ----------
        status : TaskStatus or str, optional
            Only tasks with this status (``"done"`` or ``"failed"``); None: all.

        Returns
        -------
        set of str
            The task keys.

        Raises
        ------
        ValueError
            If ``status`` is not a :class:`TaskStatus` value.
        """
        if status is None:
            return {r[0] for r in self._conn.execute("SELECT key FROM tasks")}
        return {r[0] for r in self._conn.execute("SELECT key FROM tasks WHERE status = ?",
                                                 (TaskStatus(status).value,))}

    def counts(self) -> dict[TaskStatus, int]:
        """Number of recorded tasks of each status.

        Returns
        -------
        dict of TaskStatus to int
            One entry per status (0 where none).
        """
        out = {s: 0 for s in TaskStatus}
        for status, n in self._conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status"):
            out[TaskStatus(status)] = n
        return out

    def records(self, status: TaskStatus | str | None = None, *, arrays: bool = False) -> list[TaskRecord]:
        """All recorded tasks (of one status), sorted by key; ``arrays=True`` loads the arrays too.

        Parameters
        ----------
        status : TaskStatus or str, optional
            Only tasks with this status; None: all.
        arrays : bool
            Load each task's arrays into :attr:`TaskRecord.arrays` (otherwise only their names).

        Returns
        -------
        list of TaskRecord
            The records, sorted by key.

        Raises
        ------
        ValueError
            If ``status`` is not a :class:`TaskStatus` value.
        """
        return list(self.iter_records(status, arrays=arrays))

    def iter_records(self, status=None, *, arrays: bool = False) -> Iterator[TaskRecord]:
        """The recorded tasks (of one status) one at a time, sorted by key (see :meth:`records`).

        Parameters
        ----------
        status : TaskStatus or str, optional
            Only tasks with this status; None: all.
        arrays : bool
            Load each task's arrays too.

        Yields
        ------
        TaskRecord
            One record per task.

        Raises
        ------
        ValueError
            If ``status`` is not a :class:`TaskStatus` value.
        """
        sql = f"SELECT {', '.join(_TASK_COLUMNS)} FROM tasks"
        args: tuple = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (TaskStatus(status).value,)
        names: dict[str, list[str]] = {}
        for key, name in self._conn.execute("SELECT key, name FROM arrays ORDER BY key, name"):
            names.setdefault(key, []).append(name)
        for r in self._conn.execute(sql + " ORDER BY key", args).fetchall():
            d = dict(zip(_TASK_COLUMNS, r))
            d["params"] = json.loads(d["params"])
            d["results"] = json.loads(d["results"])
            d["status"] = TaskStatus(d["status"])
            d["array_names"] = tuple(names.get(d["key"], ()))
            if arrays:
                d["arrays"] = self.arrays(d["key"])
            yield TaskRecord(**d)

    def arrays(self, key: str) -> dict[str, np.ndarray]:
        """The arrays of one task.

        Parameters
        ----------
        key : str
            The task's key.

        Returns
        -------
        dict of str to numpy.ndarray
            The task's arrays by name (empty for an unknown key or a task without arrays).
        """
        return {name: array_from_bytes(data)
                for name, data in self._conn.execute("SELECT name, data FROM arrays WHERE key = ? ORDER BY name",
                                                     (key,))}
