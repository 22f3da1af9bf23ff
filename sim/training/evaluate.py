"""Loss and accuracy of a float64 ``sim.Network`` in numpy (no JAX), e.g. after perturbing it."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import TrainingError


class Evaluation(NamedTuple):
    """Mean cross-entropy of the logits h^D and the fraction of correct argmax predictions.

    Attributes
    ----------
    loss : float
        Mean softmax cross-entropy.
    accuracy : float
        Fraction of samples whose largest logit is the label, in [0, 1].
    """

    loss: float
    accuracy: float


def evaluate_network(net, x, y, *, chunk: int = 8192) -> Evaluation:
    """Cross-entropy -1/n sum_i log softmax(h^D(x_i))[y_i] and accuracy, in float64, in chunks of rows.

    Parameters
    ----------
    net : Network
        A ``sim.Network`` (or ``RandomNetwork``) whose last layer gives the logits.
    x : array_like of shape (n, N0)
        Inputs, n >= 1.
    y : array_like of int, shape (n,)
        Labels in 0..N_D - 1.
    chunk : int
        Rows per forward pass (bounds the memory).

    Returns
    -------
    Evaluation
        ``loss`` (mean cross-entropy, computed with a stable log-sum-exp) and ``accuracy``.

    Raises
    ------
    TrainingError
        If ``x`` is not 2-D with n >= 1 rows, ``y`` is not of shape (n,), a label is
        outside 0..N_D - 1, or ``chunk`` is not an integer >= 1.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise TrainingError(f"chunk must be an integer >= 1 (rows per forward pass), got {chunk!r}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise TrainingError(f"need x (n >= 1, N0) and y (n,), got shapes {x.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= net.widths[-1]:
        raise TrainingError(f"labels must lie in 0..{net.widths[-1] - 1}, found {y.min()}..{y.max()}")
    total, correct = 0.0, 0
    for s in range(0, x.shape[0], chunk):
        z = net.forward(x[s:s + chunk])[-1]
        yy = y[s:s + chunk]
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        total += float((lse - z[np.arange(len(yy)), yy]).sum())
        correct += int((z.argmax(axis=1) == yy).sum())
    return Evaluation(total / x.shape[0], correct / x.shape[0])
