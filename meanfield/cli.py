"""Command line: ``meanfield phase tanh``, ``meanfield point``, ``meanfield derive``, plugins.

Subcommands from other packages (``meanfield validate``, ``meanfield regions`` from
``sim``) are found through the ``meanfield.commands`` entry-point group, so this
package never imports ``sim``.  Any bad input prints one line to stderr and exits
with status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from importlib.metadata import entry_points

import numpy as np


class UsageError(ValueError):
    """Bad command-line input."""


def _grid(text: str) -> np.ndarray:
    """'MIN:MAX:N' -> linspace, or a comma-separated list of values."""
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            lo, hi, n = float(lo), float(hi), int(n)
            if n < 1:
                raise ValueError
            return np.linspace(lo, hi, n)
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX:N or a comma-separated list, got {text!r}") from None


def _nonneg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return v


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        sys.stderr.write(f"meanfield: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="meanfield", description=__doc__.split("\n")[0] + " Mean-field theory of deep random "
                "networks (Poole et al. 2016): phase diagrams, depth scales and derivations for any nonlinearity.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    phi_help = ("nonlinearity: a name (tanh, relu, hard_tanh, erf, ...) or an expression in x, e.g. "
                "'x*tanh(x)', 'atan(x) + x/10', 'Piecewise((x, x > 0), (exp(x) - 1, True))'")

    ph = sub.add_parser("phase", help="phase diagram and critical line",
                        description="Phase diagram over (sigma_w, sigma_b): q*, convergence depth, c*, chi1, "
                                    "chi2, depth scales (Poole Figs. 1C-D, 2C-D). Prints the critical line "
                                    "and writes PNG, NPZ and CSV.")
    ph.add_argument("phi", help=phi_help)
    ph.add_argument("--sigma-w", type=_grid, default=None,
                    help="sigma_w grid as MIN:MAX:N or a list (default 0.5:4:36, with the top lowered to "
                         "1.25x the sigma_w above which q diverges for phi growing linearly)")
    ph.add_argument("--sigma-b", type=_grid, default=_grid("0:1:21"),
                    help="sigma_b grid as MIN:MAX:N or a list (default 0:1:21)")
    ph.add_argument("--q0", type=_nonneg, default=1.0, help="initial length q^1 (default 1)")
    ph.add_argument("--rtol", type=_nonneg, default=1e-10, help="relative tolerance of each integral (default 1e-10)")
    ph.add_argument("--no-correlations", action="store_true", help="skip c* and xi_c (the 2D integrals)")
    ph.add_argument("--out", default=None, help="output path prefix (default phase_<phi>)")
    ph.add_argument("--quiet", action="store_true", help="no progress bar")
    ph.set_defaults(func=_cmd_phase)

    pt = sub.add_parser("point", help="all mean-field quantities at one (sigma_w, sigma_b)",
                        description="q*, chi1, chi2, c*, depth scales and fixed points at one point.")
    pt.add_argument("phi", help=phi_help)
    pt.add_argument("--sigma-w", type=_nonneg, required=True)
    pt.add_argument("--sigma-b", type=_nonneg, required=True)
    pt.set_defaults(func=_cmd_point)

    dv = sub.add_parser("derive", help="print the symbolic derivation",
                        description="phi, phi', phi'', the integrals of the length map, C-map, chi1, chi2, "
                                    "depth scales and curvature recursion, with closed forms where found.")
    dv.add_argument("phi", help=phi_help)
    dv.add_argument("--latex", action="store_true", help="LaTeX instead of Markdown")
    dv.add_argument("--sigma-w", type=_nonneg, default=None, help="substitute this sigma_w (and give q*)")
    dv.add_argument("--sigma-b", type=_nonneg, default=None, help="substitute this sigma_b")
    dv.set_defaults(func=_cmd_derive)

    for ep in entry_points(group="meanfield.commands"):
        try:
            ep.load()(sub)
        except ImportError as err:  # a plugin that cannot load must not break the theory commands
            sys.stderr.write(f"meanfield: warning: command {ep.name!r} unavailable ({err})\n")
    return p


def _fmt(v) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.10g}"


def _default_sigma_w(phi) -> np.ndarray:
    """0.5:4:36, unless q diverges for all sigma_b beyond some sigma_w < 3.2: then 0.5 .. 1.25 x that.

    For |phi(x)| ~ a|x| at infinity, V(q)/q -> sigma_w^2 E[phi(sqrt(q) z)^2]/q = sigma_w^2 a^2, so the
    length diverges for sigma_w > 1/a whatever sigma_b is.
    """
    from . import quadrature as quad
    from .errors import MeanFieldError
    from .nonlinearity import as_nonlinearity

    top = 4.0
    try:
        growth = quad.gauss_expect(as_nonlinearity(phi), quad.PHI2, 1e8, rtol=1e-8) / 1e8
        if growth > 0 and 1.25 / math.sqrt(growth) < top:
            top = max(1.0, 1.25 / math.sqrt(growth))
    except MeanFieldError:
        pass
    return np.linspace(0.5 if top > 1.5 else 0.1 * top, top, 36)


def _cmd_phase(args) -> int:
    from .phase import phase_diagram

    if args.sigma_w is None:
        args.sigma_w = _default_sigma_w(args.phi)
        print(f"# sigma_w grid {args.sigma_w[0]:g}:{args.sigma_w[-1]:g}:{args.sigma_w.size} "
              f"(pass --sigma-w MIN:MAX:N to change it)")
    pd = phase_diagram(args.phi, args.sigma_w, args.sigma_b, q0=args.q0, rtol=args.rtol,
                       correlations=not args.no_correlations, progress=not args.quiet)
    print(f"# critical line of phi = {pd.phi} (chi1 = 1)")
    print(f"{'sigma_b':>10} {'sigma_w':>18} {'q*':>18}")
    from .errors import MeanFieldError
    from .mean_field import MeanField
    for b, w in pd.critical_table():
        note = ""
        try:
            q = MeanField(pd.phi, w, b).q_star(args.q0) if math.isfinite(w) else float("nan")
        except MeanFieldError:
            q, note = float("nan"), f"  (q* not reached from q0 = {args.q0:g}: q diverges)"
        print(f"{b:>10.4f} {_fmt(w):>18} {_fmt(q):>18}{note}")
    bad = {int(s) for s in np.unique(pd.status) if s != 0}
    for s in sorted(bad):
        n = int(np.sum(pd.status == s))
        print(f"# {n} grid points without values: {pd.reasons[s]}")
    safe = "".join(ch if ch.isalnum() else "_" for ch in pd.phi).strip("_")[:40] or "phi"
    files = pd.save(args.out or f"phase_{safe}")
    print("# wrote " + ", ".join(str(f) for f in files.values()))
    return 0


def _cmd_point(args) -> int:
    from .errors import MeanFieldError
    from .mean_field import MeanField

    mf = MeanField(args.phi, args.sigma_w, args.sigma_b)
    print(f"# {mf}")
    for fp in mf.fixed_points():
        print(f"fixed point q = {fp.q:.12g}  slope {fp.slope:.6g}  {'stable' if fp.stable else 'unstable'}")
    for name, fn in (("q*", mf.q_star), ("chi1", mf.chi1), ("chi2", mf.chi2), ("c*", mf.c_star),
                     ("depth scales", mf.depth_scales)):
        try:
            v = fn()
            print(f"{name:>12}: {v if not isinstance(v, float) else _fmt(v)}")
        except MeanFieldError as err:
            print(f"{name:>12}: undefined ({err})")
    return 0


def _cmd_derive(args) -> int:
    from .derive import derive

    d = derive(args.phi, sigma_w=args.sigma_w, sigma_b=args.sigma_b)
    print(d.to_latex() if args.latex else d.to_markdown())
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, ArithmeticError) as err:
        sys.stderr.write(f"meanfield: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("meanfield: interrupted\n")
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        # Python's docs: point stdout at devnull so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
