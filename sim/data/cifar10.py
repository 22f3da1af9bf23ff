"""CIFAR-10 from its standard *binary* version (never the pickled one).

Expected in the directory given (or ``$MEANFIELD_DATA``), or in its
``cifar-10-batches-bin/`` sub-folder (the name inside the official tarball)::

    data_batch_1.bin .. data_batch_5.bin   training records
    test_batch.bin                         test records

Each record is 1 label byte (0..9) followed by 3072 pixel bytes: the 1024 red, then
green, then blue values of a 32 x 32 image in row-major order.  Images come back as
uint8 (n, 3, 32, 32).  CIFAR-10 is not shipped and cannot be downloaded here; the
loader is tested on generated files.
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .errors import LabelRangeError, TruncatedFileError
from .idx import read_bytes
from .locate import find_files

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
RECORD = 1 + 3 * 32 * 32
N_CLASSES = 10


def read_cifar10_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """The records of one CIFAR-10 binary batch file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``*.bin`` batch file (gzipped or not).

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 3, 32, 32)
        Channels red, green, blue; rows top to bottom.
    labels : numpy.ndarray of int64, shape (n,)
        Classes 0..9.

    Raises
    ------
    TruncatedFileError
        If the file is empty or not a whole number of 3073-byte records (or its gzip
        stream ends early).
    LabelRangeError
        If a label byte is >= 10.
    BadCompressionError
        If a gzipped file is corrupt.
    """
    raw = read_bytes(path)
    if len(raw) == 0 or len(raw) % RECORD:
        raise TruncatedFileError(path, f"{len(raw)} bytes is not a whole number of {RECORD}-byte records "
                                       f"(1 label byte + 3072 pixel bytes)")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() >= N_CLASSES:
        bad = int(np.argmax(labels >= N_CLASSES))
        raise LabelRangeError(path, f"label {labels[bad]} in record {bad}; CIFAR-10 labels lie in 0..9")
    return rec[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def load_cifar10(directory=None) -> Dataset:
    """CIFAR-10 (binary version) as uint8 images (n, 3, 32, 32) and int64 labels.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Folder holding the batch files or their ``cifar-10-batches-bin/`` sub-folder;
        None reads ``$MEANFIELD_DATA``.

    Returns
    -------
    Dataset
        ``name`` "cifar10", the five training batches concatenated (50000 images in
        the official files), the test batch, ``n_classes`` 10.

    Raises
    ------
    DataNotFoundError
        No directory given, or files missing.
    TruncatedFileError, LabelRangeError, BadCompressionError
        A batch file is corrupt (the error names it).
    """
    paths = find_files(directory, "cifar-10-batches-bin", [[n] for n in TRAIN_FILES + (TEST_FILE,)], "CIFAR-10")
    train = [read_cifar10_batch(p) for p in paths[:5]]
    x_test, y_test = read_cifar10_batch(paths[5])
    return Dataset("cifar10", np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]),
                   x_test, y_test, N_CLASSES)
