"""Grids of parameter sets, their canonical form, task keys and derived seeds.

A task is identified by its parameters alone: the canonical JSON of the parameter
dict (keys sorted, no spaces, numpy scalars and tuples turned into JSON numbers and
lists) is hashed with SHA-256.  The first 128 bits are the task's key in the store;
an independent 63-bit slice of a second hash is its seed.  Neither depends on the
worker, the order in which tasks finish, the Python process (no ``hash()``, which
is salted per process) or the machine, so the same grid gives the same numbers
serially, on two workers or on a cluster.

Note that ``1`` and ``1.0`` are different parameters (canonical JSON ``1`` and
``1.0``): keep a parameter's type fixed across runs that share a store.
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import SweepError

#: Scalar parameter types (canonical JSON values).
_SCALARS = (bool, int, float, str, type(None))


def _plain(value: Any, name: str) -> Any:
    """A JSON-ready copy of one parameter value (numpy scalars to Python, tuples to lists)."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar / 0-d array
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise SweepError(f"parameter {name!r} is {value}; parameters must be finite numbers, strings, "
                         "booleans, None or lists of them")
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    raise SweepError(f"parameter {name!r} has type {type(value).__name__}; parameters must be numbers, "
                     "strings, booleans, None or lists of them (they are stored as JSON)")


def canonical(params: Mapping[str, Any]) -> str:
    """Canonical JSON of one parameter set: sorted keys, no whitespace.

    Numpy scalars become Python numbers and tuples become lists, so equal parameter
    sets give equal strings in every process and on every machine.

    Parameters
    ----------
    params : mapping of str to parameter value
        One parameter set; values are finite numbers, strings, booleans, None or
        (nested) lists/tuples of them.

    Returns
    -------
    str
        ``json.dumps`` with sorted keys, separators ``","`` and ``":"``, ASCII only.

    Raises
    ------
    SweepError
        If a value is a non-finite float or of another type (it could not be stored as JSON).
    """
    plain = {str(k): _plain(v, str(k)) for k, v in params.items()}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def task_key(params: Mapping[str, Any]) -> str:
    """The task's key in the store: 32 hex digits of SHA-256 of :func:`canonical`.

    Parameters
    ----------
    params : mapping of str to parameter value
        One parameter set (see :func:`canonical`).

    Returns
    -------
    str
        The first 32 hexadecimal digits (128 bits) of the SHA-256 digest of the canonical JSON.

    Raises
    ------
    SweepError
        If a parameter value cannot be stored as JSON (see :func:`canonical`).
    """
    return hashlib.sha256(canonical(params).encode()).hexdigest()[:32]


def task_seed(params: Mapping[str, Any], base_seed: int = 0) -> int:
    """The task's random seed in [0, 2^63), derived from its parameters and the sweep's ``base_seed``.

    SHA-256 of ``"seed:<base_seed>:" + canonical(params)``; the first 8 bytes, big
    endian, with the top bit cleared (so it fits a signed 64-bit SQLite integer and
    ``numpy.random.default_rng``).

    Parameters
    ----------
    params : mapping of str to parameter value
        One parameter set (see :func:`canonical`).
    base_seed : int
        The sweep's base seed, mixed into the hash; a store keeps one base seed.

    Returns
    -------
    int
        The derived seed, in [0, 2^63).

    Raises
    ------
    SweepError
        If a parameter value cannot be stored as JSON (see :func:`canonical`).
    """
    digest = hashlib.sha256(f"seed:{int(base_seed)}:{canonical(params)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2 ** 63 - 1)


@dataclass(frozen=True)
class Grid:
    """An ordered tuple of parameter sets (dicts of keyword parameters).

    Build with :meth:`product` (every combination of lists) or :meth:`rows`
    (explicit parameter sets); ``a + b`` concatenates.  Duplicated parameter sets
    are dropped (the first is kept): a task is its parameters.

    Attributes
    ----------
    params : tuple of mapping of str to parameter value
        The parameter sets, in order, without duplicates (when built by
        :meth:`product` or :meth:`rows`; the constructor does not check).
    """

    params: tuple[Mapping[str, Any], ...]

    @classmethod
    def product(cls, **lists: Iterable) -> Grid:
        """Every combination of the given lists, the last name varying fastest.

        ``Grid.product(width=[100, 1000], replicate=range(3))`` has 6 parameter sets.
        A scalar (not a list, tuple or range) counts as a one-element list.

        Parameters
        ----------
        **lists : iterable or scalar
            Values of each named parameter: a list, tuple, range or numpy array
            (anything with ``tolist``); any other value is one value.

        Returns
        -------
        Grid
            ``prod(len(values))`` parameter sets, fewer if some coincide.

        Raises
        ------
        SweepError
            If a value cannot be stored as JSON (see :func:`canonical`).
        """
        names = list(lists)
        values = []
        for name in names:
            v = lists[name]
            v = list(v) if isinstance(v, (list, tuple, range)) or hasattr(v, "tolist") else [v]
            values.append(v)
        return cls.rows([dict(zip(names, combo)) for combo in itertools.product(*values)])

    @classmethod
    def rows(cls, rows: Iterable[Mapping[str, Any]]) -> Grid:
        """Explicit parameter sets, in order.

        Parameters
        ----------
        rows : iterable of mapping of str to parameter value
            The parameter sets; each is copied into a dict.

        Returns
        -------
        Grid
            The rows in order, a repeated parameter set kept once (at its first place).

        Raises
        ------
        SweepError
            If a row is not a mapping, or a value cannot be stored as JSON.
        """
        seen, out = set(), []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise SweepError(f"grid row {i} is a {type(row).__name__}, not a dict of parameters")
            key = canonical(row)  # also checks the values
            if key not in seen:
                seen.add(key)
                out.append(dict(row))
        return cls(tuple(out))

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self):
        return iter(self.params)

    def __add__(self, other: Grid) -> Grid:
        return Grid.rows(list(self.params) + list(as_grid(other).params))

    def names(self) -> list[str]:
        """Parameter names, in first-seen order.

        Returns
        -------
        list of str
            Every name used by some parameter set, each once, in the order first met.
        """
        return list(dict.fromkeys(k for row in self.params for k in row))


def as_grid(grid) -> Grid:
    """A :class:`Grid` from a Grid, a dict of lists (product) or a sequence of dicts (rows).

    Parameters
    ----------
    grid : Grid, mapping of str to iterable, or sequence of mapping
        A Grid (returned as is), a dict of lists (:meth:`Grid.product`) or a list of
        parameter dicts (:meth:`Grid.rows`).

    Returns
    -------
    Grid
        The grid.

    Raises
    ------
    SweepError
        If ``grid`` is none of these (a string, say), or a row or value is invalid.
    """
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid.product(**grid)
    if isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        return Grid.rows(grid)
    raise SweepError(f"grid must be a Grid, a dict of lists or a list of dicts, got {type(grid).__name__}")


def check_params(fn: Callable, grid: Grid, fixed: Mapping[str, Any], name: str) -> bool:
    """Check every parameter set against ``fn``'s signature; True if ``fn`` takes ``seed``.

    Unknown names (unless ``fn`` takes ``**kwargs``) and missing required names are
    errors naming the task and the parameter.  ``replicate`` is always allowed: it
    numbers repetitions (it changes the key and the derived seed) and is passed on
    only if ``fn`` takes it.  A grid that sets ``seed`` itself overrides the
    derived seed.

    Parameters
    ----------
    fn : callable
        The task function whose signature is checked.
    grid : Grid
        The parameter sets.
    fixed : mapping of str to parameter value
        Parameters shared by every task (``fixed=`` of :func:`sim.sweeps.run_sweep`).
    name : str
        The task's name in error messages (``module:function``).

    Returns
    -------
    bool
        True if ``fn`` has a ``seed`` parameter or takes ``**kwargs`` (it is passed the derived seed).

    Raises
    ------
    SweepError
        If the grid is empty, a parameter is unknown to ``fn``, a required parameter is
        missing from both grid and ``fixed``, or a parameter is in both.
    """
    if len(grid) == 0:
        raise SweepError(f"the grid of {name} is empty: give at least one value for every parameter")
    sig = inspect.signature(fn)
    ps = sig.parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in ps.values())
    accepted = {n for n, p in ps.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} | {"replicate"}
    takes_seed = "seed" in accepted or var_kw
    required = {n for n, p in ps.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty}
    for row in grid:
        given = set(row) | set(fixed)
        unknown = sorted(given - accepted) if not var_kw else []
        if unknown:
            takes = ", ".join(sorted(accepted - {"seed", "replicate"})) or "no parameters"
            raise SweepError(f"unknown parameter {unknown[0]!r} for {name}; it takes {takes} (and replicate)")
        missing = sorted(required - given - ({"seed"} if takes_seed else set()))
        if missing:
            raise SweepError(f"parameter {missing[0]!r} of {name} is missing from the grid; add it to the "
                             "grid or to fixed=")
        both = set(row) & set(fixed)
        if both:
            raise SweepError(f"parameter {min(both)!r} is both in the grid and in fixed=; give it once")
    return takes_seed
