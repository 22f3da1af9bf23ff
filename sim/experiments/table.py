"""A tidy table: named columns of equal length, one row per run and measurement.

Deliberately small (no pandas dependency): columns are numpy arrays, rows can be
selected by equality, and the table round-trips through CSV.
"""
from __future__ import annotations

import csv
import math
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from meanfield.outputs import written_whole

from ..errors import SimError


class TableError(SimError):
    """A table cannot be built or read as asked."""


def _column(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object:          # mixed None / numbers: keep floats, None -> nan
        try:
            arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.array([str(v) for v in values])
    return arr


@dataclass(frozen=True)
class ExperimentTable:
    """Columns of equal length.

    Attributes
    ----------
    name : str
        The experiment (a registry name).
    data : dict of str -> (n,) array
        Columns in display order.
    notes : dict of str -> str
        Scale and settings of the run (written as ``#`` comment lines atop the CSV).

    Columns are converted to numpy arrays on construction; a column mixing None and
    numbers becomes float with NaN for None, any other mixed column becomes strings.

    Raises
    ------
    TableError
        If the columns differ in length.
    """

    name: str
    data: Mapping[str, np.ndarray]
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        cols = {k: _column(v) for k, v in self.data.items()}
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            raise TableError(f"columns of table {self.name!r} differ in length: {lengths}")
        object.__setattr__(self, "data", cols)

    @classmethod
    def from_rows(cls, name: str, rows: Sequence[Mapping], columns: Sequence[str] | None = None,
                  notes: Mapping[str, str] | None = None) -> ExperimentTable:
        """Rows (dicts) to columns; ``columns`` fixes the order (further keys follow).

        Parameters
        ----------
        name : str
            The table's name.
        rows : sequence of mapping
            The rows; a key missing from a row is None there (NaN in a numeric column).
        columns : sequence of str, optional
            Leading columns, in order (kept even if no row has them).
        notes : mapping of str to str, optional
            Scale and settings of the run.

        Returns
        -------
        ExperimentTable
            One column per key, in the order given then first seen.
        """
        order = list(columns or [])
        for row in rows:
            order += [k for k in row if k not in order]
        return cls(name, {k: [row.get(k) for row in rows] for k in order}, dict(notes or {}))

    @property
    def columns(self) -> list[str]:
        """Column names, in display order."""
        return list(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __getitem__(self, column: str) -> np.ndarray:
        try:
            return self.data[column]
        except KeyError:
            raise TableError(f"table {self.name!r} has no column {column!r}; columns: {self.columns}") from None

    def where(self, **equal) -> ExperimentTable:
        """Rows whose columns equal the given values.

        Parameters
        ----------
        **equal : scalar
            ``column=value`` pairs; a row is kept if it matches all of them.

        Returns
        -------
        ExperimentTable
            The matching rows (same name, columns and notes).

        Raises
        ------
        TableError
            If a column does not exist.
        """
        mask = np.ones(len(self), bool)
        for k, v in equal.items():
            mask &= self[k] == v
        return ExperimentTable(self.name, {k: v[mask] for k, v in self.data.items()}, self.notes)

    def unique(self, column: str) -> list:
        """The distinct values of a column, sorted.

        Parameters
        ----------
        column : str
            Column name.

        Returns
        -------
        list
            Distinct values as Python scalars, ascending.

        Raises
        ------
        TableError
            If the column does not exist.
        """
        return sorted(set(self[column].tolist()))

    def rows(self) -> list[dict]:
        """The table as rows.

        Returns
        -------
        list of dict
            One dict per row, column name to Python scalar, in column order.
        """
        cols = self.columns
        return [dict(zip(cols, vals)) for vals in zip(*(self.data[c].tolist() for c in cols))]

    def to_csv(self, path) -> pathlib.Path:
        """Write the notes as ``# key: value`` lines, then a header and the rows.

        The file is written to a temporary name and renamed, so a failure leaves no
        half-written CSV.  Floats are written with ``repr`` (round-trip exact).

        Parameters
        ----------
        path : str or os.PathLike
            The CSV file (replaced if it exists); its directory must exist.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        TableError
            If the directory of ``path`` does not exist or ``path`` is a directory.
        OSError
            If writing fails (the temporary file is removed, an existing file kept).
        """
        path = pathlib.Path(path)
        # checked before writing, so the error names the fix instead of a raw FileNotFoundError
        if not path.parent.is_dir():
            raise TableError(f"cannot write {path}: directory {path.parent} does not exist; create it first")
        if path.is_dir():
            raise TableError(f"cannot write {path}: it is a directory; give a file name such as "
                             f"{path / (self.name + '.csv')}")
        with written_whole(path) as f:
            f.writelines(f"# {k}: {v}\n" for k, v in self.notes.items())
            w = csv.writer(f)
            w.writerow(self.columns)
            for row in zip(*(self.data[c].tolist() for c in self.columns)):
                w.writerow([repr(v) if isinstance(v, float) else v for v in row])
        return path

    @classmethod
    def from_csv(cls, path, name: str | None = None) -> ExperimentTable:
        """Read a file written by :meth:`to_csv` (numbers parsed back to int or float).

        Leading ``# key: value`` lines become the notes; a column is int if every value
        parses as int, else float if every value does, else strings.

        Parameters
        ----------
        path : str or os.PathLike
            The CSV file.
        name : str, optional
            The table's name (default: the file name without its suffix).

        Returns
        -------
        ExperimentTable
            The table.

        Raises
        ------
        TableError
            If the file cannot be read, has no header, or a row has another number of fields.
        """
        path = pathlib.Path(path)
        notes, lines = {}, []
        try:
            with open(path, newline="") as f:
                for line in f:
                    if line.startswith("# ") and not lines:
                        k, _, v = line[2:].rstrip("\n").partition(": ")
                        notes[k] = v
                    else:
                        lines.append(line)
        except OSError as exc:
            raise TableError(f"cannot read {path}: {exc.strerror}") from None
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            raise TableError(f"{path} is empty: expected a header row") from None
        body = list(reader)
        if any(len(r) != len(header) for r in body):
            raise TableError(f"{path}: a row does not have the {len(header)} fields of the header")
        cols = {}
        for j, h in enumerate(header):
            cols[h] = _parse([r[j] for r in body])
        return cls(name or path.stem, cols, notes)


def _parse(values: list[str]) -> np.ndarray:
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in values])
        except ValueError:
            continue
    return np.array(values)


def mean_std(table: ExperimentTable, value: str, by: Sequence[str]) -> dict:
    """{key tuple of ``by``: (mean, std over rows, n)} of column ``value`` (nan-aware).

    Parameters
    ----------
    table : ExperimentTable
        The table.
    value : str
        Numeric column to average.
    by : sequence of str
        Columns whose value combinations form the groups.

    Returns
    -------
    dict
        ``{(v_1, ..., v_k): (mean, std, n)}`` per combination of the ``by`` columns: mean and
        population standard deviation (ddof 0) of the non-NaN values, and their number
        (mean and std NaN when n = 0).

    Raises
    ------
    TableError
        If a column does not exist.
    """
    keys = list(zip(*(table[b].tolist() for b in by)))
    vals = table[value].astype(np.float64)
    out: dict = {}
    for k, v in zip(keys, vals):
        out.setdefault(k, []).append(v)
    res = {}
    for k, vs in out.items():
        a = np.array(vs)
        a = a[~np.isnan(a)]
        res[k] = (float(a.mean()) if a.size else math.nan, float(a.std()) if a.size else math.nan, int(a.size))
    return res
