"""``meanfield sweep``: grids of simulations on Dask, resumable, recorded in an SQLite store.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).

``meanfield sweep run TASK -p NAME=V1,V2 ... --store PATH``
    Any importable task function (module:function) over the product of the lists.
``meanfield sweep validate PHI --sigma-w LIST --sigma-b LIST --widths LIST --depth D --seeds N --store PATH``
    Theory against simulation, one task per (sigma_w, sigma_b, width, seed).
``meanfield sweep regions --neurons LIST --depths LIST --seeds N --store PATH``
    Activation-region counts against Hanin & Rolnick's #neurons^2 / 2.
``meanfield sweep export STORE --csv FILE`` / ``plot STORE --out FILE.png`` / ``status STORE``
    Read a store (also while a sweep writes it).

Runs take ``--workers K`` (0: in-process; default one worker process per core) or
``--scheduler tcp://HOST:PORT`` (an existing Dask cluster).  Exit status 0 when every
task is done, 1 when some task failed (listed at the end; ``--retry-failed`` runs
them again), 2 on bad input (one line on stderr).
"""
from __future__ import annotations

import json
import math
import pathlib
import sys


def _value(text: str):
    """One CLI value: JSON if it parses (numbers, true/false/null, quoted strings), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _list(text: str, name: str, kind=None) -> list:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError(f"{name} needs at least one value, e.g. {name} 1,2,3")
    if kind is None:
        return [_value(t) for t in items]
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated {'integers' if kind is int else 'numbers'}, "
                         f"got {text!r}") from None


def _params(specs, name: str) -> dict:
    out = {}
    for spec in specs or []:
        key, sep, values = spec.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name} takes NAME=V1,V2,..., got {spec!r}")
        out[key.strip()] = _list(values, f"{name} {key.strip()}=")
    return out


def _add_run_options(p) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="worker processes of a local Dask cluster (default: one per core; 0: in-process)")
    where.add_argument("--scheduler", default=None, metavar="ADDR",
                       help="address of a running Dask scheduler, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--store", required=True, help="SQLite store (created, or resumed: done tasks are skipped)")
    p.add_argument("--retry-failed", action="store_true", help="run tasks recorded as failed again")
    p.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to wait for --scheduler (default 5)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def add_parser(subparsers) -> None:
    """Add the ``sweep`` subcommand and its sub-subcommands (the ``meanfield.commands`` plugin hook).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``meanfield`` console script's subcommands.
    """
    top = subparsers.add_parser(
        "sweep", help="grids of simulations on Dask, resumable, into an SQLite store",
        description="Run a task over a grid of parameters on a local or remote Dask cluster, recording every "
                    "finished task in an SQLite store (resumable, readable while it runs). See docs/sweeps.md.")
    sub = top.add_subparsers(dest="sweep_command", metavar="SWEEP_COMMAND")
    top.set_defaults(func=lambda args: _usage(top))

    r = sub.add_parser("run", help="any importable task function over a grid",
                       description="Run TASK (module:function) on the product of the -p lists (or the rows "
                                   "of --rows FILE.json, a list of objects). Each task gets a seed derived "
                                   "from its parameters.")
    r.add_argument("task", help="module:function, e.g. sim.sweeps.examples:gaussian_moments")
    r.add_argument("-p", "--param", action="append", metavar="NAME=V1,V2",
                   help="a grid axis (repeat for more; values are JSON or strings)")
    r.add_argument("--rows", default=None, metavar="FILE.json",
                   help="explicit parameter sets: a JSON list of objects (instead of, or added to, -p)")
    r.add_argument("--fixed", action="append", metavar="NAME=V", help="a parameter shared by all tasks")
    r.add_argument("--seed", type=int, default=0, help="base seed mixed into every derived seed (default 0)")
    _add_run_options(r)
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="theory against simulation across a grid (error against width)",
                       description="One task per (sigma_w, sigma_b, width, seed): one random network, circles "
                                   "propagated through it, per-quantity errors of q, c, chi1, g_E, kappa2 against "
                                   "the mean-field theory (Poole et al. 2016). Prints the error table and writes "
                                   "the error-against-width figure with the 1/sqrt(N) slope.")
    v.add_argument("phi", help="nonlinearity: a registry name (tanh, erf, ...) or an expression in x")
    v.add_argument("--sigma-w", required=True, help="comma-separated sigma_w values")
    v.add_argument("--sigma-b", required=True, help="comma-separated sigma_b values")
    v.add_argument("--widths", required=True, help="comma-separated widths N")
    v.add_argument("--depth", type=int, default=10, help="number of layers (default 10)")
    v.add_argument("--seeds", type=int, default=4, help="networks per grid point (default 4)")
    v.add_argument("--points", type=int, default=32, help="samples per circle (default 32)")
    v.add_argument("--out", default=None, help="figure file (default: the store's name with .png)")
    _add_run_options(v)
    v.set_defaults(func=_cmd_validate)

    g = sub.add_parser("regions", help="activation-region counts over architectures (Hanin & Rolnick Thm 5)",
                       description="Exact activation regions in a 2D input plane of random ReLU-type networks "
                                   "over architectures (--neurons with --depths: width = neurons / depth, the same "
                                   "#neurons at every depth; or --widths with --depths) and seeds, against "
                                   "#neurons^2 / 2 (Hanin & Rolnick 2019, Remark 1). Prints the table, writes "
                                   "the figure.")
    arch = g.add_mutually_exclusive_group(required=True)
    arch.add_argument("--neurons", help="comma-separated total #neurons; each is split evenly over every depth")
    arch.add_argument("--widths", help="comma-separated widths (every width with every depth)")
    g.add_argument("--depths", required=True, help="comma-separated numbers of hidden layers")
    g.add_argument("--seeds", type=int, default=5, help="networks per architecture (default 5)")
    g.add_argument("--phi", default="relu", help="piecewise-linear nonlinearity (default relu)")
    g.add_argument("--sigma-w", type=float, default=math.sqrt(2), help="weight std (default sqrt(2), He)")
    g.add_argument("--sigma-b", type=float, default=0.1, help="bias std (default 0.1)")
    g.add_argument("--box", default="-100,100,-100,100",
                   help="counting box s_min,s_max,t_min,t_max (write --box=-5,5,-5,5)")
    g.add_argument("--out", default=None, help="figure file (default: the store's name with .png)")
    _add_run_options(g)
    g.set_defaults(func=_cmd_regions)

    e = sub.add_parser("export", help="write a store as CSV (one row per task)",
                       description="One row per task: key, status, seed, parameters and scalar results as "
                                   "columns, error, version, time_* and host_* columns.")
    e.add_argument("store", help="SQLite store")
    e.add_argument("--csv", required=True, help="CSV file to write")
    e.set_defaults(func=_cmd_export)

    pl = sub.add_parser("plot", help="table and figure of a validate or regions store",
                        description="Print the summary table of a `sweep validate` or `sweep regions` store and "
                                    "write its figure.")
    pl.add_argument("store", help="SQLite store")
    pl.add_argument("--out", required=True, help="figure file (PNG, PDF, SVG)")
    pl.set_defaults(func=_cmd_plot)

    s = sub.add_parser("status", help="counts and failures of a store", description="Tasks done and failed.")
    s.add_argument("store", help="SQLite store")
    s.set_defaults(func=_cmd_status)


def _usage(p) -> int:
    p.print_usage(sys.stderr)
    sys.stderr.write("meanfield sweep: error: give a sweep command (run, validate, regions, export, plot, status)\n")
    return 2


def _fail(exc) -> int:
    sys.stderr.write(f"meanfield sweep: {exc}\n")
    return 2


def _where(args) -> dict:
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers must be >= 0 (0 runs in-process), got {args.workers}")
    return {"workers": args.workers, "scheduler": args.scheduler, "retry_failed": args.retry_failed,
            "progress": not args.quiet, "connect_timeout": args.connect_timeout}


def _finish(summary) -> int:
    if not summary.ok:
        # the summary (with the failures) is on stderr already when progress is on
        sys.stdout.write(f"{len(summary.failures)} of {summary.n_tasks} tasks failed; see "
                         f"`meanfield sweep status {summary.store}`\n")
        return 1
    return 0


def _cmd_run(args) -> int:
    from ..sweeps import Grid, run_sweep

    try:
        grid = Grid.rows([])
        axes = _params(args.param, "-p")
        if axes:
            grid = grid + Grid.product(**axes)
        if args.rows:
            try:
                rows = json.loads(pathlib.Path(args.rows).read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot read --rows {args.rows}: {exc}") from None
            if not isinstance(rows, list):
                raise ValueError(f"--rows {args.rows} must hold a JSON list of objects")
            grid = grid + Grid.rows(rows)
        fixed = {k: v[0] if len(v) == 1 else v for k, v in _params(args.fixed, "--fixed").items()}
        summary = run_sweep(args.task, grid, args.store, fixed=fixed, base_seed=args.seed, **_where(args))
    except ValueError as exc:
        return _fail(exc)
    return _finish(summary)


def _figure_path(args) -> pathlib.Path:
    return pathlib.Path(args.out) if args.out else pathlib.Path(args.store).with_suffix(".png")


def _save(fig, out: pathlib.Path) -> None:
    try:
        fig.savefig(out, dpi=130)
    except OSError as exc:
        raise ValueError(f"cannot write the figure to {out}: {exc}") from None
    print(f"figure written to {out}")


def _cmd_validate(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..sweeps import validate as sv

    try:
        grid = sv.validate_grid(args.phi, _list(args.sigma_w, "--sigma-w", float),
                                _list(args.sigma_b, "--sigma-b", float), _list(args.widths, "--widths", int),
                                args.depth, args.seeds, n_points=args.points)
        out = _figure_path(args)
        summary = sv.run_validate_sweep(grid, args.store, **_where(args))
        table = sv.error_table(args.store)
        print(sv.error_table_markdown(table))
        _save(sv.plot_error_vs_width(table), out)
    except ValueError as exc:
        return _fail(exc)
    return _finish(summary)


def _cmd_regions(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..sweeps import regions as sr

    try:
        depths = _list(args.depths, "--depths", int)
        box = _list(args.box, "--box", float)
        # architectures by total neurons or by width per layer, as the user gave them
        size = ({"neurons": _list(args.neurons, "--neurons", int)} if args.neurons
                else {"widths": _list(args.widths, "--widths", int)})
        grid = sr.regions_grid(**size, depths=depths, seeds=args.seeds, phi=args.phi, sigma_w=args.sigma_w,
                               sigma_b=args.sigma_b, box=box)
        out = _figure_path(args)
        summary = sr.run_regions_sweep(grid, args.store, **_where(args))
        table = sr.regions_table(args.store)
        print(sr.regions_table_markdown(table))
        _save(sr.plot_regions(table), out)
    except ValueError as exc:
        return _fail(exc)
    return _finish(summary)


def _cmd_export(args) -> int:
    from ..sweeps import export_csv

    try:
        n = export_csv(args.store, args.csv)
    except ValueError as exc:
        return _fail(exc)
    print(f"{n} rows written to {args.csv}")
    return 0


def _cmd_plot(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..sweeps import SweepStore
    from ..sweeps import regions as sr
    from ..sweeps import validate as sv

    try:
        with SweepStore.open(args.store) as st:
            task = st.meta().get("task")
        if task == sv.TASK:
            table = sv.error_table(args.store)
            print(sv.error_table_markdown(table))
            fig = sv.plot_error_vs_width(table)
        elif task == sr.TASK:
            table = sr.regions_table(args.store)
            print(sr.regions_table_markdown(table))
            fig = sr.plot_regions(table)
        else:
            raise ValueError(f"the store {args.store} holds a sweep of {task}; `sweep plot` draws "
                             f"{sv.TASK} and {sr.TASK} stores (use `sweep export` for others)")
        _save(fig, pathlib.Path(args.out))
    except ValueError as exc:
        return _fail(exc)
    return 0


def _cmd_status(args) -> int:
    from ..sweeps import SweepStore, TaskStatus

    try:
        with SweepStore.open(args.store) as st:
            meta, counts, failed = st.meta(), st.counts(), st.records(TaskStatus.FAILED)
    except ValueError as exc:
        return _fail(exc)
    print(f"{args.store}: {meta.get('task')} (schema {meta.get('schema_version')}, created {meta.get('created')} "
          f"with meanfield {meta.get('package_version')}); {counts[TaskStatus.DONE]} done, "
          f"{counts[TaskStatus.FAILED]} failed")
    for r in failed[:50]:
        print(f"  failed {json.dumps(dict(r.params), sort_keys=True)}: {r.error_type}: {r.error_message}")
    return 1 if failed else 0
