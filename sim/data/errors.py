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

    Attributes
    ----------
    path : str
        The offending file.
    problem : Problem
        What is wrong (also the subclass).
    """

    problem: Problem = Problem.BAD_MAGIC

    def __init__(self, path, detail: str):
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{self.path}: {self.problem.value}: {detail}")


class BadMagicError(CorruptFileError):
    problem = Problem.BAD_MAGIC


class TruncatedFileError(CorruptFileError):
    problem = Problem.TRUNCATED


class WrongDimensionsError(CorruptFileError):
    problem = Problem.WRONG_DIMENSIONS


class LabelRangeError(CorruptFileError):
    problem = Problem.LABEL_OUT_OF_RANGE


class SizeMismatchError(CorruptFileError):
    problem = Problem.SIZE_MISMATCH


class BadCompressionError(CorruptFileError):
    problem = Problem.BAD_COMPRESSION
