"""Output paths of the sim commands: a directory means "the default name inside it".

Writability is checked with :func:`meanfield.outputs.check_writable` (one implementation
for every command of both packages) before any work: one-line error, nothing half-written.
"""
from __future__ import annotations

import pathlib

from meanfield.outputs import OutputPathError, check_writable

__all__ = ["check_output_dir", "check_writable", "output_path"]


def output_path(out: str | None, default_name: str) -> pathlib.Path:
    """``out`` as a file path: the default name inside it when it is a directory or ends in '/'.

    Parameters
    ----------
    out : str or None
        The ``--out`` value; None means the default name in the current directory.
    default_name : str
        File name used when ``out`` is None or a directory.

    Returns
    -------
    pathlib.Path
        The file to write (not checked here; see :func:`check_writable`).
    """
    if out is None:
        return pathlib.Path(default_name)
    path = pathlib.Path(out)
    if out.endswith(("/", "\\")) or path.is_dir():
        return path / default_name
    return path


def check_output_dir(out, names, what: str = "--out") -> pathlib.Path:
    """The directory ``out``, checked before any work.

    It must be creatable (its parent exists and is writable) or, if it exists, every
    file of ``names`` must be writable in it.  Creates nothing.

    Parameters
    ----------
    out : str or os.PathLike
        The output directory (``~`` is expanded).
    names : iterable of str
        The files the command will write into it.
    what : str
        The option named in error messages.

    Returns
    -------
    pathlib.Path
        The directory (it may not exist yet).

    Raises
    ------
    OutputPathError
        A ValueError with one line naming the fix, if ``out`` is an existing file, cannot be
        created, or a file of ``names`` cannot be written in it.
    """
    path = pathlib.Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{what} {out} exists and is not a directory; give a directory")
    if not path.exists():
        check_writable(path, what=what)     # the directory itself is created when the results are written
        return path
    for name in names:
        check_writable(path / name, what=what)
    return path
