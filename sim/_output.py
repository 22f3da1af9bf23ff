"""Output paths of the sim commands: a directory means "the default name inside it",
and writability is checked before any work (one-line error, nothing half-written).

Private to sim; meanfield has its own (``meanfield.outputs``) and the two may be unified.
"""
from __future__ import annotations

import pathlib


def output_path(out: str | None, default_name: str) -> pathlib.Path:
    """``out`` as a file path: the default name inside it when it is a directory or ends in '/'."""
    if out is None:
        return pathlib.Path(default_name)
    path = pathlib.Path(out)
    if out.endswith(("/", "\\")) or path.is_dir():
        return path / default_name
    return path


def check_writable(path: pathlib.Path, flag: str) -> None:
    """Raise ValueError (one line, naming ``flag``) unless ``path`` can be written; leaves nothing behind.

    Tried for real (a temporary file in the same directory), since permission bits do
    not tell about read-only mounts, /proc, or running as root.
    """
    import tempfile

    parent = path.parent if str(path.parent) else pathlib.Path(".")
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a directory; give a file name")
    if not parent.exists():
        raise ValueError(f"{flag} {path}: the directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: {parent} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".meanfield-write-test-"):
            pass
        if path.exists():
            with open(path, "ab"):
                pass
    except OSError as exc:
        raise ValueError(f"{flag} {path} cannot be written ({exc.strerror or exc}); choose another path") from None
