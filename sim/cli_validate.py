"""``meanfield validate <phi>``: theory against finite random networks, as a table and a plot.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).
Exit status 0 when every row is within tolerance, 1 when some row fails, 2 on bad input.
"""
from __future__ import annotations

import pathlib
import re
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="compare the mean-field theory with simulated random networks",
        description="Propagate circles through random networks of the given width and depth and compare "
                    "q, c, chi1, g_E and kappa2 per layer with the mean-field theory (Poole et al. 2016, "
                    "Figs. 1-4). Prints a Markdown table and writes a plot.")
    p.add_argument("phi", help="nonlinearity: a registry name (tanh, erf, ...) or an expression in x, "
                               "e.g. 'atan(x)'")
    p.add_argument("--sigma-w", type=float, required=True, help="weight standard deviation sigma_w")
    p.add_argument("--sigma-b", type=float, required=True, help="bias standard deviation sigma_b")
    p.add_argument("--width", type=int, default=1000, help="units per layer N (default 1000)")
    p.add_argument("--depth", type=int, default=20, help="number of layers (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--seeds", type=int, default=16, help="number of networks averaged (default 16)")
    p.add_argument("--points", type=int, default=50, help="samples per circle (default 50)")
    p.add_argument("--out", default=None,
                   help="plot file (default validate_<phi>_<sigma_w>_<sigma_b>.png in the current directory)")
    p.set_defaults(func=run)


def _default_name(phi: str, sigma_w: float, sigma_b: float) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", phi).strip("_") or "phi"
    return f"validate_{slug}_{sigma_w:g}_{sigma_b:g}.png"


def run(args) -> int:
    from .validate import validate

    try:
        report = validate(args.phi, args.sigma_w, args.sigma_b, width=args.width, depth=args.depth,
                          seed=args.seed, n_seeds=args.seeds, n_points=args.points)
    except ValueError as exc:  # every package error is a ValueError subclass
        print(f"meanfield validate: {exc}", file=sys.stderr)
        return 2
    print(report.to_markdown())
    import matplotlib

    matplotlib.use("Agg")
    out = pathlib.Path(args.out or _default_name(args.phi, args.sigma_w, args.sigma_b))
    try:
        fig = report.plot()
        fig.savefig(out, dpi=120)
    except OSError as exc:
        print(f"meanfield validate: cannot write the plot to {out}: {exc}", file=sys.stderr)
        return 2
    print(f"plot written to {out}")
    return 0 if report.passed else 1
