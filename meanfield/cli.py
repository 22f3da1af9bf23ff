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
    pt.add_argument("--q0", type=_nonneg, default=1.0,
                    help="input length q^1: q* is the stable fixed point its orbit reaches (default 1)")
    pt.add_argument("--json", action="store_true", help="print everything as one JSON object "
                    "(inf as the string \"inf\"; an undefined quantity as null with its reason)")
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
    print(f"# critical line of phi = {pd.phi}: chi1 = 1 at the stable q* reached from q0 = {pd.q0:g}")
    print(f"{'sigma_b':>10} {'sigma_w':>18} {'q*':>18}")
    for b in pd.sigma_b.tolist():
        pts = [p for p in pd.critical_points if p.sigma_b == b]
        crit = [p for p in pts if p.critical]
        for p in crit:
            print(f"{b:>10.4f} {p.sigma_w:>18.13g} {p.q_star:>18.13g}")   # as accurate as computed
        if not crit:
            other = "; ".join(f"q = {p.q_star:.4g} at sigma_w = {p.sigma_w:.4g} "
                              + (f"unstable, dV/dq = {p.slope:.3g}" if not p.stable else
                                 f"not reached from q0 = {pd.q0:g}") for p in pts)
            why = f"chi1 = 1 only at fixed points that are not q*: {other}" if pts else "no fixed point with chi1 = 1"
            print(f"{b:>10.4f} {'none':>18} {'':>18}  ({why})")
    bad = {int(s) for s in np.unique(pd.status) if s != 0}
    for s in sorted(bad):
        n = int(np.sum(pd.status == s))
        print(f"# {n} grid points without values: {pd.reasons[s]}")
    safe = "".join(ch if ch.isalnum() else "_" for ch in pd.phi).strip("_")[:40] or "phi"
    files = pd.save(args.out or f"phase_{safe}")
    print("# wrote " + ", ".join(str(f) for f in files.values()))
    return 0


def point_report(phi, sigma_w: float, sigma_b: float, q0: float = 1.0) -> dict:
    """Everything ``meanfield point`` prints, as a dict (floats; None where undefined, with
    the reason under ``"undefined"``)."""
    from .errors import MeanFieldError
    from .mean_field import MeanField

    mf = MeanField(phi, sigma_w, sigma_b, q0=q0)
    fps = mf.fixed_points()
    rep = {"phi": mf.phi.name, "sigma_w": mf.sigma_w, "sigma_b": mf.sigma_b, "q0": mf.q0,
           "fixed_points": [{"q": p.q, "slope": p.slope, "chi1": p.chi1, "stable": p.stable,
                             "basin": list(p.basin) if p.basin else None} for p in fps],
           "scanned": list(fps.scanned), "above": fps.above, "multistable": fps.multistable,
           "notes": list(fps.notes), "undefined": {}}
    names = ("q_star", "chi1", "chi2", "c_star", "xi_q", "xi_c")
    for k in names:
        rep[k] = None
    try:
        rep["q_star"] = mf.q_star()
    except MeanFieldError as err:
        rep["undefined"]["q_star"] = str(err)     # everything else hangs on q*: one reason
        return rep
    for k, fn in (("chi1", mf.chi1), ("chi2", mf.chi2), ("c_star", mf.c_star)):
        try:
            rep[k] = fn()
        except MeanFieldError as err:
            rep["undefined"][k] = str(err)
    try:
        ds = mf.depth_scales()
        rep["xi_q"], rep["xi_c"] = ds.xi_q, ds.xi_c
    except MeanFieldError as err:
        rep["undefined"]["xi_q, xi_c"] = str(err)
    return rep


def _cmd_point(args) -> int:
    import json

    rep = point_report(args.phi, args.sigma_w, args.sigma_b, args.q0)
    if args.json:
        def enc(v):
            if isinstance(v, float):
                return None if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else v)
            if isinstance(v, dict):
                return {k: enc(x) for k, x in v.items()}
            if isinstance(v, list):
                return [enc(x) for x in v]
            return v
        print(json.dumps(enc(rep), allow_nan=False))
        return 0
    print(f"# {rep['phi']}: sigma_w = {rep['sigma_w']:g}, sigma_b = {rep['sigma_b']:g}, q0 = {rep['q0']:g}")
    lo, hi = rep["scanned"]
    print(f"# fixed points of the length map (V(q) - q scanned for q in [{lo:g}, {hi:g}]):")
    for p in rep["fixed_points"]:
        basin = f"  basin: q0 in ({p['basin'][0]:.6g}, {p['basin'][1]:.6g})" if p["basin"] else ""
        print(f"fixed point q = {p['q']:.12g}  dV/dq {p['slope']:.6g}  chi1 {_fmt(p['chi1'])}  "
              f"{'stable' if p['stable'] else 'unstable'}{basin}")
    if not rep["fixed_points"]:
        print("no fixed point")
    above = {"grows": "q grows without bound", "contracts": "V(q) < q",
             "unresolved": "not resolved"}[rep["above"]]
    print(f"# above the last fixed point: {above}")
    for note in rep["notes"]:
        print(f"# note: {note}")
    if rep["multistable"]:
        print(f"# several stable fixed points: q* depends on q0 (here q0 = {rep['q0']:g}; --q0 to change)")
    if rep["q_star"] is None:
        print(f"{'q*':>12}: undefined: {rep['undefined']['q_star']}")
        return 0
    labels = {"q_star": "q*", "chi1": "chi1", "chi2": "chi2", "c_star": "c*", "xi_q": "xi_q", "xi_c": "xi_c"}
    for k, label in labels.items():
        if rep[k] is not None:
            print(f"{label:>12}: {_fmt(rep[k])}")
    for k, why in rep["undefined"].items():
        print(f"{k:>12}: undefined ({why})")
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
