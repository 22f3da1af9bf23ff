"""Flat tables of a store: one row per task, parameters and scalar results as columns."""
from __future__ import annotations

import csv
import pathlib

from meanfield.outputs import written_whole

from .errors import StoreError
from .store import reading

#: Columns before the parameters, and after the results.
LEAD = ("key", "status", "seed")
TRAIL = ("error_type", "error_message", "version", "attempts", "time_start", "time_end", "time_run",
         "host_name", "host_pid")


def table_rows(store) -> tuple[list[str], list[dict]]:
    """(columns, rows) of a store: ``key, status, seed``, the parameters, the scalar results, then
    ``error_type, error_message, version, attempts, time_start, time_end, time_run, host_name, host_pid``.

    A result named like a parameter becomes ``result_<name>``.  Arrays are not
    columns (read them with :meth:`SweepStore.arrays`).

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        An open store or the path of one.

    Returns
    -------
    columns : list of str
        Column names in order: lead, parameters (first-seen order), results, trail.
    rows : list of dict
        One dict per task (done and failed), sorted by task key; a task lacks the
        parameters and results it does not have.

    Raises
    ------
    StoreError
        If ``store`` is not a readable sweep store.
    """
    with reading(store) as st:
        records = st.records()
    params = list(dict.fromkeys(k for r in records for k in r.params))
    taken = set(params) | set(LEAD) | set(TRAIL)
    rename = {}
    for r in records:
        for k in r.results:
            if k not in rename:
                rename[k] = f"result_{k}" if k in taken else k
    rows = []
    for r in records:
        row = {"key": r.key, "status": r.status.value, "seed": r.seed}
        row.update(r.params)
        row.update({rename[k]: v for k, v in r.results.items()})
        row.update(error_type=r.error_type, error_message=r.error_message, version=r.version, attempts=r.attempts,
                   time_start=r.time_start, time_end=r.time_end, time_run=r.time_run, host_name=r.host,
                   host_pid=r.pid)
        rows.append(row)
    return list(LEAD) + params + list(rename.values()) + list(TRAIL), rows


def export_csv(store, path) -> int:
    """Write the store as CSV (see :func:`table_rows`); returns the number of rows.

    Written to a temporary file in the same directory and renamed, so a failure
    never leaves a half-written CSV.  Missing values and None are empty cells; floats
    are written with ``repr`` (round-trip exact).

    Parameters
    ----------
    store : SweepStore or str or os.PathLike
        An open store or the path of one.
    path : str or os.PathLike
        The CSV file to write (replaced if it exists).

    Returns
    -------
    int
        Number of data rows written (one per task).

    Raises
    ------
    StoreError
        If ``store`` is not a readable sweep store, or ``path``'s directory does not exist.
    """
    columns, rows = table_rows(store)
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise StoreError(f"cannot write {path}: directory {path.parent} does not exist")
    with written_whole(path) as fh:
        w = csv.DictWriter(fh, fieldnames=columns, restval="")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else (repr(v) if isinstance(v, float) else v))
                        for k, v in row.items()})
    return len(rows)
