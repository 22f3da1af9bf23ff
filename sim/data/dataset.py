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
        The data set's name, e.g. "mnist".
    x_train, x_test : arrays (n, ...)
        Images (uint8 as stored, or float after ``scaled``).
    y_train, y_test : int64 arrays (n,)
        Labels in 0 .. n_classes - 1.
    n_classes : int
        Number of classes.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def scaled(self, dtype=np.float32) -> Dataset:
        """Images flattened to (n, features) and scaled to [0, 1] (``scale_to_unit``).

        Parameters
        ----------
        dtype : numpy dtype
            Floating type of the scaled images (float32 by default).

        Returns
        -------
        Dataset
            Same labels; ``x_train`` and ``x_test`` of shape (n, features) with pixel / 255.

        Raises
        ------
        SimError
            If the images are not uint8 (e.g. the data set is already scaled).
        """
        return Dataset(self.name, scale_to_unit(self.x_train, dtype), self.y_train,
                       scale_to_unit(self.x_test, dtype), self.y_test, self.n_classes)

    def with_train_labels(self, y_train) -> Dataset:
        """The same data with other training labels (e.g. from ``corrupt_labels``).

        Parameters
        ----------
        y_train : array_like of int, shape (n_train,)
            The new training labels.

        Returns
        -------
        Dataset
            A copy with ``y_train`` replaced (as int64); images and test labels shared.

        Raises
        ------
        SimError
            If the number of labels differs from the number of training images.
        """
        y_train = np.asarray(y_train, dtype=np.int64)
        if y_train.shape != self.y_train.shape:
            raise SimError(f"need {self.y_train.shape[0]} training labels, got shape {y_train.shape}")
        return Dataset(self.name, self.x_train, y_train, self.x_test, self.y_test, self.n_classes)


def scale_to_unit(images, dtype=np.float32) -> np.ndarray:
    """Flatten uint8 images and scale them to [0, 1].

    Parameters
    ----------
    images : array_like of uint8, shape (n, ...)
        Images as stored (0..255).
    dtype : numpy dtype
        Floating type of the result (float32 by default).

    Returns
    -------
    numpy.ndarray of shape (n, prod(...))
        pixel / 255, of ``dtype``.

    Raises
    ------
    SimError
        If the images are not uint8.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise SimError(f"scale_to_unit expects uint8 images (0..255), got dtype {images.dtype}")
    return (images.reshape(images.shape[0], -1).astype(dtype) / dtype(255)).astype(dtype, copy=False)


class Split(NamedTuple):
    """A train/test split of (x, y).

    Attributes
    ----------
    x_train, y_train : numpy.ndarray
        The training part, in the original order.
    x_test, y_test : numpy.ndarray
        The test part, in the original order.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def train_test_split(x, y, test_fraction: float, seed) -> Split:
    """Seeded random split: round(test_fraction * n) samples go to the test part.

    Parameters
    ----------
    x : array_like of shape (n, ...)
        Samples.
    y : array_like of shape (n, ...)
        Their labels (or targets).
    test_fraction : float
        Fraction of the samples for the test part, in (0, 1) (rounded half up).
    seed : int or numpy.random.Generator
        Draws the permutation.

    Returns
    -------
    Split
        ``x_train, y_train, x_test, y_test``; each part keeps the original order.

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
