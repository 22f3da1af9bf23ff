"""``meanfield validate <phi>``: theory against finite random networks, as a table and a plot.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).

Exit status (one meaning each):

* 0 -- every row passes;
* 1 -- some row rejects the theory (the table marks it);
* 2 -- bad input or refused before computing (an argument out of range, an unknown
  phi, no fixed point, an output path that cannot be written, networks that would
  not fit in memory);
* 3 -- internal error (a bug or the machine running out of memory during the run);
  one line on stderr, please report it.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

EPILOG = ("exit status: 0 every row passes; 1 some row rejects the theory; 2 bad input or refused before "
          "computing (out-of-range argument, unknown phi, no fixed point, unwritable output, networks too "
          "large for the memory); 3 internal error.  The verdict is a per-row t-test across networks with a "
          "family-wise false-alarm rate --alpha (see docs/simulation.md).")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return v
    return parse


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v >= 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return v


def _probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return v


def add_parser(subparsers) -> None:
    """Add the ``validate`` subcommand and its options (the ``meanfield.commands`` plugin hook).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``meanfield`` console script's subcommands.
    """
    p = subparsers.add_parser(
        "validate", help="compare the mean-field theory with simulated random networks",
        description="Propagate circles through random networks of the given width and depth and compare "
                    "q, c, chi1, g_E and kappa2 per layer with the mean-field theory (Poole et al. 2016, "
                    "Figs. 1-4). Prints a Markdown table (or JSON) and writes a plot.",
        epilog=EPILOG)
    p.add_argument("phi", help="nonlinearity: a registry name (tanh, erf, ...) or an expression in x, "
                               "e.g. 'atan(x)'")
    p.add_argument("--sigma-w", type=_nonneg_float, required=True, help="weight standard deviation sigma_w")
    p.add_argument("--sigma-b", type=_nonneg_float, required=True, help="bias standard deviation sigma_b")
    p.add_argument("--width", type=_int_at_least(1), default=1000, help="units per layer N (default 1000)")
    p.add_argument("--depth", type=_int_at_least(2), default=20, help="number of layers, >= 2 (default 20)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--seeds", type=_int_at_least(2), default=16,
                   help="number of networks, >= 2; their spread gives the standard errors (default 16)")
    p.add_argument("--points", type=_int_at_least(8), default=50, help="samples per circle, >= 8 (default 50)")
    p.add_argument("--alpha", type=_probability, default=0.01,
                   help="family-wise false-alarm rate of the report (default 0.01)")
    p.add_argument("--out", default=None,
                   help="plot file, or a directory (existing, or ending in '/') to write the default name "
                        "into (default validate_<phi>_<sigma_w>_<sigma_b>.png in the current directory)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
    p.add_argument("--csv", default=None, metavar="PATH", help="also write the rows as CSV to PATH")
    p.set_defaults(func=run)


def _default_name(phi: str, sigma_w: float, sigma_b: float) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", phi).strip("_")[:60] or "phi"
    return f"validate_{slug}_{sigma_w:g}_{sigma_b:g}.png"


def _error(message: str, code: int) -> int:
    print(f"meanfield validate: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    """Validate the theory against simulated networks, print the report and write the plot (and CSV).

    Output paths and memory are checked before any network is drawn.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``meanfield validate``.

    Returns
    -------
    int
        Exit status (module docstring): 0 every row passes; 1 some row rejects the
        theory; 2 bad input or refused before computing; 3 internal error.
    """
    from ..validation.memory import check_memory
    from ..validation.validate import validate
    from .output import check_writable, output_path

    try:
        out = output_path(args.out, _default_name(args.phi, args.sigma_w, args.sigma_b))
        check_writable(out, what="--out")
        if args.csv:
            check_writable(pathlib.Path(args.csv), what="--csv")
        check_memory(args.width, args.depth, args.points, names=("--width", "--depth"))
    except ValueError as exc:
        return _error(str(exc), EXIT_BAD_INPUT)
    try:
        report = validate(args.phi, args.sigma_w, args.sigma_b, width=args.width, depth=args.depth,
                          seed=args.seed, n_seeds=args.seeds, n_points=args.points, alpha=args.alpha,
                          progress=not args.json)
    except ValueError as exc:  # every package error is a ValueError subclass: bad input
        return _error(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        raise
    except MemoryError:
        return _error("ran out of memory during the run (internal error; lower --width or --depth)", EXIT_INTERNAL)
    except Exception as exc:  # noqa: BLE001 - a crash must not look like exit 1, "a row failed"
        return _error(f"internal error: {type(exc).__name__}: {exc} (please report)", EXIT_INTERNAL)
    try:
        import matplotlib

        matplotlib.use("Agg")
        fig = report.plot()
        fig.savefig(out, dpi=120)
        if args.csv:
            report.to_csv(args.csv)
    except OSError as exc:
        return _error(f"cannot write {out}: {exc}", EXIT_BAD_INPUT)
    except Exception as exc:  # noqa: BLE001
        return _error(f"internal error while plotting: {type(exc).__name__}: {exc} (please report)", EXIT_INTERNAL)
    if args.json:
        print(report.to_json())
    else:
        print(report.to_markdown())
        print(f"plot written to {out}" + (f"; rows written to {args.csv}" if args.csv else ""))
    return EXIT_PASS if report.passed else EXIT_FAIL
