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
    """Canonical JSON of one parameter set: sorted keys, no whitespace."""
    plain = {str(k): _plain(v, str(k)) for k, v in params.items()}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def task_key(params: Mapping[str, Any]) -> str:
    """The task's key in the store: 32 hex digits of SHA-256 of :func:`canonical`."""
    return hashlib.sha256(canonical(params).encode()).hexdigest()[:32]


def task_seed(params: Mapping[str, Any], base_seed: int = 0) -> int:
    """The task's random seed in [0, 2^63), derived from its parameters and the sweep's ``base_seed``.

    SHA-256 of ``"seed:<base_seed>:" + canonical(params)``; the first 8 bytes, big
    endian, with the top bit cleared (so it fits a signed 64-bit SQLite integer and
    ``numpy.random.default_rng``).
    """
    digest = hashlib.sha256(f"seed:{int(base_seed)}:{canonical(params)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2 ** 63 - 1)


@dataclass(frozen=True)
class Grid:
    """An ordered tuple of parameter sets (dicts of keyword parameters).

    Build with :meth:`product` (every combination of lists) or :meth:`rows`
    (explicit parameter sets); ``a + b`` concatenates.  Duplicated parameter sets
    are dropped (the first is kept): a task is its parameters.
    """

    params: tuple[Mapping[str, Any], ...]

    @classmethod
    def product(cls, **lists: Iterable) -> Grid:
        """Every combination of the given lists, the last name varying fastest.

        ``Grid.product(width=[100, 1000], replicate=range(3))`` has 6 parameter sets.
        A scalar (not a list, tuple or range) counts as a one-element list.
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
        """Explicit parameter sets, in order."""
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
        """Parameter names, in first-seen order."""
        return list(dict.fromkeys(k for row in self.params for k in row))


def as_grid(grid) -> Grid:
    """A :class:`Grid` from a Grid, a dict of lists (product) or a sequence of dicts (rows)."""
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
