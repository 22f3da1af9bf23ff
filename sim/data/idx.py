"""Reader of the IDX format (LeCun et al.'s MNIST files), gzip-compressed or not.

Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), a byte giving the number of dimensions, one big-endian
uint32 per dimension, then the data in C order, big-endian.
"""
from __future__ import annotations

import gzip
import pathlib
import zlib

import numpy as np

from .errors import BadCompressionError, BadMagicError, DataNotFoundError, TruncatedFileError, WrongDimensionsError

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bytes
        The (decompressed) contents.

    Raises
    ------
    TruncatedFileError
        If the gzip stream ends early.
    BadCompressionError
        If the gzip stream is corrupt.
    DataNotFoundError
        If the file does not exist or is a directory.
    OSError
        If the file cannot be read otherwise (e.g. PermissionError).
    """
    path = pathlib.Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataNotFoundError(f"{path} does not exist; check the path or download the file") from None
    except IsADirectoryError:
        raise DataNotFoundError(f"{path} is a directory; give the path of the file in it") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise TruncatedFileError(path, "the gzip stream ends early; download the file again") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise BadCompressionError(path, f"{exc}; download the file again") from None


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file, in native byte order.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file, gzipped or not.

    Returns
    -------
    numpy.ndarray
        The array, of the shape and type its header declares.

    Raises
    ------
    BadMagicError
        The first four bytes are not 0, 0, a known type byte and a dimension count >= 1.
    TruncatedFileError
        The header or the data are shorter than the header declares.
    WrongDimensionsError
        The file holds more data than its header declares.
    BadCompressionError
        A gzipped file is corrupt.
    DataNotFoundError
        The file does not exist or is a directory.
    """
    path = pathlib.Path(path)
    raw = read_bytes(path)
    if len(raw) < 4:
        raise TruncatedFileError(path, f"{len(raw)} bytes, shorter than the 4-byte IDX magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES or raw[3] == 0:
        raise BadMagicError(path, f"magic number 0x{raw[:4].hex()} is not an IDX header (expected 0x0000TTNN "
                                  f"with type TT in 08,09,0b,0c,0d,0e and NN >= 1 dimensions)")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise TruncatedFileError(path, f"header declares {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have < need:
        raise TruncatedFileError(path, f"header declares shape {shape} ({need} data bytes) but only {have} follow")
    if have > need:
        raise WrongDimensionsError(path, f"header declares shape {shape} ({need} data bytes) but {have} follow")
    data = np.frombuffer(raw, dtype=dtype, count=need // dtype.itemsize, offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array, *, compress: bool | None = None) -> pathlib.Path:
    """Write ``array`` as an IDX file; for tests and tools.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, overwritten.
    array : array_like
        Data of a type IDX stores: uint8, int8, int16, int32, float32 or float64.
    compress : bool, optional
        Gzip the file; None (default) gzips when the name ends in ``.gz``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If IDX cannot store the array's dtype.
    """
    path = pathlib.Path(path)
    array = np.asarray(array)
    code = {v.newbyteorder("="): k for k, v in _TYPES.items()}.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = header + array.astype(_TYPES[code]).tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        body = gzip.compress(body, mtime=0)
    path.write_bytes(body)
    return path
