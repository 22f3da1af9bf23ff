"""``meanfield experiment``: run one of the training experiments and write its table and figure.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).

    meanfield experiment --list
    meanfield experiment NAME [--quick] [--out DIR] [--data DIR] [--workers K | --scheduler ADDR]

writes ``DIR/NAME.csv`` (tidy: one row per run and measurement step) and
``DIR/NAME.png``.  Exit status 0 on success, 2 on bad input (unknown experiment,
missing data directory, corrupt data file, a run that failed), with one line on
stderr and no output file written.
"""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    """Add the ``experiment`` subcommand and its options (the ``meanfield.commands`` plugin hook).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``meanfield`` console script's subcommands.
    """
    p = subparsers.add_parser(
        "experiment", help="run a training experiment (HR Figs. 3-7, Raghu Figs. 4-6, ...)",
        description="Run a training experiment of Hanin & Rolnick 2019 (hr-fig3..hr-fig7) or Raghu et al. 2017 "
                    "(raghu-fig4..6, noise-depth, trajectory-regularization) and write DIR/NAME.csv (one row per run "
                    "and measurement step) and DIR/NAME.png.  Every run is a task of the sweep engine.  MNIST comes "
                    "from --data or $MEANFIELD_DATA; CIFAR-10 is not used.")
    p.add_argument("name", nargs="?", help="experiment name (see --list)")
    p.add_argument("--list", action="store_true", help="print the experiment names and exit")
    p.add_argument("--quick", action="store_true", help="tiny size (seconds; what CI runs) instead of the full one")
    p.add_argument("--out", default=".", help="output directory (default: the current one)")
    p.add_argument("--data", default=None, help="MNIST directory (default: $MEANFIELD_DATA)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None,
                   help="worker processes of a local Dask cluster (default one per core; 0: in-process)")
    g.add_argument("--scheduler", default=None, help="address tcp://host:port of a running Dask scheduler")
    p.add_argument("--store", default=None,
                   help="SQLite sweep store to keep and resume (default: a temporary one)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def _fail(msg: str) -> int:
    print(f"meanfield experiment: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    """List the experiments, or run one and write ``DIR/NAME.csv`` and ``DIR/NAME.png``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``meanfield experiment``.

    Returns
    -------
    int
        Exit status: 0 success (or ``--list``); 2 bad input, missing or corrupt data, a
        failed run or an output that cannot be written (one line on stderr).
    """
    from ..experiments import EXPERIMENTS, get, run_experiment
    from .output import check_output_dir, write_files

    if args.list:
        for name, exp in EXPERIMENTS.items():
            print(f"{name:<28} {exp.title}")
        return 0
    if not args.name:
        return _fail("name an experiment (meanfield experiment --list shows them)")
    if args.workers is not None and args.workers < 0:
        return _fail(f"--workers must be >= 0, got {args.workers}")
    try:
        exp = get(args.name)
        out = check_output_dir(args.out, (f"{args.name}.csv", f"{args.name}.png"))
        if exp.needs_mnist:
            from ..data import load_mnist

            load_mnist(args.data)          # a missing or corrupt file fails here, before any run starts
        result = run_experiment(args.name, quick=args.quick, data=args.data, workers=args.workers,
                                scheduler=args.scheduler, store=args.store, progress=not args.quiet)
        import matplotlib

        matplotlib.use("Agg")
        fig = exp.plot(result)
    except ValueError as exc:         # every sim error is a ValueError subclass
        return _fail(str(exc))
    try:
        csv_path, png_path = write_files(out, {f"{args.name}.csv": result.table.to_csv,
                                               f"{args.name}.png": lambda p: fig.savefig(p, dpi=130)})
    except OSError as exc:
        return _fail(f"cannot write into {out}: {exc.strerror or exc}")
    print(f"{len(result.table)} rows -> {csv_path}; figure -> {png_path}")
    for k, v in result.table.notes.items():
        print(f"# {k}: {v}")
    return 0
