"""Where data sets live: an explicit directory, else ``$MEANFIELD_DATA``.

A data set's files are looked up in the directory itself and then in its standard
sub-folder (``mnist/`` for MNIST, ``cifar-10-batches-bin/`` for CIFAR-10), so both
``$MEANFIELD_DATA=/data`` (holding ``/data/mnist/...``) and
``$MEANFIELD_DATA=/data/mnist`` work.  The repository ships no data sets.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

from .errors import DataNotFoundError

ENV_VAR = "MEANFIELD_DATA"


def find_files(directory, subdir: str, names: Sequence[Sequence[str]], dataset: str) -> list[pathlib.Path]:
    """One existing path per entry of ``names``, from the directory itself or else its ``subdir``.

    Parameters
    ----------
    directory : str or os.PathLike or None
        The data directory; None reads ``$MEANFIELD_DATA``.
    subdir : str
        The data set's standard sub-folder, e.g. "mnist".
    names : sequence of sequence of str
        One entry per file; each lists the accepted spellings (e.g. with and without ``.gz``).
    dataset : str
        The data set's name, for error messages.

    Returns
    -------
    list of pathlib.Path
        The found files, in the order of ``names``, all from the same folder.

    Raises
    ------
    DataNotFoundError
        No directory given and ``$MEANFIELD_DATA`` unset, the directory is missing, a
        folder holds only some of the files, or the files are in neither the directory
        nor its ``subdir``; the message lists the expected names and where to put them.
    """
    expected = ", ".join(alts[0] for alts in names)
    if directory is None:
        directory = os.environ.get(ENV_VAR)
        if not directory:
            raise DataNotFoundError(
                f"no {dataset} directory given: pass one (--data DIR) or set ${ENV_VAR} to a folder holding "
                f"{subdir}/ with {expected}")
    base = pathlib.Path(directory).expanduser()
    if not base.is_dir():
        raise DataNotFoundError(f"{dataset} directory {base} does not exist; put {expected} in it "
                                f"(or in {base / subdir})")
    for folder in (base, base / subdir):
        found = [next((folder / n for n in alts if (folder / n).is_file()), None) for alts in names]
        if all(found):
            return found
        if any(found):
            missing = [alts[0] for alts, f in zip(names, found) if f is None]
            raise DataNotFoundError(f"{dataset} files missing in {folder}: {', '.join(missing)} "
                                    f"(expected {expected}, gzipped or not)")
    raise DataNotFoundError(f"no {dataset} files in {base} or {base / subdir}: expected {expected}")
