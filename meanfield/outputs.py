"""Output files of commands: checked for writability before any work, named without collisions.

``check_writable`` is called before a long computation so that a bad ``--out`` fails at
once with one line instead of a traceback after all the work.  A missing parent
directory is refused (not created): a typo in a path should not silently create a tree.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import tempfile

from .errors import MeanFieldError


class OutputPathError(MeanFieldError):
    """An output path that cannot be written (missing or read-only directory, parent is a file, ...)."""


def check_writable(path, suffixes=(), what: str = "--out") -> pathlib.Path:
    """``path`` as a Path, after checking that every ``path + suffix`` can be created.

    Parameters
    ----------
    path : str or Path
        A file, or a prefix when ``suffixes`` are given (``run1`` -> ``run1.png``, ...).
    suffixes : sequence of str
        Endings appended to ``path`` (not replacing its suffix: ``sw1.5`` -> ``sw1.5.png``).
    what : str
        How the user named the path (a flag), for the message.

    Returns
    -------
    pathlib.Path
        ``path`` with ``~`` expanded (nothing is created: the probe file is removed).

    Raises
    ------
    OutputPathError
        With one line naming the problem and the fix: ``path`` is empty or ends in a
        separator (a directory, not a file name), the parent directory is missing or is
        not a directory, it cannot be written (read-only, ``/proc``), or a target is an
        existing directory or read-only file.
    """
    text = os.fspath(path)
    if not text or text.endswith(os.sep):
        raise OutputPathError(f"{what} {text!r}: give a file name (prefix), not a directory")
    p = pathlib.Path(text).expanduser()
    parent = p.parent
    if not parent.exists():
        raise OutputPathError(f"{what} {text}: directory {parent} does not exist; create it first "
                              f"(mkdir -p {parent})")
    if not parent.is_dir():
        raise OutputPathError(f"{what} {text}: {parent} is not a directory")
    try:  # os.access says yes to root on read-only mounts and to /proc: try it
        fd, probe = tempfile.mkstemp(prefix=".meanfield-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputPathError(f"{what} {text}: cannot write in directory {parent} "
                              f"({err.strerror or err}); choose another {what}") from None
    for target in [pathlib.Path(str(p) + s) for s in suffixes] or [p]:
        if target.is_dir():
            raise OutputPathError(f"{what} {text}: {target} is a directory; give a file name")
        if target.exists() and not os.access(target, os.W_OK):
            raise OutputPathError(f"{what} {text}: {target} exists and is read-only")
    return p


def default_prefix(command: str, phi: str, registry=()) -> str:
    """A readable output prefix that differs for different phi: ``phase_tanh``, ``phase_x_tanh_x_3f9a2c``.

    Registry names are used as they are; an expression gets a slug of its characters plus a
    short hash of its normalised form (whitespace removed), so ``x*tanh(x)`` and
    ``x-tanh(x)`` (same slug) never overwrite each other's files.

    Parameters
    ----------
    command : str
        The command's name, the first part of the prefix (``"phase"``).
    phi : str
        The nonlinearity as the user wrote it: a registry name or an expression in x.
    registry : collection of str, optional
        The registry names in lower case (:func:`meanfield.nonlinearity.registry_names`);
        a ``phi`` among them is used as it is (default: none, so every ``phi`` gets a hash).

    Returns
    -------
    str
        ``"<command>_<slug>"`` for a registry name, ``"<command>_<slug>_<hash>"``
        otherwise: the slug is ``phi`` with every run of non-alphanumeric characters
        turned into one ``_`` and cut to 40 characters (``"phi"`` if nothing is left); the
        hash is the first 6 hex digits of the SHA-256 of ``phi`` without whitespace.
    """
    name = phi.strip()
    slug = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    slug = slug[:40].strip("_") or "phi"
    if name.lower() in registry and slug == name.lower():
        return f"{command}_{slug}"
    digest = hashlib.sha256("".join(name.split()).encode()).hexdigest()[:6]
    return f"{command}_{slug}_{digest}"


@contextlib.contextmanager
def written_whole(path):
    """Open a text file that appears at ``path`` only if everything was written.

    The block writes to a temporary file of a unique name beside ``path`` (``.<name>.<random>``),
    renamed onto ``path`` when the block ends normally and deleted if it raises: a reader never sees
    a half-written file, an existing one is kept, and two writers never share a temporary file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced if it exists); its directory must exist.

    Yields
    ------
    io.TextIOWrapper
        The temporary file, opened for writing text with ``newline=""`` (as :mod:`csv` wants).
    """
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
