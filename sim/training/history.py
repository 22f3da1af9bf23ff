"""What a training run returns: the measurement table, snapshots and timings."""
from __future__ import annotations

import csv
import math
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from meanfield.outputs import written_whole

from ..networks.network import Network
from .errors import TrainingError

#: Columns every history row has, in this order.
BASE_COLUMNS = ("step", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")


def _csv_target(path: pathlib.Path) -> pathlib.Path:
    # checked before writing, so the error names the fix instead of a raw FileNotFoundError
    if not path.parent.is_dir():
        raise TrainingError(f"cannot write {path}: directory {path.parent} does not exist; create it first")
    if path.is_dir():
        raise TrainingError(f"cannot write {path}: it is a directory; give a file name such as {path / 'history.csv'}")
    return path


@dataclass(frozen=True)
class Snapshot:
    """The network at one measurement step, as a float64 ``sim.Network``.

    Attributes
    ----------
    step : int
        Updates done.
    epoch : float
        ``step / steps_per_epoch``.
    network : Network
        The float64 network (batch normalization folded in).
    """

    step: int
    epoch: float
    network: Network

    def save(self, path) -> pathlib.Path:
        """Write weights and biases to an ``.npz`` (keys w1..wD, b1..bD, step, epoch, phi).

        Parameters
        ----------
        path : str or os.PathLike
            File to write; ``.npz`` is appended if the name lacks it (as ``numpy.savez`` does).

        Returns
        -------
        pathlib.Path
            The file written: ``path``, with ``.npz`` appended if it lacked it.
        """
        path = pathlib.Path(path)
        if not path.name.endswith(".npz"):
            path = path.with_name(path.name + ".npz")
        arrays = {f"w{l}": w for l, w in enumerate(self.network.weights, start=1)}
        arrays.update({f"b{l}": b for l, b in enumerate(self.network.biases, start=1)})
        np.savez(path, step=self.step, epoch=self.epoch, phi=str(self.network.phi.expr), **arrays)
        return path


def load_snapshot(path) -> Snapshot:
    """Read a ``Snapshot.save`` file back (phi re-parsed by meanfield's parser).

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` written by :meth:`Snapshot.save`.

    Returns
    -------
    Snapshot
        Step, epoch and the float64 network.
    """
    with np.load(path, allow_pickle=False) as f:
        depth = sum(1 for k in f.files if k.startswith("w"))
        net = Network(str(f["phi"]), [f[f"w{l}"] for l in range(1, depth + 1)],
                      [f[f"b{l}"] for l in range(1, depth + 1)])
        return Snapshot(int(f["step"]), float(f["epoch"]), net)


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds spent in the parts of a run (compilation included in ``train_seconds``).

    Attributes
    ----------
    train_seconds : float
        In the optimizer steps (with JIT compilation).
    evaluate_seconds : float
        In the loss and accuracy of the whole training and test sets.
    measure_seconds : float
        In the caller's measurement functions (and building the float64 network).
    """

    train_seconds: float
    evaluate_seconds: float
    measure_seconds: float

    @property
    def measure_share(self) -> float:
        """Fraction of the run spent in the caller's measurement functions."""
        total = self.train_seconds + self.evaluate_seconds + self.measure_seconds
        return self.measure_seconds / total if total else 0.0


@dataclass(frozen=True)
class History:
    """One row per measurement step.

    Attributes
    ----------
    rows : list of dict
        Keys ``BASE_COLUMNS`` (step = updates done; epoch = step / steps_per_epoch;
        losses are mean cross-entropies over the whole training / test set, in
        evaluation mode; NaN when there is no test set) plus one key per
        measurement function, holding what it returned.
    steps_per_epoch : int
        Optimizer steps per epoch, floor(n_train / batch_size).
    final : Network
        The trained network (float64), whatever the schedule.
    snapshots : tuple of Snapshot
        One per measurement step when requested, else empty.
    timing : Timing
        Where the run's time went.
    """

    rows: list
    steps_per_epoch: int
    final: Network
    snapshots: tuple = field(default=())
    timing: Timing = field(default=Timing(0.0, 0.0, 0.0))

    @property
    def columns(self) -> list[str]:
        """``BASE_COLUMNS`` then the measurement names, in first-seen order."""
        cols = list(BASE_COLUMNS)
        for row in self.rows:
            cols += [k for k in row if k not in cols]
        return cols

    def column(self, name: str) -> np.ndarray:
        """The values of one column as an array (one entry per row).

        Parameters
        ----------
        name : str
            A column name (:attr:`columns`).

        Returns
        -------
        numpy.ndarray
            One entry per row, NaN where a row lacks the column (an unknown name gives all NaN).
        """
        return np.array([row.get(name, math.nan) for row in self.rows])

    def to_csv(self, path) -> pathlib.Path:
        """Write the table; a measurement returning a sequence becomes columns name_0, name_1, ...,
        one returning a mapping becomes name_key columns.

        Written to a temporary file and renamed (:func:`meanfield.outputs.written_whole`), so a
        complete file is never half-overwritten.
        Floats are written with ``repr`` (round-trip exact).

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
        TrainingError
            If the directory of ``path`` does not exist or ``path`` is a directory.
        OSError
            If writing fails (the temporary file is removed, an existing file kept).
        """
        flat = [_flatten(row) for row in self.rows]
        cols = list(BASE_COLUMNS)
        for row in flat:
            cols += [k for k in row if k not in cols]
        path = _csv_target(pathlib.Path(path))
        with written_whole(path) as fh:
            w = csv.DictWriter(fh, fieldnames=cols, restval="")
            w.writeheader()
            for row in flat:
                w.writerow({k: _fmt(v) for k, v in row.items()})
        return path

    def plot(self, axes=None):
        """Loss and accuracy against epoch (two panels); returns the Figure.

        Parameters
        ----------
        axes : sequence of two matplotlib.axes.Axes, optional
            Axes for the loss and the accuracy panels; default: a new 1 x 2 figure.

        Returns
        -------
        matplotlib.figure.Figure
            The figure of ``axes[0]``, train and test curves on each panel.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        fig = axes[0].figure
        ep = self.column("epoch")
        for part in ("train", "test"):
            axes[0].plot(ep, self.column(f"{part}_loss"), "o-", ms=3, label=part)
            axes[1].plot(ep, self.column(f"{part}_accuracy"), "o-", ms=3, label=part)
        axes[0].set_ylabel("cross-entropy loss")
        axes[1].set_ylabel("accuracy")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.legend()
        fig.tight_layout()
        return fig


def _flatten(row: Mapping) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, Mapping):
            out.update({f"{k}_{kk}": vv for kk, vv in v.items()})
        elif isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) == 1:
            out.update({f"{k}_{i}": vv for i, vv in enumerate(v)})
        else:
            out[k] = v
    return out


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v
