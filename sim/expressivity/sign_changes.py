"""Sign changes down the columns of an array: the one count behind Poole's s and Raghu's transitions.

Zeros are skipped (a value that touches zero and returns does not change sign), so the
count is that of the nonzero signs in order; on a closed curve the last nonzero sign is
also compared with the first.
"""
from __future__ import annotations

import numpy as np

from ..errors import SimError


def count_sign_changes(values, *, closed: bool = False) -> np.ndarray:
    """Number of sign changes of each column of ``values`` along axis 0, zeros skipped.

    Parameters
    ----------
    values : (n, k) array
        k sequences of n values (signs or any reals).
    closed : bool
        Also count a change from the last nonzero value back to the first (a closed curve).

    Returns
    -------
    (k,) int array
    """
    signs = np.sign(np.asarray(values))
    if signs.ndim != 2:
        raise SimError(f"values must be a 2D array (n, k), got shape {signs.shape}")
    if signs.shape[0] == 0:
        return np.zeros(signs.shape[1], dtype=int)
    rows = np.arange(signs.shape[0])[:, None]
    idx = np.maximum.accumulate(np.where(signs != 0, rows, 0), axis=0)
    filled = np.take_along_axis(signs, idx, axis=0)      # zeros take the previous sign
    counts = ((filled[1:] != filled[:-1]) & (filled[:-1] != 0)).sum(axis=0)
    if closed:
        first = np.take_along_axis(signs, np.argmax(signs != 0, axis=0)[None], axis=0)[0]
        last = filled[-1]
        counts = counts + ((first != last) & (last != 0))
    return counts.astype(int)
