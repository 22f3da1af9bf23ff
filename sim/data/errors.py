"""Typed errors of ``sim.data``: each names the file and what is wrong with it."""
from __future__ import annotations

from enum import Enum

from ..errors import SimError


class Problem(Enum):
    """What is wrong with a data file (``CorruptFileError.problem``)."""

    BAD_MAGIC = "bad magic number"
    TRUNCATED = "truncated file"
    WRONG_DIMENSIONS = "wrong dimensions"
    LABEL_OUT_OF_RANGE = "labels out of range"
    SIZE_MISMATCH = "sizes disagree between images and labels"
    BAD_COMPRESSION = "bad gzip stream"


class DataError(SimError):
    """Base class of the data loaders' errors."""


class DataNotFoundError(DataError):
    """The data directory or one of its expected files does not exist."""


class CorruptFileError(DataError):
    """A data file exists but its contents are not what its format promises.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file.
    detail : str
        What was found, for the message.

    Attributes
    ----------
    path : str
        The offending file.
    detail : str
        What was found.
    problem : Problem
        What is wrong (also the subclass).
    """

    problem: Problem = Problem.BAD_MAGIC

    def __init__(self, path, detail: str):
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{self.path}: {self.problem.value}: {detail}")


class BadMagicError(CorruptFileError):
    """The file does not start with the magic number of its format."""

    problem = Problem.BAD_MAGIC


class TruncatedFileError(CorruptFileError):
    """The file ends before the data its header (or record size) announces."""

    problem = Problem.TRUNCATED


class WrongDimensionsError(CorruptFileError):
    """The array has other dimensions than the format or the data set requires."""

    problem = Problem.WRONG_DIMENSIONS


class LabelRangeError(CorruptFileError):
    """A label lies outside 0 .. n_classes - 1."""

    problem = Problem.LABEL_OUT_OF_RANGE


class SizeMismatchError(CorruptFileError):
    """The images and labels files hold different numbers of samples."""

    problem = Problem.SIZE_MISMATCH


class BadCompressionError(CorruptFileError):
    """A gzipped file is not a valid gzip stream."""

    problem = Problem.BAD_COMPRESSION
