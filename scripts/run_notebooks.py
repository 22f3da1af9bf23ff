"""Execute the notebooks headless, in quick or full mode, and keep the executed copies.

    python scripts/run_notebooks.py --quick                 # every notebook, small sizes (minutes)
    python scripts/run_notebooks.py --full poole_fig1       # one notebook at the papers' sizes
    python scripts/run_notebooks.py --full --write-figures  # also refresh docs/figures/*.png

Needs the ``notebooks`` extra (``pip install -e '.[notebooks]'``: nbclient drives a real IPython kernel, so a
notebook runs exactly as in Jupyter, magics included).  The mode reaches the notebooks through the environment
variables they read: ``MEANFIELD_QUICK=1`` (quick) or ``0`` (full), and ``MEANFIELD_WRITE_FIGURES=1`` only with
``--write-figures``, so a run never overwrites docs/figures unless asked.  Figures stay inline in the executed
copies (``--out``, default ``out/notebooks/``), in quick mode too.  Training notebooks need MNIST in full mode
(``$MEANFIELD_DATA``, see docs/training.md).  Exit status: 0 all ran, 1 a notebook failed (one line each,
naming the cell), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def notebook_paths(names: list[str]) -> list[pathlib.Path]:
    """Notebooks named (a stem or file name in notebooks/, or a path to an .ipynb file; all of notebooks/ when
    none), in order; ValueError names an unknown one."""
    available = {p.stem: p for p in sorted(NOTEBOOKS.glob("*.ipynb"))}
    if not names:
        return list(available.values())
    paths = []
    for name in names:
        if name.endswith(".ipynb") and pathlib.Path(name).is_file():
            paths.append(pathlib.Path(name).resolve())
            continue
        stem = pathlib.Path(name).name.removesuffix(".ipynb")
        if stem not in available:
            raise ValueError(f"no notebook {name!r} in notebooks/; choose from: {', '.join(available)}")
        paths.append(available[stem])
    return paths


def kernel_environment(quick: bool, write_figures: bool) -> dict[str, str]:
    """Variables the notebooks read; the inline backend so that figures land in the executed copy."""
    return {
        "MEANFIELD_QUICK": "1" if quick else "0",
        "MEANFIELD_WRITE_FIGURES": "1" if write_figures else "0",
        "MPLBACKEND": INLINE_BACKEND,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def count_figures(nb) -> int:
    return sum("image/png" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def run_one(path: pathlib.Path, out_dir: pathlib.Path, timeout: int):
    """Execute one notebook in its own folder (so its relative paths hold); write the executed copy; return
    (executed path, number of figures, error line or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and any(o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
        error = f"cell {failed}: {exc.ename}: {exc.evalue}".splitlines()[0]
    except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:  # timeout, crash, kernel never started
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / path.name
    nbformat.write(nb, executed)
    return executed, count_figures(nb), error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python scripts/run_notebooks.py",
                                     description="Execute the notebooks headless (quick or full mode).")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="small sizes, seconds to a minute per notebook")
    mode.add_argument("--full", action="store_true", help="the papers' sizes (the figures in docs/figures)")
    parser.add_argument("--write-figures", action="store_true",
                        help="save each figure into docs/figures (full mode only)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "out" / "notebooks",
                        help="folder for the executed notebooks (default: out/notebooks)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell (default 3600)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="notebooks to run (default: all)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def usage_error(message: str) -> int:
        print(f"run_notebooks: {message}", file=sys.stderr)
        return 2

    if args.write_figures and args.quick:
        return usage_error("--write-figures needs --full: quick-mode figures must not replace docs/figures")
    if args.timeout <= 0:
        return usage_error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
    except ImportError as exc:
        return usage_error(f"needs the notebooks extra ({exc.name} is missing): pip install -e '.[notebooks]'")
    try:
        paths = notebook_paths(args.names)
    except ValueError as exc:
        return usage_error(str(exc))

    os.environ.update(kernel_environment(args.quick, args.write_figures))
    failures = 0
    mode = "quick" if args.quick else "full"
    for k, path in enumerate(paths, 1):
        print(f"[{k}/{len(paths)}] {path.name} ({mode}) ...", flush=True)
        start = time.perf_counter()
        executed, n_figures, error = run_one(path, args.out, args.timeout)
        took = time.perf_counter() - start
        if error:
            failures += 1
            print(f"    FAILED after {took:.1f} s in {error} (executed copy: {executed})", flush=True)
        else:
            print(f"    ok in {took:.1f} s, {n_figures} figure(s) -> {executed}", flush=True)
    print(f"{len(paths) - failures} ran, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
