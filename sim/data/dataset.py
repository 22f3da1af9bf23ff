"""A labelled data set as arrays, and the helpers the training experiments need.

``Dataset`` holds raw arrays (uint8 images as stored, int64 labels); ``scaled``
flattens the images and divides by 255 so every feature lies in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import SimError


@dataclass(frozen=True)
class Dataset:
    """Training and test arrays of one data set.

    Attributes
    ----------
    name : str
    x_train, x_test : arrays (n, ...)
        Images (uint8 as stored, or float after ``scaled``).
    y_train, y_test : int64 arrays (n,)
        Labels in 0 .. n_classes - 1.
    n_classes : int
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def scaled(self, dtype=np.float32) -> Dataset:
        """Images flattened to (n, features) and scaled to [0, 1] (``scale_to_unit``)."""
        return Dataset(self.name, scale_to_unit(self.x_train, dtype), self.y_train,
                       scale_to_unit(self.x_test, dtype), self.y_test, self.n_classes)

    def with_train_labels(self, y_train) -> Dataset:
        """The same data with other training labels (e.g. from ``corrupt_labels``)."""
        y_train = np.asarray(y_train, dtype=np.int64)
        if y_train.shape != self.y_train.shape:
            raise SimError(f"need {self.y_train.shape[0]} training labels, got shape {y_train.shape}")
        return Dataset(self.name, self.x_train, y_train, self.x_test, self.y_test, self.n_classes)


def scale_to_unit(images, dtype=np.float32) -> np.ndarray:
    """uint8 images (n, ...) -> (n, prod(...)) array of ``dtype`` with values pixel / 255 in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise SimError(f"scale_to_unit expects uint8 images (0..255), got dtype {images.dtype}")
    return (images.reshape(images.shape[0], -1).astype(dtype) / dtype(255)).astype(dtype, copy=False)


class Split(NamedTuple):
    """A train/test split of (x, y)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def train_test_split(x, y, test_fraction: float, seed) -> Split:
    """Seeded random split: round(test_fraction * n) samples go to the test part.

    Raises
    ------
    SimError
        ``test_fraction`` outside (0, 1), x and y of different lengths, or a part
        that would be empty.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.shape[0] != y.shape[0]:
        raise SimError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if not 0.0 < test_fraction < 1.0:
        raise SimError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    n = x.shape[0]
    n_test = int(np.floor(test_fraction * n + 0.5))
    if not 0 < n_test < n:
        raise SimError(f"test_fraction {test_fraction} of {n} samples leaves an empty part; use more samples")
    perm = np.random.default_rng(seed).permutation(n)
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return Split(x[train], y[train], x[test], y[test])
