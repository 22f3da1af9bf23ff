"""MNIST from its four standard IDX files (LeCun et al.), gzipped or not.

Expected in the directory given (or ``$MEANFIELD_DATA``), or in its ``mnist/``
sub-folder::

    train-images-idx3-ubyte[.gz]   60000 x 28 x 28 uint8
    train-labels-idx1-ubyte[.gz]   60000 uint8 in 0..9
    t10k-images-idx3-ubyte[.gz]    10000 x 28 x 28 uint8
    t10k-labels-idx1-ubyte[.gz]    10000 uint8 in 0..9

(the spellings ``train-images.idx3-ubyte`` etc. are accepted too).  Any number of
images is accepted, so small files written by ``write_idx`` load as well.
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .errors import BadMagicError, LabelRangeError, SizeMismatchError, WrongDimensionsError
from .idx import read_idx
from .locate import find_files

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)


def _spellings(stem: str) -> list[str]:
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def load_mnist(directory=None) -> Dataset:
    """MNIST as uint8 images (n, 28, 28) and int64 labels; ``.scaled()`` gives [0, 1] features.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Folder holding the four IDX files or their ``mnist/`` sub-folder; None reads
        ``$MEANFIELD_DATA``.

    Returns
    -------
    Dataset
        ``name`` "mnist", training and test images and labels, ``n_classes`` 10.

    Raises
    ------
    DataNotFoundError
        No directory (argument or ``$MEANFIELD_DATA``) or files missing.
    CorruptFileError
        A subclass naming the file: ``BadMagicError``, ``TruncatedFileError``,
        ``WrongDimensionsError``, ``LabelRangeError``, ``SizeMismatchError``,
        ``BadCompressionError``.
    """
    paths = find_files(directory, "mnist", [_spellings(s) for s in STEMS], "MNIST")
    parts = []
    for img_path, lab_path in ((paths[0], paths[1]), (paths[2], paths[3])):
        images, labels = read_idx(img_path), read_idx(lab_path)
        for path, arr, ndim in ((img_path, images, 3), (lab_path, labels, 1)):
            if arr.dtype != np.uint8:
                raise BadMagicError(path, f"MNIST files hold unsigned bytes (type 0x08), this one holds {arr.dtype}")
            if arr.ndim != ndim:
                raise WrongDimensionsError(path, f"expected {ndim} dimension(s), the header declares shape {arr.shape}")
        if images.shape[1:] != IMAGE_SHAPE:
            raise WrongDimensionsError(img_path, f"expected 28 x 28 images, the header declares shape {images.shape}")
        if images.shape[0] != labels.shape[0]:
            raise SizeMismatchError(img_path, f"{images.shape[0]} images but {labels.shape[0]} labels in {lab_path}")
        if labels.size and labels.max() >= N_CLASSES:
            bad = int(np.argmax(labels >= N_CLASSES))
            raise LabelRangeError(lab_path, f"label {labels[bad]} at index {bad}; MNIST labels lie in 0..9")
        parts += [images, labels.astype(np.int64)]
    return Dataset("mnist", parts[0], parts[1], parts[2], parts[3], N_CLASSES)
