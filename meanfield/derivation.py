r"""Symbolic derivation of the mean-field theory for a given nonlinearity.

``derive(phi)`` writes out, for one nonlinearity, every quantity of Poole et al.
(2016) as an integral (eqs. 3, 5-9), the depth scales of Schoenholz et al. (2017),
and a closed form wherever one is known or found:

1. Known kernels first (:mod:`meanfield.closed_forms`: ReLU, leaky ReLU, abs and
   linear maps, steps, erf, sin, cos), marked "known result" with their reference.
   These never depend on sympy or on time.
2. For the other moments sympy integrates the Gaussian averages in a symbol
   :math:`q > 0`, one smooth piece of a ``Piecewise`` at a time.  Every attempt runs
   in its own process with a **work budget** of ``work`` CPU-seconds (``RLIMIT_CPU``,
   where the platform has it): CPU time, unlike wall-clock time, does not grow when
   other jobs share the machine, so whether an attempt finishes does not depend on
   the machine's load.  ``timeout`` (wall-clock seconds, default none) only limits
   how long ``derive`` waits; an attempt it stopped waiting for is reported as
   such, never as "no closed form".  Waiting ends as soon as every attempt is done.

The result renders as Markdown (``$$``-delimited LaTeX, plus a plain-text line per
closed form so that it reads in a terminal) or as a standalone LaTeX document; both
are printed from the sympy expressions (``sympy.latex``, ``sympy.sstr``).
"""
from __future__ import annotations

import dataclasses
import enum
import math
import multiprocessing
import multiprocessing.connection
import signal
import time
from typing import NamedTuple

import sympy as sp

from .closed_forms import SIGMA_B, SIGMA_W, C, KnownKernel, Q, known_kernel
from .expression import x
from .nonlinearity import as_nonlinearity

__all__ = ["SIGMA_B", "SIGMA_W", "WORK", "C", "Derivation", "Moment", "Q", "derive"]

_Z1, _Z2 = sp.symbols("z_1 z_2", real=True)

#: CPU-seconds allowed to each sympy attempt (they run in parallel processes).
WORK = 5.0


class Outcome(enum.Enum):
    """How one sympy attempt ended."""
    FOUND = "found"
    NONE = "no closed form"          # sympy returned an unevaluated integral or failed
    BUDGET = "out of work budget"    # the attempt used up its CPU-seconds
    NOT_WAITED = "not waited for"    # derive() stopped waiting (timeout)


class Attempt(NamedTuple):
    """The result of one sympy attempt at a Gaussian average (run in a child process).

    Attributes
    ----------
    outcome : Outcome
        How the attempt ended.
    value : sympy.Expr or None
        The closed form when ``outcome`` is ``Outcome.FOUND``, else None.
    """
    outcome: Outcome
    value: object = None


@dataclasses.dataclass(frozen=True)
class Moment:
    r"""A Gaussian average and, if found, its closed form.

    Attributes
    ----------
    integrand : str
        LaTeX of the average, e.g. ``\int \mathcal{D}z\, \phi(\sqrt{q}z)^2``.
    value : sympy.Expr or None
        The closed form in :data:`Q` (and :data:`C`), or ``None``.
    source : str
        ``"sympy"``, ``"known result (<reference>)"``, or why there is none.
    """

    integrand: str
    value: sp.Expr | None
    source: str


@dataclasses.dataclass(frozen=True)
class Derivation:
    r"""The mean-field theory of one nonlinearity, symbolically.

    Attributes
    ----------
    name : str
        The nonlinearity's name (registry name or the expression as written).
    phi, dphi, d2phi : sympy.Expr
        :math:`\phi` and its classical derivatives (piece by piece) in ``x``.
    deltas_d1, deltas_d2 : tuple of (sympy.Expr, sympy.Expr)
        ``(point, weight)`` of the Dirac deltas in :math:`\phi'` (where :math:`\phi`
        jumps) and in :math:`\phi''` (where :math:`\phi'` jumps); the weight is the
        jump size :math:`f(k^+) - f(k^-)`.
    sigma_w, sigma_b : sympy.Expr
        Symbols, or the numbers substituted for them.
    second, slope, curvature : Moment
        :math:`E[\phi^2]`, :math:`E[\phi'^2]`, :math:`E[\phi''^2]` at
        :math:`u = \sqrt{q} z`.
    cross, cross_slope : Moment
        :math:`E[\phi(u_1)\phi(u_2)]`, :math:`E[\phi'(u_1)\phi'(u_2)]` for
        :math:`q_{11} = q_{22} = q` and correlation :math:`c`.
    q_star : tuple of sympy.Expr
        Fixed points of the closed-form length map, when numbers were given for
        :math:`\sigma_w, \sigma_b` and sympy solved :math:`\mathcal{V}(q) = q`.
    """

    name: str
    phi: sp.Expr
    dphi: sp.Expr
    d2phi: sp.Expr
    deltas_d1: tuple
    deltas_d2: tuple
    sigma_w: sp.Expr
    sigma_b: sp.Expr
    second: Moment
    slope: Moment
    curvature: Moment
    cross: Moment
    cross_slope: Moment
    q_star: tuple = ()

    # --- closed forms of the theory (None where a moment has none) --------------

    def _scaled(self, moment: Moment, bias=True):
        if moment.value is None:
            return None
        return self.sigma_w ** 2 * moment.value + (self.sigma_b ** 2 if bias else 0)

    @property
    def length_map(self):
        r""":math:`\mathcal{V}(q) = \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2` (eq. 3), or None."""
        return self._scaled(self.second)

    @property
    def length_map_slope(self):
        r""":math:`d\mathcal{V}/dq` (Stein's identity), or None."""
        v = self.length_map
        return None if v is None else sp.simplify(sp.diff(v, Q))

    @property
    def covariance_map(self):
        r""":math:`\mathcal{C}(c, q, q) = \sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2` (eq. 5), or None."""
        return self._scaled(self.cross)

    @property
    def chi1(self):
        r""":math:`\chi_1 = \sigma_w^2 E[\phi'(\sqrt q z)^2]` (eq. 7) as a function of q, or None."""
        return self._scaled(self.slope, bias=False)

    @property
    def chi2(self):
        r""":math:`\chi_2 = \sigma_w^2 E[\phi''(\sqrt q z)^2]` (eq. 9) as a function of q, or None."""
        return self._scaled(self.curvature, bias=False)

    @property
    def chi_c(self):
        r""":math:`\chi_c = \sigma_w^2 E[\phi'(u_1)\phi'(u_2)]`: slope of the C-map at c (at q = q*), or None."""
        return self._scaled(self.cross_slope, bias=False)

    # --- rendering -----------------------------------------------------------------

    def to_markdown(self) -> str:
        """Markdown with ``$$`` LaTeX blocks and a plain-text line for every closed form.

        Returns
        -------
        str
            The derivation as a Markdown document ending in a newline: phi and its derivatives,
            then the length map (Poole et al. 2016, eq. 3), covariance and C-maps (eqs. 5, 6),
            chi1 (eq. 7), chi2 (eq. 9), the curvature recursion (eq. 8) and the depth scales,
            each a closed form or a sentence saying why there is none.
        """
        return "\n".join(_render(self, _MARKDOWN)).rstrip() + "\n"

    def to_latex(self) -> str:
        """A standalone LaTeX document (article class, amsmath).

        Returns
        -------
        str
            The same content as :meth:`to_markdown`, from ``\\documentclass`` to
            ``\\end{document}``, ready for ``pdflatex``.
        """
        body = "\n".join(_render(self, _LATEX)).rstrip()
        return (r"\documentclass{article}" "\n" r"\usepackage{amsmath}" "\n"
                r"\begin{document}" "\n" + body + "\n" r"\end{document}" "\n")


def derive(phi, sigma_w=None, sigma_b=None, timeout=None, work=WORK) -> Derivation:
    r"""Derive the mean-field quantities of ``phi`` symbolically.

    Parameters
    ----------
    phi : Nonlinearity or spec
        Registry name, expression string in ``x`` or sympy expression.
    sigma_w, sigma_b : float, optional
        Substituted for :math:`\sigma_w, \sigma_b` in every closed form when given.
    timeout : float or None
        Wall-clock seconds to wait for the sympy attempts (None: until each has
        finished or used up its work budget).  Only limits waiting: a moment whose
        attempt was not waited for says so in its ``source``.
    work : float or None
        CPU-seconds each sympy attempt may use (None: unlimited).  Closed forms from
        :mod:`meanfield.closed_forms` need no attempt.

    Returns
    -------
    Derivation
    """
    for name, v in (("timeout", timeout), ("work", work)):
        if v is not None and not (isinstance(v, (int, float)) and v >= 0 and not math.isnan(v)):
            raise ValueError(f"{name} must be a number of seconds >= 0 or None, got {v!r}")
    nl = as_nonlinearity(phi)
    sw = SIGMA_W if sigma_w is None else _exact(sigma_w, "sigma_w")
    sb = SIGMA_B if sigma_b is None else _exact(sigma_b, "sigma_b")
    kinks = tuple(sp.nsimplify(k) for k in nl.kinks)
    deltas_d1 = _deltas(nl.pw, kinks)
    deltas_d2 = _deltas(nl.d1, kinks)
    known = _known_moments(known_kernel(nl))

    tasks = {"second": (_moment_1d, (nl.pw ** 2, kinks))}
    if not deltas_d1:
        tasks["slope"] = (_moment_1d, (nl.d1 ** 2, kinks))
    if not deltas_d2:
        tasks["curvature"] = (_moment_1d, (nl.d2 ** 2, kinks))
    if not kinks:  # sympy's double integrals of Piecewise are hopeless; smooth phi only
        tasks["cross"] = (_moment_2d, (nl.pw,))
        tasks["cross_slope"] = (_moment_2d, (nl.d1,))
    tasks = {k: t for k, t in tasks.items() if k not in known}
    found = _run_attempts(tasks, work=work, timeout=timeout)

    jump_d1 = "undefined: phi jumps, so phi' holds a Dirac delta (the average is infinite)"
    jump_d2 = "undefined: phi' jumps, so phi'' holds a Dirac delta whose square is not integrable"

    def moment(integrand, key, undefined=None):
        if undefined:
            return Moment(integrand, None, undefined)
        if key in known:
            return Moment(integrand, known[key][0], known[key][1])
        return _from_attempt(integrand, found.get(key, Attempt(Outcome.NONE)), work, timeout)

    moments = {
        "second": moment(_E1(r"\phi(\sqrt{q}\,z)^2"), "second"),
        "slope": moment(_E1(r"\phi'(\sqrt{q}\,z)^2"), "slope", deltas_d1 and jump_d1),
        "curvature": moment(_E1(r"\phi''(\sqrt{q}\,z)^2"), "curvature", deltas_d2 and jump_d2),
        "cross": moment(_E2(r"\phi(u_1)\,\phi(u_2)"), "cross"),
        "cross_slope": moment(_E2(r"\phi'(u_1)\,\phi'(u_2)"), "cross_slope", deltas_d1 and jump_d1),
    }
    subs = {SIGMA_W: sw, SIGMA_B: sb}
    d = Derivation(name=nl.name, phi=nl.pw, dphi=nl.d1, d2phi=nl.d2, deltas_d1=deltas_d1,
                   deltas_d2=deltas_d2, sigma_w=sw, sigma_b=sb, **moments)
    if sigma_w is not None and sigma_b is not None and d.length_map is not None:
        roots = _run_attempts({"q_star": (_fixed_points, (d.length_map.subs(subs),))}, work=work,
                              timeout=timeout)["q_star"]
        d = dataclasses.replace(d, q_star=tuple(roots.value or ()) if roots.outcome is Outcome.FOUND else ())
    return d


def _known_moments(k: KnownKernel | None) -> dict:
    """{moment: (expr, source)} from a closed-form kernel (its 1D moments are the kernels at c = 1)."""
    if k is None:
        return {}
    src = f"known result, {k.source}"
    out = {"second": k.second, "cross": k.cross_at(), "slope": k.slope, "cross_slope": k.cross_slope_at(),
           "curvature": k.curvature}
    return {key: (v, src) for key, v in out.items() if v is not None}


def _from_attempt(integrand, attempt: Attempt, work, timeout) -> Moment:
    if attempt.outcome is Outcome.FOUND and attempt.value is not None:
        return Moment(integrand, attempt.value, "sympy")
    if attempt.outcome is Outcome.BUDGET:
        why = (f"no closed form found within sympy's work budget ({work:g} CPU-seconds; "
               f"raise it with derive(..., work=...))")
    elif attempt.outcome is Outcome.NOT_WAITED:
        why = (f"not known: derive() stopped waiting for sympy after {timeout:g} s (--timeout); "
               f"the attempt had not finished")
    else:
        why = "no closed form found (sympy returned the integral unevaluated)"
    return Moment(integrand, None, why)


def _exact(value, name):
    """The decimal a user typed, as an exact rational (1.2 -> 6/5), so sympy can solve exactly."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not v >= 0 or v == float("inf"):
        raise ValueError(f"{name} = {value} must be a finite standard deviation >= 0")
    return sp.Rational(repr(v))


# --- sympy attempts (run in child processes) -------------------------------------------

def _gaussian(z):
    return sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _piece_at(expr, point):
    """``expr`` with every Piecewise replaced by its branch that holds at x = point."""
    def choose(pw):
        for e, cond in pw.args:
            if cond == sp.true or bool(cond.subs(x, point)):
                return e
        raise ValueError(f"no branch of {pw} holds at x = {point}")
    while expr.has(sp.Piecewise):
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), choose)
    return expr


def _moment_1d(g, kinks):
    r""":math:`\int \mathcal{D}z\, g(\sqrt{q} z)`, piece by piece between the kinks, or None."""
    z = _Z1
    edges = [-sp.oo, *kinks, sp.oo]
    total = sp.S.Zero
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (a + b) / 2 if a.is_finite and b.is_finite else (b - 1 if b.is_finite else
                                                                   (a + 1 if a.is_finite else 0))
        piece = sp.simplify(_piece_at(g, inside))
        if piece == 0:
            continue
        lo = a / sp.sqrt(Q) if a.is_finite else a
        hi = b / sp.sqrt(Q) if b.is_finite else b
        r = sp.integrate(piece.subs(x, sp.sqrt(Q) * z) * _gaussian(z), (z, lo, hi))
        if r.has(sp.Integral):
            return None
        total += r
    return _tidy(total)


def _moment_2d(f):
    r""":math:`E[f(u_1) f(u_2)]` with :math:`u_1 = \sqrt q z_1`, :math:`u_2 = \sqrt q (c z_1 + \sqrt{1-c^2} z_2)`."""
    u1 = sp.sqrt(Q) * _Z1
    u2 = sp.sqrt(Q) * (C * _Z1 + sp.sqrt(1 - C ** 2) * _Z2)
    inner = sp.integrate(f.subs(x, u2) * _gaussian(_Z2), (_Z2, -sp.oo, sp.oo))
    if inner.has(sp.Integral):
        return None
    r = sp.integrate(f.subs(x, u1) * inner * _gaussian(_Z1), (_Z1, -sp.oo, sp.oo))
    return None if r.has(sp.Integral) else _tidy(r)


def _fixed_points(v):
    """Nonnegative real solutions of V(q) = q (q may be 0 here)."""
    qq = sp.Symbol("q", nonnegative=True)
    sols = sp.solve(sp.Eq(v.subs(Q, qq), qq), qq)
    return [s for s in sols if s.is_real and s.is_nonnegative]


def _tidy(e):
    e = sp.simplify(sp.piecewise_fold(e))
    if isinstance(e, sp.Piecewise):  # sympy's convergence conditions: q > 0 always holds here
        e = e.args[0][0]
    return e


_BUDGET_EXIT = 86   # exit status of a child that used up its CPU-seconds


def _child(conn, fn, args, work):
    if work is not None:
        try:
            import os
            import resource
            # CPU-seconds, not wall-clock: the budget buys the same work however loaded the machine is.
            # At the soft limit the kernel sends SIGXCPU: exit at once, without a core dump
            signal.signal(signal.SIGXCPU, lambda *_: os._exit(_BUDGET_EXIT))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            soft = max(1, math.ceil(work))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
        except (ImportError, AttributeError, ValueError, OSError):  # pragma: no cover - no RLIMIT_CPU (Windows)
            pass
    try:
        conn.send(fn(*args))
    except Exception:  # a failed attempt is "no closed form", not an error of derive()
        conn.send(None)
    finally:
        conn.close()


def _attempt_context():
    """Where sympy attempts run: forked from a fork server that has imported this module (and sympy)
    once, so an attempt starts in milliseconds, spends its CPU budget on the integral, and never
    inherits the caller's threads (forking a process that runs JAX or Dask threads can deadlock);
    spawn where there is no fork server (Windows, macOS builds without it)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_attempts(tasks, work, timeout) -> dict:
    """Run ``{key: (fn, args)}`` each in a child process; ``{key: Attempt}``.

    A child is stopped by the kernel when it has used ``work`` CPU-seconds (SIGXCPU);
    ``timeout`` (wall-clock) only bounds the waiting.  Returns as soon as every child
    has ended.
    """
    if work == 0:
        return {key: Attempt(Outcome.BUDGET) for key in tasks}
    ctx = _attempt_context()
    running = {}
    for key, (fn, args) in tasks.items():
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, fn, args, work), daemon=True)
        proc.start()
        child.close()
        running[key] = (proc, parent)
    results = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while running:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        ready = multiprocessing.connection.wait([c for _, c in running.values()], timeout=left)
        for key in [k for k, (_, conn) in running.items() if conn in ready]:
            proc, conn = running.pop(key)
            try:
                value = conn.recv()
                results[key] = Attempt(Outcome.FOUND if value is not None else Outcome.NONE, value)
            except EOFError:  # the child died without an answer: out of CPU budget, or crashed
                proc.join()
                budget_codes = (_BUDGET_EXIT, -getattr(signal, "SIGXCPU", 0), -getattr(signal, "SIGKILL", 9))
                cpu_killed = proc.exitcode in budget_codes
                results[key] = Attempt(Outcome.BUDGET if cpu_killed else Outcome.NONE)
            proc.join()
            conn.close()
    for key, (proc, conn) in running.items():  # not waited for: stop our own children
        proc.terminate()
        proc.join()
        conn.close()
        results[key] = Attempt(Outcome.NOT_WAITED)
    return results


# --- Dirac deltas and known kernels ------------------------------------------------

def _deltas(expr, kinks):
    """(point, jump) for each kink where ``expr`` jumps: the Dirac deltas of its derivative."""
    out = []
    for k in kinks:
        left = _piece_at(expr, k - sp.Rational(1, 10 ** 6)).subs(x, k)
        right = _piece_at(expr, k + sp.Rational(1, 10 ** 6)).subs(x, k)
        jump = sp.nsimplify(sp.simplify(right - left), rational=False)
        if jump != 0:
            out.append((k, jump))
    return tuple(out)


def _E1(arg):
    return r"\int \mathcal{D}z\; " + arg


def _E2(arg):
    return r"\int \mathcal{D}z_1\, \mathcal{D}z_2\; " + arg


# --- rendering ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Style:
    heading: str      # format with {title}
    equation: str     # format with {tex}, {tag}
    paragraph: str    # format with {text}
    code: str         # format with {text}: plain-text form of a closed form
    markdown: bool


_MARKDOWN = _Style("## {title}\n", "$$\n{tex} \\tag{{{tag}}}\n$$\n", "{text}\n", "`{text}`\n", True)
_LATEX = _Style("\\section*{{{title}}}\n", "\\begin{{equation}}\n{tex} \\tag{{{tag}}}\n\\end{{equation}}\n",
                "{text}\n", "\\texttt{{{text}}}\n", False)

_DZ = r"\mathcal{D}z = \frac{dz}{\sqrt{2\pi}}\, e^{-z^2/2}"
_U = r"u_1 = \sqrt{q}\, z_1, \quad u_2 = \sqrt{q}\left[c\, z_1 + \sqrt{1-c^2}\, z_2\right]"


def _latex(e) -> str:
    return sp.latex(e, symbol_names={SIGMA_W: r"\sigma_w", SIGMA_B: r"\sigma_b"})


def _plain(e) -> str:
    return sp.sstr(e)


class _Em(str):
    """Emphasised prose."""


class _Code(str):
    """A name in code font (phi', meanfield.MeanField)."""


class _Plain(str):
    """Prose from outside this module (escaped for LaTeX)."""


class _Expr(NamedTuple):
    """A sympy expression inside prose (optionally ``lhs = expr``): plain text in Markdown, math in LaTeX."""
    expr: object
    lhs: str = ""


def _inline(part, markdown: bool) -> str:
    """One piece of a paragraph; a bare str is prose written here (LaTeX-safe, math in $...$)."""
    if isinstance(part, _Expr):
        lhs = f"{part.lhs} = " if part.lhs else ""
        return f"`{lhs}{_plain(part.expr)}`" if markdown else f"${lhs}{_latex(part.expr)}$"
    if isinstance(part, _Em):
        return f"*{part}*" if markdown else f"\\emph{{{_tex_escape(part)}}}"
    if isinstance(part, _Code):
        return f"`{part}`" if markdown else f"\\texttt{{{_tex_escape(part)}}}"
    if isinstance(part, _Plain):
        return str(part) if markdown else _tex_escape(part)
    return part


def _render(d: Derivation, st: _Style):
    def eq(tex, tag):
        return st.equation.format(tex=tex, tag=tag)

    def text(*parts):
        return st.paragraph.format(text="".join(_inline(p, st.markdown) for p in parts))

    def closed(label, tex_lhs, plain_lhs, moment_or_expr, source, tag):
        """A closed form as equation + plain line, or a sentence saying there is none."""
        if moment_or_expr is None:
            if source.startswith("undefined"):
                return [text(f"{label}: ", _Plain(source), ".")]
            return [text(f"{label}: ", _Plain(source), "; ", _Code("meanfield.MeanField"),
                         " evaluates it by quadrature.")]
        rhs = moment_or_expr
        out = [text(f"{label} (", _Plain(source), "):"), eq(f"{tex_lhs} = {_latex(rhs)}", tag)]
        if st.markdown:
            out.append(st.code.format(text=f"{plain_lhs} = {_plain(rhs)}"))
        return out

    sw, sb = _latex(d.sigma_w), _latex(d.sigma_b)
    numbers = not isinstance(d.sigma_w, sp.Symbol)
    yield (f"# Mean-field derivation for `{d.name}`\n" if st.markdown else
           f"\\section*{{Mean-field derivation for \\texttt{{{_tex_escape(d.name)}}}}}\n")
    yield text("Poole et al. (2016), ", _Em("Exponential expressivity in deep neural networks through "
               "transient chaos"), ": equation numbers (1)-(9) are theirs.  Weights "
               r"$W_{ij} \sim \mathcal{N}(0, \sigma_w^2/N)$, biases $b_i \sim \mathcal{N}(0, \sigma_b^2)$."
               + (f"  Here $\\sigma_w = {sw}$, $\\sigma_b = {sb}$." if numbers else ""))

    yield st.heading.format(title="1. The nonlinearity")
    dphi, d2phi = _with_deltas(d.dphi, d.deltas_d1), _with_deltas(d.d2phi, d.deltas_d2)
    yield eq(r"\phi(x) = " + _latex(d.phi), "phi")
    yield eq(r"\phi'(x) = " + _latex(dphi), "phi'")
    yield eq(r"\phi''(x) = " + _latex(d2phi), "phi''")
    if st.markdown:
        for lhs, e in (("phi(x)", d.phi), ("phi'(x)", dphi), ("phi''(x)", d2phi)):
            yield st.code.format(text=f"{lhs} = {_plain(e)}")
    for deltas, which, jumping in ((d.deltas_d1, "phi'", "phi"), (d.deltas_d2, "phi''", "phi'")):
        if deltas:
            parts = []
            for i, (k, w) in enumerate(deltas):
                parts += [", " if i else "", _Expr(w), " at ", _Expr(k, "x")]
            yield text(_Code(which), " holds Dirac deltas where ", _Code(jumping), " jumps, weighted by the "
                       "jump size: ", *parts, ".  The rest is the classical derivative, piece by piece.")

    yield st.heading.format(title="2. Length map (eq. 3)")
    yield eq(r"q^l = \mathcal{V}(q^{l-1} \mid \sigma_w, \sigma_b) = \sigma_w^2 "
             + _E1(r"\phi\!\left(\sqrt{q^{l-1}}\, z\right)^2") + r" + \sigma_b^2, \qquad " + _DZ, "3")
    yield from closed("Closed form", _E1(r"\phi(\sqrt{q}\,z)^2"), "E[phi(sqrt(q) z)^2]",
                      d.second.value, d.second.source, "3a")
    if d.length_map is not None:
        yield eq(r"\mathcal{V}(q) = " + _latex(d.length_map), "3b")
        if st.markdown:
            yield st.code.format(text=f"V(q) = {_plain(d.length_map)}")
    yield text("Slope (Stein's identity; holds at kinks, Dirac deltas of ", _Code("phi''"), " included):")
    yield eq(r"\frac{d\mathcal{V}}{dq} = \sigma_w^2 " + _E1(r"\left[\phi'^2 + \phi\,\phi''\right]")
             + r" = \frac{\sigma_w^2}{2q} " + _E1(r"\phi(\sqrt{q}\,z)^2 \left(z^2 - 1\right)"), "3c")
    if d.length_map_slope is not None:
        yield eq(r"\frac{d\mathcal{V}}{dq} = " + _latex(d.length_map_slope), "3d")
    if d.q_star:
        yield text("Fixed points of the closed-form map, $q^* = \\mathcal{V}(q^*)$: "
                   + ", ".join(f"${_latex(r)} \\approx {float(r):.10g}$" for r in d.q_star) + ".")

    yield st.heading.format(title="3. Covariance and correlation maps (eqs. 5, 6)")
    yield eq(r"q_{12}^l = \mathcal{C}(c_{12}^{l-1}, q_{11}^{l-1}, q_{22}^{l-1}) = \sigma_w^2 "
             + _E2(r"\phi(u_1)\,\phi(u_2)") + r" + \sigma_b^2", "5")
    yield eq(r"u_1 = \sqrt{q_{11}}\, z_1, \quad u_2 = \sqrt{q_{22}}\left[c_{12}\, z_1 + "
             r"\sqrt{1-c_{12}^2}\, z_2\right], \quad c_{12} = \frac{q_{12}}{\sqrt{q_{11} q_{22}}}", "5'")
    yield eq(r"c_{12}^l = \frac{1}{q^*}\, \mathcal{C}(c_{12}^{l-1}, q^*, q^*)", "6")
    yield from closed("At $q_{11} = q_{22} = q$, correlation $c$", _E2(r"\phi(u_1)\,\phi(u_2)"),
                      "E[phi(u1) phi(u2)]", d.cross.value, d.cross.source, "5a")

    yield st.heading.format(title="4. Slope of the C-map at c = 1 (eq. 7)")
    yield text("Differentiating eq. 5 in $q_{12}$ (Gaussian integration by parts: "
               r"$\partial_{q_{12}} E[\phi(u_1)\phi(u_2)] = E[\phi'(u_1)\phi'(u_2)]$) and setting $c = 1$:")
    yield eq(r"\chi_1 = \left.\frac{\partial c_{12}^l}{\partial c_{12}^{l-1}}\right|_{c=1} = \sigma_w^2 "
             + _E1(r"\left[\phi'\!\left(\sqrt{q^*}\,z\right)\right]^2"), "7")
    yield from closed("Closed form", _E1(r"\phi'(\sqrt{q}\,z)^2"), "E[phi'(sqrt(q) z)^2]",
                      d.slope.value, d.slope.source, "7a")
    if d.chi1 is not None:
        yield eq(r"\chi_1(q) = " + _latex(d.chi1), "7b")
        for r in d.q_star:
            yield text(f"At $q^* \\approx {float(r):.10g}$: $\\chi_1 \\approx "
                       f"{float(d.chi1.subs(Q, r)) if r != 0 else float(d.chi1.limit(Q, 0)):.10g}$.")

    yield st.heading.format(title="5. Curvature factor (eq. 9)")
    yield eq(r"\chi_2 = \sigma_w^2 " + _E1(r"\left[\phi''\!\left(\sqrt{q^*}\,z\right)\right]^2"), "9")
    yield text(r"$\chi_2 q^*$ is the second derivative of the C-map (6) at $c = 1$.")
    yield from closed("Closed form", _E1(r"\phi''(\sqrt{q}\,z)^2"), "E[phi''(sqrt(q) z)^2]",
                      d.curvature.value, d.curvature.source, "9a")
    if d.chi2 is not None:
        yield eq(r"\chi_2(q) = " + _latex(d.chi2), "9b")

    yield st.heading.format(title="6. Curvature and metric recursion (eq. 8)")
    yield eq(r"\bar{g}^{E,l} = \chi_1\, \bar{g}^{E,l-1}, \qquad (\bar\kappa^l)^2 = 3\,\frac{\chi_2}{\chi_1^2}"
             r" + \frac{1}{\chi_1} (\bar\kappa^{l-1})^2, \qquad \bar{g}^{E,1} = q^*, \quad "
             r"(\bar\kappa^1)^2 = 1/q^*", "8")
    if d.deltas_d2:
        yield text("Here ", _Code("phi''"), r" holds Dirac deltas, so $\chi_2$ (eq. 9) is undefined and eq. 8 "
                   "does not apply: a piecewise-linear network has zero curvature between its kinks.")

    yield st.heading.format(title="7. Depth scales (Schoenholz et al. 2017)")
    yield text("Equations S1, S2: Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, ", _Em("Deep information "
               "propagation"), " (ICLR 2017).  By Stein's identity the argument of the first log is (3c) at $q^*$.")
    yield eq(r"\xi_q^{-1} = -\log\left(\chi_1 + \sigma_w^2 " + _E1(r"\phi''\,\phi")
             + r"\right) = -\log \left.\frac{d\mathcal{V}}{dq}\right|_{q^*}", "S1")
    yield eq(r"\xi_c^{-1} = -\log\left(\sigma_w^2 " + _E2(r"\phi'(u_1)\,\phi'(u_2)")
             + r"\right)_{c = c^*,\; q = q^*}", "S2")
    yield from closed("Closed form", _E2(r"\phi'(u_1)\,\phi'(u_2)"), "E[phi'(u1) phi'(u2)]",
                      d.cross_slope.value, d.cross_slope.source, "S2a")


def _with_deltas(classical, deltas):
    """The classical derivative plus its Dirac deltas, as one sympy expression."""
    return classical + sp.Add(*(w * sp.DiracDelta(x - k) for k, w in deltas))


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch) or ("\\" + ch if ch in "&%$#_{}" else ch) for ch in text)
