"""Output paths of the sim commands: a directory means "the default name inside it".

Writability is checked with :func:`meanfield.outputs.check_writable` (one implementation
for every command of both packages) before any work: one-line error, nothing half-written.
"""
from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping

from meanfield.outputs import OutputPathError, check_writable

__all__ = ["check_output_dir", "check_writable", "output_path", "write_files"]


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


def write_files(directory, writers: Mapping[str, Callable[[pathlib.Path], object]]) -> list[pathlib.Path]:
    """Write several files into ``directory`` all or none: each to a temporary name first.

    Every writer is called with a temporary path beside its final name (same suffix, so
    that e.g. ``savefig`` picks the format); only when all of them succeeded are the files
    renamed into place.  On failure the temporary files are removed, and the directory too
    if this call created it, and the exception propagates: nothing is left half-written.

    Parameters
    ----------
    directory : str or os.PathLike
        The output directory; created (with its parents) if missing.
    writers : mapping of str to callable
        File name -> function writing that file to the path it is given.

    Returns
    -------
    list of pathlib.Path
        The final paths, in the order of ``writers``.

    Raises
    ------
    Exception
        Whatever a writer (or the file system) raised, after the cleanup.
    """
    directory = pathlib.Path(directory)
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    moves = []
    try:
        for name, write in writers.items():
            final = directory / name
            tmp = final.with_name(f"{final.stem}.part{final.suffix}")
            moves.append((tmp, final))
            write(tmp)
        for tmp, final in moves:
            tmp.replace(final)
    except BaseException:
        for tmp, _ in moves:
            tmp.unlink(missing_ok=True)
        for d in created:                  # innermost first; a directory holding other files stays
            try:
                d.rmdir()
            except OSError:
                break
        raise
    return [final for _, final in moves]
