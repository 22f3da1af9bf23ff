"""Steps at which a training run is measured."""
from __future__ import annotations

import numpy as np

from .errors import TrainingError


def measurement_steps(steps_per_epoch: int, epochs: int, *, dense_epochs: float = 0.0, n_dense: int = 0,
                      per_epoch: int = 1) -> tuple[int, ...]:
    """Step 0, ``n_dense`` steps spread evenly over the first ``dense_epochs`` epochs, then
    ``per_epoch`` measurements per epoch up to the end (HR Fig. 3: dense in the first half epoch).

    A step s means "after s updates"; the last step is ``steps_per_epoch * epochs``.

    Parameters
    ----------
    steps_per_epoch : int
        Optimizer steps per epoch (>= 1).
    epochs : int
        Number of epochs (>= 1).
    dense_epochs : float
        Length, in epochs, of the densely measured start (>= 0).
    n_dense : int
        Number of intervals into which the dense start is divided (>= 0; 0: none).
    per_epoch : int
        Measurements per epoch after that (>= 1).

    Returns
    -------
    tuple of int
        Distinct steps, ascending, from 0 to ``steps_per_epoch * epochs`` (both included).

    Raises
    ------
    TrainingError
        If a count is below its minimum or ``dense_epochs`` is negative.
    """
    if steps_per_epoch < 1 or epochs < 1 or per_epoch < 1 or n_dense < 0 or dense_epochs < 0:
        raise TrainingError(f"bad schedule: steps_per_epoch={steps_per_epoch}, epochs={epochs}, "
                            f"per_epoch={per_epoch}, n_dense={n_dense}, dense_epochs={dense_epochs}")
    total = steps_per_epoch * epochs
    steps = {0, total}
    if n_dense:
        steps.update(np.rint(np.linspace(0, dense_epochs * steps_per_epoch, n_dense + 1)).astype(int).tolist())
    steps.update(np.rint(np.linspace(0, total, epochs * per_epoch + 1)).astype(int).tolist())
    return tuple(sorted(s for s in steps if 0 <= s <= total))
