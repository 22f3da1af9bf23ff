"""Compiled quadrature kernels: one machinery for every phi, and a small module per phi, cached on disk.

Two kinds of generated module live in the cache directory (``$MEANFIELD_CACHE_DIR/kernels``,
default ``~/.cache/meanfield/kernels``), imported and compiled by Numba with ``cache=True`` so
that later processes reuse the machine code:

* the **machinery** (:func:`machinery_source`): the algorithms of
  :mod:`meanfield.kernels.fragments` concatenated (real modules; their imports of each other
  are dropped).  Every kernel takes the nonlinearity as its first argument ``P``, a
  :class:`meanfield.codes.PhiCode` holding the addresses of phi's compiled functions, so the
  machinery has one type signature for all phi and compiles once per installation (lazily,
  kernel by kernel, or all at once by ``meanfield cache build``: :mod:`.warmup`);
* one module **per phi** (:func:`module_source`): phi and its first three derivatives as
  printed by sympy (:meth:`meanfield.Nonlinearity.scalar_code`), compiled as C callbacks, and
  the kinks.  This is all that compiles for a new nonlinearity (about half a second).

A file is only rewritten when its content changes, so Numba's cache stays valid.  Python code
reaches the kernels through :class:`BoundKernels` (the machinery with one phi bound) and the
typed facade :class:`meanfield.quadrature.Kernels`.

Robustness: a cache directory that cannot be written (read-only ``$HOME`` or
``$MEANFIELD_CACHE_DIR``) is replaced by a temporary directory for this process, with
one warning.  Module files are written to a unique temporary name and renamed into
place (atomic), so processes compiling the same phi at once never see a half-written
file; Numba writes its own cache files the same way.  Modules of another template
version (``nl_<key>_<other hash>``) are pruned when a new module is written, once they are a
week old (another installed version may still be using them).
"""
from __future__ import annotations

import ast
import atexit
import functools
import hashlib
import importlib.util
import itertools
import os
import pathlib
import shutil
import sys
import tempfile
import threading
import time
import types
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from .fragments import ORDER as _FRAGMENTS

#: What a fragment may import besides the stub phi, meanfield.codes and other fragments: exactly
#: what the generated header provides.
_HEADER_IMPORTS = ("import math", "import numpy as np", "from llvmlite import ir", "from numba import njit, types",
                   "from numba.extending import intrinsic")
_codes_used: set = set()     # names the fragments import from meanfield.codes (the header imports them)


def _imported(node) -> set:
    """(module, name, bound as) of every name an import statement binds."""
    module = getattr(node, "module", None)
    return {(module, a.name, a.asname or a.name.split(".")[0]) for a in node.names}


_HEADER_NAMES = set().union(*(_imported(ast.parse(line).body[0]) for line in _HEADER_IMPORTS))


def _fragment_body(name: str) -> str:
    """Source of fragment ``name`` without its imports (the generated header provides them)."""
    src = (pathlib.Path(__file__).parent / "fragments" / f"{name}.py").read_text()
    lines = src.splitlines()
    drop = set()
    for node in ast.parse(src).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = ast.get_source_segment(src, node)
            if not (getattr(node, "level", 0) >= 1 or _imported(node) <= _HEADER_NAMES):
                raise RuntimeError(f"kernel fragment {name}.py imports {text!r}; fragments may import only "
                                   f"{', '.join(_HEADER_IMPORTS)}, meanfield.codes and each other")
            if isinstance(node, ast.ImportFrom) and node.level == 3 and node.module == "codes":
                _codes_used.update(a.name for a in node.names)
            drop.update(range(node.lineno - 1, node.end_lineno))
    body = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n")
    return f"# {'=' * 30} fragment {name} {'=' * (60 - len(name))}\n{body}\n"


@functools.cache
def _template() -> tuple[str, str]:
    """(the algorithm common to every phi: the fragments in dependency order, its short hash).

    Built on first use, not at import (parsing the fragments takes ~0.1 s)."""
    text = "\n\n".join(_fragment_body(n) for n in _FRAGMENTS)
    # Numba freezes the values of meanfield.codes into the machine code, and its cache only looks at
    # the generated file: codes.py is hashed too, so that a change there compiles afresh
    codes = (pathlib.Path(__file__).parent.parent / "codes.py").read_text()
    return text, hashlib.sha256((text + codes).encode()).hexdigest()[:10]


def __getattr__(name: str):
    if name == "_TEMPLATE":
        return _template()[0]
    if name == "_TEMPLATE_HASH":
        return _template()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CacheDirWarning(UserWarning):
    """The kernel cache directory cannot be written; a temporary one is used instead."""


class CacheInfo(NamedTuple):
    """What ``meanfield cache info`` reports."""
    path: pathlib.Path
    modules: int          # generated kernel modules of this version
    stale: int            # modules of other template versions (pruned once a week old)
    files: int            # every file, Numba's machine code included
    bytes: int


_fallback: dict = {}      # configured directory -> temporary directory used instead (per process)
_fallback_lock = threading.Lock()


def configured_cache_dir() -> pathlib.Path:
    """The kernel directory as configured, whether or not it can be written.

    Returns
    -------
    pathlib.Path
        ``$MEANFIELD_CACHE_DIR/kernels`` if that variable is set, else ``~/.cache/meanfield/kernels``.
    """
    root = os.environ.get("MEANFIELD_CACHE_DIR")
    path = pathlib.Path(root) if root else pathlib.Path.home() / ".cache" / "meanfield"
    return path / "kernels"


def cache_dir() -> pathlib.Path:
    """Where generated kernel modules (and Numba's cache of them) live.

    Returns
    -------
    pathlib.Path
        The configured directory (:func:`configured_cache_dir`) if it can be created and
        written; else a temporary directory, removed at exit, with one
        :class:`CacheDirWarning` per process (kernels then compile in every process).
    """
    wanted = configured_cache_dir()
    with _fallback_lock:
        if wanted in _fallback:
            return _fallback[wanted]
        problem = _unwritable(wanted)
        if problem is None:
            return wanted
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="meanfield-kernels-"))
        atexit.register(shutil.rmtree, tmp, True)
        _fallback[wanted] = tmp
    warnings.warn(f"kernel cache {wanted} is not writable ({problem}); compiling into {tmp} for this "
                  f"process only (set MEANFIELD_CACHE_DIR to a writable directory to keep kernels)",
                  CacheDirWarning, stacklevel=2)
    return tmp


def _unwritable(directory: pathlib.Path) -> str | None:
    """Why ``directory`` cannot hold the cache, or None if it can."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return err.strerror or str(err)
    return None


#: The C signature of phi and its derivatives as the kernels call them.
PHI_SIGNATURE = "float64(float64)"
#: Key of the machinery module among the kernel files (phi keys are hex digests: no clash).
MACHINERY = "machinery"
#: Numba event kind raised around loading a phi module (its callbacks compile then, or load from the cache).
PHI_EVENT = "meanfield:phi"


def machinery_source() -> str:
    """Source of the machinery module: the fragments, common to every phi (compiled once).

    Returns
    -------
    str
        A header of imports (``math``, ``numpy``, ``numba``, ``llvmlite`` and the names of
        :mod:`meanfield.codes` the fragments use), then the fragments of
        :data:`meanfield.kernels.fragments.ORDER` without their imports.
    """
    header = [
        "# Generated by meanfield.kernels: the quadrature machinery, common to every phi.",
        "# Do not edit: rewritten whenever a fragment or meanfield/codes.py changes.",
        *_HEADER_IMPORTS,
        f"from meanfield.codes import {', '.join(sorted(_codes_used))}",
        "",
    ]
    return "\n".join(header) + "\n\n" + _template()[0]


def module_source(nonlinearity) -> str:
    """Source of the module of ``nonlinearity``: phi and its derivatives as C callbacks, and ``PHI``.

    Only these four small functions compile for a new phi; the machinery takes ``PHI``
    (a :class:`meanfield.codes.PhiCode`) as its first argument and calls them through pointers.
    Floating-point errors follow IEEE (``error_model="numpy"``: 1/0 is inf, which the
    kernels report as a non-finite integrand) because a C callback cannot raise.

    Parameters
    ----------
    nonlinearity : Nonlinearity
        Supplies phi, phi', phi'', phi''' printed by sympy (:meth:`Nonlinearity.scalar_code`),
        its kinks and whether phi''' has a Dirac delta.

    Returns
    -------
    str
        Python source defining ``phi``, ``dphi``, ``d2phi``, ``d3phi`` (Numba ``cfunc`` of
        signature ``float64(float64)``, cached on disk) and ``PHI``.
    """
    code = nonlinearity.scalar_code()
    kinks = tuple(float(k) for k in nonlinearity.kinks)
    lines = [
        f"# Generated by meanfield.kernels for phi(x) = {nonlinearity.pw}",
        "# Do not edit: rewritten whenever phi's printed code changes.",
        "import math",
        "",
        "from numba import cfunc",
        "",
        "from meanfield.codes import PhiCode",
        "",
    ]
    for name in ("phi", "dphi", "d2phi", "d3phi"):
        lines += ["", f"@cfunc({PHI_SIGNATURE!r}, cache=True, error_model='numpy')", code[name], ""]
    lines += ["", f"PHI = PhiCode.of(phi, dphi, d2phi, d3phi, {kinks!r}, smooth3={not nonlinearity.delta_in_d3!r})", ""]
    return "\n".join(lines)


def _load(key: str, source: str, label: str = "") -> types.ModuleType:
    directory = cache_dir()
    path = directory / f"nl_{key}_{_template()[1]}.py"
    if not path.exists() or path.read_text() != source:
        # a unique temporary name per writer (process and thread), then an atomic rename:
        # readers see the old file or the new one, never a mixture
        fd, tmp = tempfile.mkstemp(prefix=f".nl_{key}_", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(source)
            os.replace(tmp, path)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
        prune_cache(directory)
    name = f"meanfield_kernels_{key}_{_template()[1]}"
    label = label or key
    label = label if len(label) <= 60 else label[:50] + "..."
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        if key == MACHINERY:          # its kernels compile lazily, and say so through Numba's events
            spec.loader.exec_module(module)
        else:                         # phi's C callbacks compile (or load) right here
            from numba.core import event
            with event.trigger_event(PHI_EVENT, data={"module": module, "label": label}):
                spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]    # never leave a half-initialised module to be found by key
        raise
    return module


def _kernel_files(directory: pathlib.Path):
    """(path, template hash or None) of every file meanfield put in ``directory``."""
    out = []
    for p in list(directory.glob("nl_*")) + list(directory.glob("__pycache__/nl_*")) + \
            list(directory.glob(".nl_*.tmp")):
        stem = p.name.split(".")[0]                      # nl_<key>_<hash>
        parts = stem.split("_")
        out.append((p, parts[2] if len(parts) >= 3 and not p.name.startswith(".") else None))
    return out


#: Files of another template version are pruned once this old: two meanfield versions sharing a
#: cache (two checkouts, two virtual environments) must not delete each other's fresh kernels.
STALE_AFTER_S = 7 * 86400.0
#: Temporary files of writers that crashed; a younger one may be being written now.
TMP_AFTER_S = 3600.0


def prune_cache(directory=None, stale_after_s: float = STALE_AFTER_S, tmp_after_s: float = TMP_AFTER_S) -> int:
    """Delete kernel files of other template versions, and temporary files left by crashed writers.

    Runs whenever a new kernel module is written.

    Parameters
    ----------
    directory : path-like, optional
        The kernel directory (default :func:`cache_dir`).
    stale_after_s : float
        Age in seconds after which files of another template version are removed (another
        installed version of meanfield may still use younger ones).
    tmp_after_s : float
        Age after which temporary files of writers that crashed are removed.

    Returns
    -------
    int
        The number of files removed.
    """
    directory = pathlib.Path(directory) if directory is not None else cache_dir()
    removed = 0
    now = time.time()
    for p, version in _kernel_files(directory):
        try:
            age = now - p.stat().st_mtime
            if (version is None and age > tmp_after_s) or \
                    (version is not None and version != _template()[1] and age > stale_after_s):
                p.unlink()
                removed += 1
        except OSError:  # another process pruned it first, or it is not ours to remove
            pass
    return removed


def cache_info(directory=None) -> CacheInfo:
    """Where the kernel cache is and how much it holds (see ``meanfield cache info``).

    Parameters
    ----------
    directory : path-like, optional
        The kernel directory (default :func:`configured_cache_dir`).

    Returns
    -------
    CacheInfo
        Its path, the generated modules of this version (phi modules and the machinery) and
        of other versions, the number of files (Numba's machine code included) and their bytes.
    """
    directory = pathlib.Path(directory) if directory is not None else configured_cache_dir()
    files = [p for p in directory.rglob("*") if p.is_file()] if directory.is_dir() else []
    versions = [v for p, v in _kernel_files(directory) if p.suffix == ".py" and p.parent == directory]
    return CacheInfo(path=directory, modules=sum(v == _template()[1] for v in versions),
                     stale=sum(v is not None and v != _template()[1] for v in versions), files=len(files),
                     bytes=sum(p.stat().st_size for p in files))


def clear_cache(directory=None) -> int:
    """Delete every file meanfield put in the kernel cache.

    Parameters
    ----------
    directory : path-like, optional
        The kernel directory (default :func:`configured_cache_dir`).

    Returns
    -------
    int
        How many files were removed (0 if the directory does not exist).
    """
    directory = pathlib.Path(directory) if directory is not None else configured_cache_dir()
    if not directory.is_dir():
        return 0
    removed = 0
    for p, _ in _kernel_files(directory):
        try:
            p.unlink()
            removed += 1
        except OSError:
            pass
    return removed


# --- progress while Numba compiles (off unless enable_compile_progress is called) ---------



def enable_compile_progress(stream=None):
    """Write a line to ``stream`` when kernels compile, and the time when done.

    Only actual compilations are reported: Numba raises no compile event when it loads
    machine code from its cache, and a phi module is reported only when its callbacks
    were compiled (not loaded).

    Parameters
    ----------
    stream : file-like, optional
        Where to write (default ``sys.stderr`` at the time of writing).

    Returns
    -------
    numba.core.event.Listener
        The listener, registered for Numba's compile events and :data:`PHI_EVENT`; pass it to
        :func:`disable_compile_progress`.
    """
    from numba.core import event

    class Listener(event.Listener, _CompileProgress):
        def on_start(self, ev):
            self._report(ev)

        def on_end(self, ev):
            self._report(ev)

    listener = Listener(stream)
    event.register("numba:compile", listener)
    event.register(PHI_EVENT, listener)
    return listener


def disable_compile_progress(listener) -> None:
    """Stop the reports of :func:`enable_compile_progress`.

    Parameters
    ----------
    listener : numba.core.event.Listener
        What :func:`enable_compile_progress` returned.
    """
    from numba.core import event
    event.unregister("numba:compile", listener)
    event.unregister(PHI_EVENT, listener)


class _CompileProgress:
    """Numba event listener: reports the outermost compilation of a kernel module's function."""

    def __init__(self, stream=None):
        self.stream = stream
        self.depth = 0
        self.start = 0.0
        self.phi_start = 0.0

    def _module(self, ev):
        disp = (ev.data or {}).get("dispatcher")
        return getattr(getattr(disp, "py_func", None), "__module__", "") or ""

    def _report(self, ev):
        stream = self.stream or sys.stderr
        if ev.kind == PHI_EVENT:
            if ev.is_start:
                self.phi_start = time.perf_counter()
            elif getattr(getattr(ev.data["module"], "phi", None), "cache_hits", 1) == 0:   # compiled, not loaded
                stream.write(f"meanfield: compiled phi = {ev.data['label']} and its derivatives (first use, "
                             f"cached afterwards) in {time.perf_counter() - self.phi_start:.1f} s\n")
                stream.flush()
            return
        if not self._module(ev).startswith("meanfield_kernels_") and self.depth == 0:
            return
        if ev.is_start:
            self.depth += 1
            if self.depth == 1:
                self.start = time.perf_counter()
                func = getattr(ev.data["dispatcher"].py_func, "__name__", "?")
                stream.write(f"meanfield: compiling the quadrature machinery ({func}; once per installation, "
                             f"shared by every phi) ...")
                stream.flush()
        else:
            self.depth = max(0, self.depth - 1)
            if self.depth == 0:
                stream.write(f" done in {time.perf_counter() - self.start:.1f} s\n")
                stream.flush()


class BoundKernels:
    """The machinery with one phi plugged in: ``K.f(*args)`` calls ``machinery.f(K.phi_code, *args)``.

    What :func:`kernels_for` returns, used like a module: kernels whose first parameter is the
    nonlinearity ``P`` get it bound; constants and phi-free kernels are the machinery's own.
    """

    def __init__(self, machinery: types.ModuleType, phi_code, label: str):
        self.machinery = machinery
        #: the :class:`meanfield.codes.PhiCode` passed to every kernel
        self.phi_code = phi_code
        self.label = label

    def __repr__(self) -> str:
        return f"BoundKernels({self.label!r})"

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self.machinery, name)
        py_func = getattr(value, "py_func", None)
        if py_func is not None and py_func.__code__.co_varnames[:1] == ("P",):
            value = functools.partial(value, self.phi_code)
        self.__dict__[name] = value          # looked up once
        return value


def _built_marker() -> pathlib.Path:
    return cache_dir() / f"nl_{MACHINERY}_{_template()[1]}.built"


def machinery_built() -> bool:
    """Whether :func:`meanfield.kernels.warmup.build` has compiled this version's machinery into the cache.

    Returns
    -------
    bool
        True if the marker file of this template version exists in :func:`cache_dir`.
    """
    return _built_marker().exists()


def mark_machinery_built() -> None:
    """Record that every entry point of this version's machinery is in the cache."""
    _built_marker().touch()


def machinery() -> types.ModuleType:
    """The machinery module, common to every phi (generated, imported and kept for the process).

    Its kernels compile at their first call unless the disk cache has them
    (``meanfield cache build`` compiles all of them at once).

    Returns
    -------
    types.ModuleType
        The module built from :func:`machinery_source`.
    """
    return _loaded(MACHINERY) or _load(MACHINERY, machinery_source(), "the quadrature machinery")


def kernels_for(nonlinearity) -> BoundKernels:
    """The compiled kernels of ``nonlinearity``: the machinery with its phi plugged in.

    Parameters
    ----------
    nonlinearity : Nonlinearity
        The nonlinearity; its module (:func:`module_source`) is built once per process and key.

    Returns
    -------
    BoundKernels
        Kernels called like a module's functions, with phi's :class:`meanfield.codes.PhiCode`
        passed as their first argument.
    """
    # the key names phi exactly, so the (sympy-printed) source is generated once per key
    phi_module = _loaded(nonlinearity.key) or _load(nonlinearity.key, module_source(nonlinearity),
                                                     nonlinearity.name)
    return BoundKernels(machinery(), phi_module.PHI, nonlinearity.name)


def _loaded(key: str) -> types.ModuleType | None:
    return sys.modules.get(f"meanfield_kernels_{key}_{_template()[1]}")


def run_blocks(kernel, n: int, *args, blocks_per_thread: int = 16) -> None:
    """Run ``kernel(*args, start, stop)`` over [0, n) in blocks, on one thread per core.

    The kernels release the GIL (``nogil=True``), so the threads run in parallel; many
    small blocks balance points of very different cost.  (Numba's ``parallel=True`` would
    do the same but more than doubles the compile time of a kernel.)

    Parameters
    ----------
    kernel : callable
        A block kernel taking ``(*args, start, stop)`` and writing its results into arrays in ``args``.
    n : int
        Number of points.
    *args
        The kernel's arguments before the block range.
    blocks_per_thread : int
        Blocks per thread (default 16).
    """
    threads = max(1, min(os.cpu_count() or 1, n))
    n_blocks = max(1, min(n, threads * blocks_per_thread))
    edges = [n * b // n_blocks for b in range(n_blocks + 1)]
    if threads == 1:
        for a, b in itertools.pairwise(edges):
            kernel(*args, a, b)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(kernel, *args, a, b) for a, b in itertools.pairwise(edges) if b > a]:
            f.result()
