"""Label corruption (Hanin & Rolnick 2019, Fig. 4; after Arpit et al. and Zhang et al.).

Exactly k = floor(fraction * n + 1/2) labels, chosen uniformly without replacement,
are replaced by a class drawn uniformly from the *other* n_classes - 1 classes.  A
corrupted label therefore never equals the true one, so exactly k labels change and
fraction = 1 leaves no correct label (Zhang et al. draw from all classes, which
changes only about (1 - 1/n_classes) of the chosen labels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimError


@dataclass(frozen=True)
class CorruptedLabels:
    """Labels after corruption.

    Attributes
    ----------
    labels : int64 array (n,)
        The new labels.
    changed : bool array (n,)
        True where the label was replaced (exactly ``n_changed`` entries).
    n_changed : int
        k, the number of labels replaced.
    """

    labels: np.ndarray
    changed: np.ndarray
    n_changed: int


def corrupt_labels(labels, fraction: float, n_classes: int, seed) -> CorruptedLabels:
    """Replace exactly round(fraction * n) labels by a different class, uniformly at random.

    The corrupted-label experiment of Hanin & Rolnick 2019, Fig. 4 (module docstring).

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        True labels in 0 .. n_classes - 1.
    fraction : float
        Fraction of the labels to replace, in [0, 1] (k = floor(fraction n + 1/2)).
    n_classes : int
        Number of classes, >= 2.
    seed : int or numpy.random.Generator
        Chooses the labels and their new classes.

    Returns
    -------
    CorruptedLabels
        The new int64 labels, the mask of changed entries and their number k.

    Raises
    ------
    SimError
        ``labels`` not a 1-D integer array, ``fraction`` outside [0, 1], fewer than two
        classes, or labels outside 0 .. n_classes - 1.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise SimError(f"labels must be a 1-D integer array, got shape {labels.shape} and dtype {labels.dtype}")
    if not 0.0 <= fraction <= 1.0:
        raise SimError(f"the corrupted fraction must lie in [0, 1], got {fraction}")
    if n_classes < 2:
        raise SimError(f"label corruption needs at least 2 classes, got {n_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise SimError(f"labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}")
    n = labels.size
    k = int(np.floor(fraction * n + 0.5))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(n, size=k, replace=False)
    # an offset in 1..n_classes-1 (mod n_classes) is uniform over the other classes
    offset = rng.integers(1, n_classes, size=k)
    new = labels.astype(np.int64)
    new[chosen] = (new[chosen] + offset) % n_classes
    changed = np.zeros(n, dtype=bool)
    changed[chosen] = True
    return CorruptedLabels(new, changed, k)
