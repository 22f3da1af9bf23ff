"""Compile the machinery ahead of use (``meanfield cache build``), in parallel processes.

The machinery (:mod:`meanfield.kernels.fragments`) compiles once per installation: every phi
shares its machine code, and only phi's own four callbacks compile for a new nonlinearity
(:func:`meanfield.kernels.module_source`).  Numba compiles an entry point when it is first
called, one after another; :func:`build` instead calls each entry point once on a small problem,
spreading them over processes (Numba's compiler is single-threaded), so that the one-time cost
is paid up front and in about half the time on two cores.  Afterwards nothing compiles while a
user waits, except a new phi's callbacks (well under a second).

Entry points are the kernels that Python calls (:data:`ENTRY_POINTS`); the argument types here
are those of their callers (:mod:`meanfield.quadrature`, :mod:`meanfield.phase`,
:mod:`meanfield.kernels.tables`), so the compiled signatures are the ones they use
(``tests/test_kernel_cache.py`` checks that nothing compiles after a build).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import NamedTuple

import numpy as np

from ..codes import N_PHASE_FIELDS, Kind, LayerField, NestedField, Order

#: The nonlinearity the entry points are called with (any phi gives the same machine code).
WARMUP_PHI = "tanh"


def _calls(K) -> dict:
    """Entry point name -> a call of it with the argument types its Python callers use."""
    W, T = K.workspace(), K.no_table()
    one = np.ones(1)
    return {
        "expect1": lambda: K.expect1(Kind.PHI2, 0.0, 1.0, 1e-10, 1e-15),
        "expect2": lambda: K.expect2(Order.PHI, Order.PHI, False, 1.0, 1.0, 0.5, 0.5, 1e-10),
        "length_map": lambda: K.length_map(W, T, 2.0, 0.1, 1.0, 1e-10),
        "q_star": lambda: K.q_star(W, T, 2.0, 0.1, 1.0, 1e-10),
        "fixed_point_between": lambda: K.fixed_point_between(W, T, 2.0, 0.1, 0.1, 10.0, 1e-10),
        "convergence_depth": lambda: K.convergence_depth(W, T, 2.0, 0.1, 1.0, 1.0, 0.01, 10, 1e-10),
        "c_star_and_chi": lambda: K.c_star_and_chi(W, T, 2.0, 1.0, 1.2, 1e-10),
        "c_star_nested": lambda: K.c_star_nested(2.0, 1.0, 1.2, 1e-10, 0.5),
        "critical_roots": lambda: K.critical_roots(W, T, 0.01, 1e-10, np.empty(K.CRIT_MAX_ROOTS)),
        "phase_block": lambda: K.phase_block(T, one * 2.0, one * 0.01, 1.0, 0.01, 1e-10, True,
                                             np.empty((1, 1, N_PHASE_FIELDS)), 0, 1),
        "stable_below_block": lambda: K.stable_below_block(T, one * 2.0, one * 0.01, 1.0, 1e-10,
                                                           np.zeros(1, dtype=np.int64), 0, 1),
        "c_star_nested_block": lambda: K.c_star_nested_block(one * 2.0, one, one * 1.2, 1e-10, one * 0.5,
                                                             np.empty((1, len(NestedField))), 0, 1),
        "layer_block": lambda: K.layer_block(T, one * 2.0, one * 0.01, one, one * 0.5, 1e-10,
                                             np.empty((1, len(LayerField))), 0, 1),
        "tab_sample_block": lambda: K.tab_sample_block(one, False, np.empty((1, 4)), np.empty((1, 4)),
                                                       np.zeros(1, dtype=np.int64), 0, 1),
    }


#: The kernels Python calls, in the order :func:`build` compiles them: the groups of a stage in
#: parallel processes, one stage after the other.  The first stage splits the one-dimensional
#: kernels from the two-dimensional ones (few shared functions, so little is compiled twice); the
#: second stage's kernels call both and find them in the cache.
STAGES = ((("expect1", "length_map", "q_star", "fixed_point_between", "convergence_depth", "critical_roots",
            "stable_below_block", "tab_sample_block"),
           ("expect2", "c_star_nested", "c_star_nested_block", "c_star_and_chi")),
          (("layer_block", "phase_block"),))
ENTRY_POINTS = tuple(name for stage in STAGES for group in stage for name in group)


class BuildReport(NamedTuple):
    """What :func:`build` did."""
    seconds: float            # wall-clock time of the whole build
    processes: int            # how many processes compiled in parallel
    entry_points: int         # kernels compiled (or found in the cache)


def compile_entry_points(names) -> float:
    """Call each named entry point once in this process (compiling it unless the disk cache has it).

    Parameters
    ----------
    names : iterable of str
        Names from :data:`ENTRY_POINTS`.

    Returns
    -------
    float
        Wall-clock seconds taken.
    """
    from ..nonlinearity import Nonlinearity
    from . import kernels_for

    start = time.perf_counter()
    calls = _calls(kernels_for(Nonlinearity(WARMUP_PHI)))
    for name in names:
        calls[name]()
    return time.perf_counter() - start


def build(processes: int = 2, stream=None) -> BuildReport:
    """Compile every entry point of the machinery, in up to ``processes`` processes, and mark it built.

    Parameters
    ----------
    processes : int
        Processes compiling at once (1: in this process, one after another).
    stream : file-like, optional
        Where to write one progress line (default: nothing).

    Returns
    -------
    BuildReport
        Wall-clock seconds, processes used and the number of entry points.
    """
    from . import cache_dir, configured_cache_dir, mark_machinery_built

    start = time.perf_counter()
    if stream is not None:
        stream.write(f"meanfield: compiling the quadrature machinery in {max(1, processes)} processes "
                     f"(once per installation, shared by every phi) ...")
        stream.flush()
    workers = max(1, min(int(processes), max(len(stage) for stage in STAGES)))
    if cache_dir() != configured_cache_dir():
        workers = 1      # a per-process temporary cache (unwritable configured one): share nothing
    if workers == 1:
        compile_entry_points(ENTRY_POINTS)
    else:
        for stage in STAGES:
            # fresh interpreters (not multiprocessing): nothing of the caller's __main__ is re-run
            procs = [subprocess.Popen([sys.executable, "-m", __name__, *group], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, env=dict(os.environ))
                     for group in stage]
            for p, group in zip(procs, stage):
                _, err = p.communicate()
                if p.returncode != 0:
                    raise RuntimeError(f"compiling {', '.join(group)} failed (exit {p.returncode}): "
                                       f"{err.strip()[-2000:]}")
    mark_machinery_built()
    seconds = time.perf_counter() - start
    if stream is not None:
        stream.write(f" done in {seconds:.1f} s\n")
        stream.flush()
    return BuildReport(seconds, workers, len(ENTRY_POINTS))


if __name__ == "__main__":          # one group of a parallel build (see build)
    compile_entry_points(sys.argv[1:])
