"""Command line: ``meanfield phase tanh``, ``meanfield point``, ``meanfield derive``, plugins.

Subcommands from other packages (``meanfield validate``, ``meanfield regions`` from
``sim``) are found through the ``meanfield.commands`` entry-point group, so this
package never imports ``sim``.  Any bad input prints one line to stderr and exits
with status 2.  An expression may start with ``-`` (``meanfield point -x*tanh(x) ...``);
``--`` also ends the options as usual.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from importlib.metadata import entry_points

import numpy as np


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_short(text)!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {_short(text)!r}")
    return v


def _grid(text: str) -> np.ndarray:
    """'MIN:MAX:N' (MIN < MAX, N >= 2) -> linspace, or increasing comma-separated values (one is fine)."""
    form = "expected MIN:MAX:N or a comma-separated list"
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(f"{form}, got {_short(text)!r}")
        lo, hi = _number(parts[0]), _number(parts[1])
        try:
            n = int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(f"N in MIN:MAX:N must be an integer, got {parts[2]!r}") from None
        if n < 2:
            raise argparse.ArgumentTypeError(f"{text}: a range needs N >= 2 points; for one value give just "
                                             f"{parts[0]}")
        if not lo < hi:
            raise argparse.ArgumentTypeError(f"{text}: MIN must be below MAX (write {parts[1]}:{parts[0]}:{n})")
        values = np.linspace(lo, hi, n)
    else:
        values = np.array([_number(v) for v in text.split(",")])
        if np.any(np.diff(values) <= 0):
            raise argparse.ArgumentTypeError(f"{_short(text)}: list the values in increasing order, each once")
    if values[0] < 0:
        raise argparse.ArgumentTypeError(f"{_short(text)}: standard deviations must be >= 0")
    return values


def _nonneg(text: str) -> float:
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def _positive(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r} (a length q must be positive)")
    return v


RTOL_RANGE = (1e-15, 1e-2)


def _rtol(text: str) -> float:
    v = _number(text)
    lo, hi = RTOL_RANGE
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"expected a relative tolerance in [{lo:g}, {hi:g}], got {text!r} "
                                         f"(below {lo:g} is under float64 rounding; above {hi:g} is no result)")
    return v


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for messages (a 999-character expression is not echoed)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit - 20]}...({len(text)} characters)"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        sys.stderr.write(f"meanfield: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The ``meanfield`` argument parser: its own commands and every plugin's.

    Builds the subcommands ``phase``, ``point``, ``derive`` and ``cache``, then calls each
    entry point of the group ``meanfield.commands`` with the subparsers object so that
    it adds its own command (``validate`` and ``regions`` from ``sim``).  A plugin that
    fails to import is skipped with a one-line warning on stderr, so the theory
    commands keep working.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand sets ``func`` (the function that runs it), and a
        usage error prints one line to stderr and raises ``SystemExit(2)``.
    """
    from . import __version__

    p = _Parser(prog="meanfield", description=__doc__.split("\n")[0] + " Mean-field theory of deep random "
                "networks (Poole et al. 2016): phase diagrams, depth scales and derivations for any nonlinearity.")
    p.add_argument("--version", action="version", version=f"meanfield {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    phi_help = ("nonlinearity: a name (tanh, relu, hard_tanh, erf, ...) or an expression in x, e.g. "
                "'x*tanh(x)', 'atan(x) + x/10', 'Piecewise((x, x > 0), (exp(x) - 1, True))'; it may "
                "start with '-'")

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
    ph.add_argument("--q0", type=_positive, default=1.0, help="initial length q^1 > 0 (default 1)")
    ph.add_argument("--rtol", type=_rtol, default=1e-10,
                    help=f"relative tolerance of each integral, in [{RTOL_RANGE[0]:g}, {RTOL_RANGE[1]:g}] "
                         f"(default 1e-10)")
    ph.add_argument("--no-correlations", action="store_true", help="skip c* and xi_c (the 2D integrals)")
    ph.add_argument("--out", default=None,
                    help="output path prefix, in an existing directory (default phase_<phi>, plus a short "
                         "hash for expressions)")
    ph.add_argument("--quiet", action="store_true", help="no progress bar")
    ph.add_argument("--quadrature", action="store_true",
                    help="use the certified quadrature even where phi has a closed form (for checking)")
    ph.add_argument("--derive", action="store_true",
                    help="also use closed forms that `meanfield derive` finds, once verified against the quadrature")
    ph.set_defaults(func=_cmd_phase)

    pt = sub.add_parser("point", help="all mean-field quantities at one (sigma_w, sigma_b)",
                        description="q*, chi1, chi2, c*, depth scales and fixed points at one point.")
    pt.add_argument("phi", help=phi_help)
    pt.add_argument("--sigma-w", type=_nonneg, required=True)
    pt.add_argument("--sigma-b", type=_nonneg, required=True)
    pt.add_argument("--q0", type=_positive, default=1.0,
                    help="input length q^1: q* is the stable fixed point its orbit reaches (default 1)")
    pt.add_argument("--json", action="store_true", help="print everything as one JSON object "
                    "(inf as the string \"inf\"; an undefined quantity as null with its reason)")
    pt.add_argument("--quadrature", action="store_true",
                    help="use the certified quadrature even where phi has a closed form (for checking)")
    pt.set_defaults(func=_cmd_point)

    dv = sub.add_parser("derive", help="print the symbolic derivation",
                        description="phi, phi', phi'', the integrals of the length map, C-map, chi1, chi2, "
                                    "depth scales and curvature recursion, with closed forms where found.")
    dv.add_argument("phi", help=phi_help)
    dv.add_argument("--latex", action="store_true", help="LaTeX instead of Markdown")
    dv.add_argument("--sigma-w", type=_nonneg, default=None, help="substitute this sigma_w (and give q*)")
    dv.add_argument("--sigma-b", type=_nonneg, default=None, help="substitute this sigma_b")
    dv.add_argument("--timeout", type=_nonneg, default=None,
                    help="seconds to wait for sympy (default: until every attempt has finished or used its "
                         "work budget of CPU-seconds); known closed forms never wait")
    dv.set_defaults(func=_cmd_derive)

    ca = sub.add_parser("cache", help="build the compiled kernels; where they are cached; their size; clear them",
                        description="Compiled kernels live in $MEANFIELD_CACHE_DIR/kernels "
                                    "(default ~/.cache/meanfield/kernels).  The quadrature machinery "
                                    "compiles once per installation (`build` does it now, in parallel; "
                                    "otherwise each kernel compiles at its first use); a new phi then "
                                    "compiles only its own four functions, in well under a second.")
    ca.add_argument("action", choices=["build", "info", "clear"],
                    help="build: compile the machinery now; info: path, files, size; clear: delete them")
    ca.add_argument("--processes", type=int, default=2,
                    help="processes compiling at once for build (default 2)")
    ca.set_defaults(func=_cmd_cache)

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
    from .codes import Kind
    from .errors import MeanFieldError
    from .fast_path import closed_form_of
    from .nonlinearity import as_nonlinearity

    top = 4.0
    try:
        cf = closed_form_of(phi)      # where phi has one, nothing needs compiling
        growth = (float(cf.second(1e8)) if cf is not None else
                  as_nonlinearity(phi).kernels.expect(Kind.PHI2, 1e8, rtol=1e-8)) / 1e8
        if growth > 0 and 1.25 / math.sqrt(growth) < top:
            top = max(1.0, 1.25 / math.sqrt(growth))
    except MeanFieldError:
        pass
    return np.linspace(0.5 if top > 1.5 else 0.1 * top, top, 36)


def _cmd_phase(args) -> int:
    from .nonlinearity import registry_names
    from .outputs import check_writable, default_prefix
    from .phase import phase_diagram

    # outputs first: a bad --out fails now, not after the computation
    args.out = str(check_writable(args.out or default_prefix("phase", args.phi, registry_names()),
                                  suffixes=(".npz", ".csv", ".png")))

    if args.sigma_w is None:
        args.sigma_w = _default_sigma_w(args.phi)
        print(f"# sigma_w grid {args.sigma_w[0]:g}:{args.sigma_w[-1]:g}:{args.sigma_w.size} "
              f"(pass --sigma-w MIN:MAX:N to change it)")
    closed = False if args.quadrature else ("derive" if args.derive else True)
    pd = phase_diagram(args.phi, args.sigma_w, args.sigma_b, q0=args.q0, rtol=args.rtol,
                       correlations=not args.no_correlations, progress=not args.quiet, closed_form=closed)
    print(f"# evaluation: {pd.evaluation_source}")
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


def point_report(phi, sigma_w: float, sigma_b: float, q0: float = 1.0, closed_form=True) -> dict:
    """Everything ``meanfield point`` prints, as a dict.

    Parameters
    ----------
    phi : Nonlinearity or str or sympy.Expr
        Anything :class:`meanfield.Nonlinearity` accepts (registry name or expression in x).
    sigma_w : float
        Weight standard deviation, finite and >= 0.
    sigma_b : float
        Bias standard deviation, finite and >= 0.
    q0 : float, optional
        Squared length per neuron of the input, q^1 > 0 (default 1): q* is the stable fixed
        point its orbit reaches.
    closed_form : bool or "derive", optional
        Use phi's closed form where it has one (default; see :mod:`meanfield.fast_path`), False
        to force the certified quadrature, ``"derive"`` to also use forms found by
        :func:`meanfield.derive` once checked against the quadrature.

    Returns
    -------
    dict
        ``phi`` (name), ``sigma_w``, ``sigma_b``, ``q0``; ``fixed_points``: one dict per
        fixed point of the length map with ``q``, ``slope`` (dV/dq), ``chi1``, ``stable``
        and ``basin`` ([lo, hi] or None); ``scanned`` ([lo, hi] of the scan in q),
        ``above`` (``"grows"``, ``"contracts"`` or ``"unresolved"``), ``multistable``,
        ``notes``; the floats ``q_star``, ``chi1``, ``chi2``, ``c_star``, ``xi_q``,
        ``xi_c`` (Poole eqs. 3, 7, 9, 6; Schoenholz et al. 2017 depth scales), each None
        where undefined, with the reason under ``undefined[name]`` (where q* is undefined
        everything after it is None and only ``undefined["q_star"]`` is given); ``evaluation``:
        the path that produced the numbers (closed form or certified quadrature).

    Raises
    ------
    ValueError
        If sigma_w or sigma_b is not a finite number >= 0, or q0 not a finite number > 0.
    ExpressionError
        If ``phi`` is not a valid nonlinearity.
    NotConvergedError
        If the length map cannot be evaluated for the fixed-point scan.
    """
    from .errors import MeanFieldError
    from .mean_field import MeanField

    mf = MeanField(phi, sigma_w, sigma_b, q0=q0, closed_form=closed_form)
    fps = mf.fixed_points()
    rep = {"phi": mf.phi.name, "sigma_w": mf.sigma_w, "sigma_b": mf.sigma_b, "q0": mf.q0,
           "evaluation": mf.evaluation_source,
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

    rep = point_report(args.phi, args.sigma_w, args.sigma_b, args.q0, closed_form=not args.quadrature)
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
    print(f"# evaluation: {rep['evaluation']}")
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
    from .derivation import derive

    d = derive(args.phi, sigma_w=args.sigma_w, sigma_b=args.sigma_b, timeout=args.timeout)
    print(d.to_latex() if args.latex else d.to_markdown())
    return 0


def _cmd_cache(args) -> int:
    from . import kernels

    if args.action == "build":
        from .kernels import warmup
        if args.processes < 1:
            raise ValueError(f"--processes must be >= 1, got {args.processes}")
        if kernels.machinery_built():
            print(f"the quadrature machinery is already compiled in {kernels.cache_dir()} "
                  f"(`meanfield cache clear` first to compile it afresh)")
            return 0
        report = warmup.build(args.processes, stream=sys.stderr)
        print(f"compiled the quadrature machinery ({report.entry_points} kernels, {report.processes} "
              f"processes) into {kernels.cache_dir()} in {report.seconds:.1f} s; a new phi now compiles only "
              f"its own four functions")
        return 0
    if args.action == "clear":
        n = kernels.clear_cache()
        print(f"removed {n} files from {kernels.configured_cache_dir()}")
        return 0
    info = kernels.cache_info()
    print(f"kernel cache: {info.path}{'' if info.path.is_dir() else ' (does not exist yet)'}")
    print(f"  machinery {'compiled' if kernels.machinery_built() else 'not compiled yet (meanfield cache build)'}")
    print(f"  {info.modules} compiled modules (phi's and the machinery), {info.stale} of older versions, "
          f"{info.files} files, {info.bytes / 2 ** 20:.1f} MiB")
    return 0


def _expressions_may_start_with_minus(parser, argv: list[str]) -> list[str]:
    """Mark ``-x*tanh(x)`` as a positional argument, which argparse would take for an option.

    A token is an expression here if it starts with a single '-', is no option of the
    chosen command, contains 'x' or '(', and does not follow an option that takes a value.
    The mark is a leading space, which the nonlinearity parser strips.  A value after an
    option (``--q0 -inf``, ``--sigma-b -1:1:3``) is joined to it (``--q0=-inf``), so that
    the option's own check explains what is wrong with it.
    """
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    out, command, takes_value = [], None, False
    for tok in argv:
        if tok == "--":
            return out + argv[len(out):]
        if command is None:
            if not tok.startswith("-") and sub is not None and tok in sub.choices:
                command = sub.choices[tok]
        elif tok.startswith("-") and not tok.startswith("--") and takes_value and out[-1].startswith("--"):
            out[-1] = f"{out[-1]}={tok}"       # '--q0 -inf': a value, so that its own check explains it
            takes_value = False
            continue
        elif (tok.startswith("-") and not tok.startswith("--") and not takes_value
              and tok.split("=")[0] not in command._option_string_actions and ("x" in tok or "(" in tok)):
            tok = " " + tok
        if command is not None and tok.startswith("-"):
            action = command._option_string_actions.get(tok.split("=")[0])
            takes_value = action is not None and action.nargs != 0 and "=" not in tok
        else:
            takes_value = False
        out.append(tok)
    return out


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    (file or sys.stderr).write(f"meanfield: warning: {message}\n")


def _compile_progress_wanted() -> bool:
    """Report kernel compilation on a terminal, or when MEANFIELD_PROGRESS=1 (0 turns it off)."""
    flag = os.environ.get("MEANFIELD_PROGRESS", "")
    return flag == "1" or (flag != "0" and sys.stderr.isatty())


def _quiet_matplotlib_config() -> None:
    """With an unwritable home, point matplotlib at a temporary config dir before it warns in 2 lines:
    the kernel cache's warning already says that the home directory cannot be written."""
    if "MPLCONFIGDIR" in os.environ:
        return
    import pathlib
    import tempfile

    base = os.environ.get("XDG_CONFIG_HOME") or str(pathlib.Path.home() / ".config")
    try:
        pathlib.Path(base, "matplotlib").mkdir(parents=True, exist_ok=True)
        if os.access(pathlib.Path(base, "matplotlib"), os.W_OK):
            return
    except OSError:
        pass
    import atexit
    import shutil

    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="meanfield-mpl-")
    atexit.register(shutil.rmtree, os.environ["MPLCONFIGDIR"], True)


def main(argv=None) -> int:
    """Run the ``meanfield`` console script.

    Any ``ValueError`` or ``ArithmeticError`` of the command (all of meanfield's typed
    errors are ``ValueError``) becomes one line ``meanfield: error: ...`` on stderr and
    status 2; warnings print as one line each.  Kernel compilation is reported on a
    terminal or with ``MEANFIELD_PROGRESS=1``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).  An expression
        may start with ``-`` (``point -x*tanh(x) ...``).

    Returns
    -------
    int
        Exit status: 0 on success (also when stdout is a pipe closed early), 2 for bad
        input or no command given (then the help is printed), 130 on Ctrl-C.

    Raises
    ------
    SystemExit
        From argument parsing: status 2 with one line on stderr for a usage error,
        status 0 after ``--help`` or ``--version``.
    """
    _quiet_matplotlib_config()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_expressions_may_start_with_minus(parser, argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    listener = None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            if _compile_progress_wanted():
                from .kernels import enable_compile_progress
                listener = enable_compile_progress()
            return int(args.func(args) or 0)
    except (ValueError, ArithmeticError) as err:
        message = " ".join(str(err).split("\n"))
        phi = str(getattr(args, "phi", "") or "").strip()
        if len(phi) > 60:
            message = message.replace(phi, _short(phi))
        sys.stderr.write(f"meanfield: error: {_short(message, 600)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("meanfield: interrupted\n")
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        # Python's docs: point stdout at devnull so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if listener is not None:
            from .kernels import disable_compile_progress
            disable_compile_progress(listener)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
