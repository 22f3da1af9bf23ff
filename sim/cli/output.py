"""Output paths of the sim commands: a directory means "the default name inside it".

Writability is checked with :func:`meanfield.outputs.check_writable` (one implementation
for every command of both packages) before any work: one-line error, nothing half-written.
"""
from __future__ import annotations

import pathlib

from meanfield.outputs import OutputPathError, check_writable

__all__ = ["check_output_dir", "check_writable", "output_path"]


def output_path(out: str | None, default_name: str) -> pathlib.Path:
    """``out`` as a file path: the default name inside it when it is a directory or ends in '/'."""
    if out is None:
        return pathlib.Path(default_name)
    path = pathlib.Path(out)
    if out.endswith(("/", "\\")) or path.is_dir():
        return path / default_name
    return path


def check_output_dir(out, names, what: str = "--out") -> pathlib.Path:
    """The directory ``out``, checked before any work so that it can be created (its parent exists
    and is writable) or, if it exists, every file of ``names`` can be written in it.  Creates
    nothing; raises OutputPathError (a ValueError) with one line naming the fix otherwise."""
    path = pathlib.Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{what} {out} exists and is not a directory; give a directory")
    if not path.exists():
        check_writable(path, what=what)     # the directory itself is created when the results are written
        return path
    for name in names:
        check_writable(path / name, what=what)
    return path
