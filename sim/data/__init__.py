"""Data sets for training experiments: MNIST (IDX), CIFAR-10 (binary), synthetic points.

Public API
----------
load_mnist(directory=None) -> Dataset
    The four IDX files (gzipped or not) in ``directory``, else ``$MEANFIELD_DATA``,
    each looked up in the folder itself and then in its ``mnist/`` sub-folder.
load_cifar10(directory=None) -> Dataset
    ``data_batch_1..5.bin`` and ``test_batch.bin`` (binary version) in the folder or
    its ``cifar-10-batches-bin/`` sub-folder.
Dataset(name, x_train, y_train, x_test, y_test, n_classes)
    Frozen; ``.scaled(dtype=float32)`` flattens images and scales to [0, 1];
    ``.with_train_labels(y)`` swaps the training labels.
scale_to_unit(images, dtype=float32), train_test_split(x, y, test_fraction, seed) -> Split
corrupt_labels(labels, fraction, n_classes, seed) -> CorruptedLabels
    Exactly round(fraction * n) labels change, each to a *different* class drawn
    uniformly.
random_points_2d(n_points, seed, distribution="normal", n_test=0) -> Dataset
    Memorization points with independent fair binary labels.
read_idx(path), write_idx(path, array), read_cifar10_batch(path)
Errors: DataError(SimError) > DataNotFoundError, CorruptFileError > BadMagicError,
    TruncatedFileError, WrongDimensionsError, LabelRangeError, SizeMismatchError,
    BadCompressionError; ``CorruptFileError.path`` and ``.problem`` (a ``Problem`` enum).

Nothing here imports JAX.
"""
from .cifar10 import load_cifar10, read_cifar10_batch
from .corruption import CorruptedLabels, corrupt_labels
from .dataset import Dataset, Split, scale_to_unit, train_test_split
from .errors import (
    BadCompressionError,
    BadMagicError,
    CorruptFileError,
    DataError,
    DataNotFoundError,
    LabelRangeError,
    Problem,
    SizeMismatchError,
    TruncatedFileError,
    WrongDimensionsError,
)
from .idx import read_idx, write_idx
from .locate import ENV_VAR
from .mnist import load_mnist
from .synthetic import PointDistribution, random_points_2d

__all__ = [
    "ENV_VAR",
    "BadCompressionError",
    "BadMagicError",
    "CorruptFileError",
    "CorruptedLabels",
    "DataError",
    "DataNotFoundError",
    "Dataset",
    "LabelRangeError",
    "PointDistribution",
    "Problem",
    "SizeMismatchError",
    "Split",
    "TruncatedFileError",
    "WrongDimensionsError",
    "corrupt_labels",
    "load_cifar10",
    "load_mnist",
    "random_points_2d",
    "read_cifar10_batch",
    "read_idx",
    "scale_to_unit",
    "train_test_split",
    "write_idx",
]
