"""``meanfield regions``: exact activation regions of a random network in a 2D cross-section.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).
Prints the exact counts next to the bounds of ``meanfield.bounds`` (or, with
``--json``, the same as JSON) and writes the region plot.  Exit status: 0 success;
2 bad input or refused before computing (including an output path that cannot be
written); 3 internal error.

Defaults: He initialisation sigma_w = sqrt(2) (Var W = 2 / fan-in, as in Hanin &
Rolnick) and small biases sigma_b = 0.1.  Input dimension 2, so the plane is the
input space itself (for --n-in > 2 it is the plane through the origin spanned by two
random orthonormal directions drawn from --seed).  Regions are counted in --box,
default (-100, 100, -100, 100): with sigma_b = 0.1 nearly all line crossings lie
within a few units of the origin (biases set the length scale, HR Lemma 6), so this
approximates HR's count over the whole plane; the plot shows the --view window.
"""
from __future__ import annotations

import math
import sys

from .arguments import parse_floats, parse_widths


def add_parser(subparsers) -> None:
    """Add the ``regions`` subcommand and its options (the ``meanfield.commands`` plugin hook).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``meanfield`` console script's subcommands.
    """
    p = subparsers.add_parser(
        "regions", help="count exact activation regions of a random network in a plane",
        epilog="exit status: 0 success; 2 bad input or refused before computing (e.g. --out not writable); "
               "3 internal error",
        description="Enumerate the exact activation regions and linear regions (Hanin & Rolnick 2019, "
                    "Defs. 1-2) of a random piecewise-linear network in a 2D cross-section of input space, "
                    "print the counts next to the bounds (eq. 4, Theorem 5 heuristic, Raghu et al., "
                    "Montufar et al., Serra et al.) and write the region plot.")
    p.add_argument("--widths", default="32,32,32", help="hidden widths N1,...,ND (default 32,32,32)")
    p.add_argument("--phi", default="relu", help="piecewise-linear nonlinearity: relu, leaky_relu, hard_tanh, ...")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--sigma-w", type=float, default=math.sqrt(2), help="weight std sigma_w (default sqrt(2), He)")
    p.add_argument("--sigma-b", type=float, default=0.1, help="bias std sigma_b (default 0.1)")
    p.add_argument("--n-in", type=int, default=2, help="input dimension (default 2: the plane is the input space)")
    p.add_argument("--box", default="-100,100,-100,100",
                   help="counting box s_min,s_max,t_min,t_max (write --box=-5,5,-5,5: the value starts with -)")
    p.add_argument("--view", default="-1,1,-1,1", help="plotted window, e.g. --view=-1,1,-1,1")
    p.add_argument("--out", default=None,
                   help="plot file, or a directory (existing, or ending in '/') to write the default name into "
                        "(default regions_<phi>_<widths>_<seed>.png)")
    p.add_argument("--json", action="store_true", help="print the counts and bounds as JSON instead of a table")
    p.set_defaults(func=run)


def _error(message: str, code: int) -> int:
    print(f"meanfield regions: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    """Count the regions, print the table (or JSON) and write the plot.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``meanfield regions``.

    Returns
    -------
    int
        Exit status: 0 success; 2 bad input, refused before computing or the plot
        cannot be written (one line on stderr); 3 internal error.
    """
    import numpy as np

    from meanfield import bounds

    from ..networks.network import RandomNetwork
    from ..regions import activation_regions_2d
    from .output import check_writable, output_path

    try:
        widths = parse_widths(args.widths)
        box = parse_floats(args.box, 4, "--box")
        view = parse_floats(args.view, 4, "--view")
        for name, (a0, a1, b0, b1) in (("--box", box), ("--view", view)):
            if not (a0 < a1 and b0 < b1 and all(map(math.isfinite, (a0, a1, b0, b1)))):
                raise ValueError(f"{name} must be finite s_min,s_max,t_min,t_max with s_min < s_max and "
                                 f"t_min < t_max, got {','.join(f'{x:g}' for x in (a0, a1, b0, b1))}")
        if args.seed < 0:
            raise ValueError(f"--seed must be an integer >= 0, got {args.seed}")
        for flag, value in (("--sigma-w", args.sigma_w), ("--sigma-b", args.sigma_b)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{flag} is a standard deviation: a finite number >= 0, got {value:g}")
        if args.n_in < 1:
            raise ValueError(f"--n-in must be at least 1, got {args.n_in}")
        if args.n_in == 1:
            raise ValueError("--n-in 1 has no plane; use sim.activation_regions_1d for lines")
        out = output_path(args.out, f"regions_{args.phi}_{'x'.join(map(str, widths))}_{args.seed}.png")
        check_writable(out, what="--out")
        net = RandomNetwork(args.phi, [args.n_in] + widths, args.sigma_w, args.sigma_b, seed=args.seed)
        if args.n_in == 2:
            u, v = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        else:
            q, _ = np.linalg.qr(np.random.default_rng(args.seed).standard_normal((args.n_in, 2)))
            u, v = q[:, 0], q[:, 1]
        res = activation_regions_2d(net, np.zeros(args.n_in), u, v, box, progress=not args.json)
    except ValueError as exc:  # every package error is a ValueError subclass
        return _error(str(exc), 2)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a crash gets its own exit status
        return _error(f"internal error: {type(exc).__name__}: {exc} (please report)", 3)
    n = sum(widths)
    kind = args.phi if args.phi in ("relu", "leaky_relu", "hard_tanh") else "relu"
    in_view = res.meeting(view)
    rows = [("activation regions (exact)", res.count),
            ("linear regions (exact)", res.linear.count),
            ("activation regions meeting the view", int(in_view.sum())),
            ("degenerate pieces dropped", res.n_degenerate),
            ("HR heuristic #neurons^2/2 (Remark 1)", bounds.hanin_rolnick_heuristic(n, 2)),
            ("eq. (4): one layer of the same #neurons", bounds.hyperplane_regions(n, 2)),
            ("layer-wise arrangement bound", bounds.layerwise_arrangement_bound(widths, 2, kind)),
            ("Serra et al. upper bound (ReLU)", bounds.serra_upper_bound(widths, 2)
             if len(widths) <= 12 else "n/a (too many layers)")]
    if min(widths) >= 2:
        rows.append(("Montufar et al. lower bound on the maximum (ReLU)", bounds.montufar_lower_bound(widths, 2)))
    if len(set(widths)) == 1:
        rows.append((f"Raghu et al. O(k^(mn)) ({kind})", bounds.raghu_pattern_bound(widths[0], len(widths), 2, kind)))
    try:
        import matplotlib

        matplotlib.use("Agg")
        fig = res.plot()
        ax = fig.axes[0]
        ax.set_xlim(view[0], view[1])
        ax.set_ylim(view[2], view[3])
        ax.set_title(f"{int(in_view.sum())} of {res.count} activation regions meet this view\n"
                     f"(counted in the box {','.join(f'{x:g}' for x in box)}; {args.phi} network "
                     f"{args.n_in} -> {','.join(map(str, widths))}, seed {args.seed})", fontsize=9)
        fig.tight_layout()
        fig.savefig(out, dpi=150)
    except OSError as exc:
        return _error(f"cannot write the plot to {out}: {exc}", 2)
    except Exception as exc:  # noqa: BLE001
        return _error(f"internal error while plotting: {type(exc).__name__}: {exc} (please report)", 3)
    if args.json:
        import json

        print(json.dumps({"n_in": args.n_in, "widths": widths, "phi": args.phi, "sigma_w": args.sigma_w,
                          "sigma_b": args.sigma_b, "seed": args.seed, "box": list(box), "view": list(view),
                          "plot": str(out),
                          "rows": [{"quantity": k, "value": v if isinstance(v, (int, float)) else None,
                                    "note": None if isinstance(v, (int, float)) else v} for k, v in rows]},
                         indent=1))
        return 0
    print(f"network {args.n_in} -> {','.join(map(str, widths))}, phi={args.phi}, sigma_w={args.sigma_w:g}, "
          f"sigma_b={args.sigma_b:g}, seed={args.seed}; box {box}")
    print("| quantity | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:,.0f} |" if isinstance(value, (int, float)) else f"| {name} | {value} |")
    print(f"plot written to {out}")
    return 0
