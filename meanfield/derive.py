r"""Symbolic derivation of the mean-field theory for a given nonlinearity.

``derive(phi)`` writes out, for one nonlinearity, every quantity of Poole et al.
(2016) as an integral (eqs. 3, 5-9), the depth scales of Schoenholz et al. (2017),
and a closed form wherever one is found:

1. sympy integrates the Gaussian averages in a symbol :math:`q > 0`, one smooth
   piece of a ``Piecewise`` at a time (the pieces meet at the kinks).  sympy can
   run for minutes on integrals it cannot do, so every attempt runs in its own
   process, all in parallel, and whatever has not finished after ``timeout``
   seconds is stopped and reported as "no closed form found".
2. Where sympy fails, a small table of published kernels is used (ReLU:
   arc-cosine kernels, Cho & Saul 2009; erf: Williams 1997), marked
   "known result" with its reference; ``tests/test_derive.py`` checks every
   entry against the mpmath reference.

The result renders as Markdown (``$$``-delimited LaTeX, plus a plain-text line per
closed form so that it reads in a terminal) or as a standalone LaTeX document.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import re
import time

import sympy as sp

from .expression import x
from .nonlinearity import Nonlinearity, as_nonlinearity

#: Symbols of the derivation: variance, correlation, weight and bias scales.
Q = sp.Symbol("q", positive=True)
C = sp.Symbol("c", real=True)
SIGMA_W = sp.Symbol("sigma_w", positive=True)
SIGMA_B = sp.Symbol("sigma_b", nonnegative=True)
_Z1, _Z2 = sp.symbols("z_1 z_2", real=True)

#: Seconds allowed to all sympy attempts together (they run in parallel).
TIMEOUT = 5.0


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
    def correlation_map_slope(self):
        r""":math:`\sigma_w^2 E[\phi'(u_1)\phi'(u_2)]`: slope of the C-map at c (at q = q*), or None."""
        return self._scaled(self.cross_slope, bias=False)

    # --- rendering -----------------------------------------------------------------

    def to_markdown(self) -> str:
        """Markdown with ``$$`` LaTeX blocks and a plain-text line for every closed form."""
        return "\n".join(_render(self, _MARKDOWN)).rstrip() + "\n"

    def to_latex(self) -> str:
        """A standalone LaTeX document (article class, amsmath)."""
        body = "\n".join(_render(self, _LATEX)).rstrip()
        return (r"\documentclass{article}" "\n" r"\usepackage{amsmath}" "\n"
                r"\begin{document}" "\n" + body + "\n" r"\end{document}" "\n")


def derive(phi, sigma_w=None, sigma_b=None, timeout=TIMEOUT) -> Derivation:
    r"""Derive the mean-field quantities of ``phi`` symbolically.

    Parameters
    ----------
    phi : Nonlinearity or spec
        Registry name, expression string in ``x`` or sympy expression.
    sigma_w, sigma_b : float, optional
        Substituted for :math:`\sigma_w, \sigma_b` in every closed form when given.
    timeout : float
        Seconds allowed to all sympy integration attempts together.

    Returns
    -------
    Derivation
    """
    nl = as_nonlinearity(phi)
    sw = SIGMA_W if sigma_w is None else _exact(sigma_w, "sigma_w")
    sb = SIGMA_B if sigma_b is None else _exact(sigma_b, "sigma_b")
    kinks = tuple(sp.nsimplify(k) for k in nl.kinks)
    deltas_d1 = _deltas(nl.pw, kinks)
    deltas_d2 = _deltas(nl.d1, kinks)

    tasks = {"second": (_moment_1d, (nl.pw ** 2, kinks))}
    if not deltas_d1:
        tasks["slope"] = (_moment_1d, (nl.d1 ** 2, kinks))
    if not deltas_d2:
        tasks["curvature"] = (_moment_1d, (nl.d2 ** 2, kinks))
    if not kinks:  # sympy's double integrals of Piecewise are hopeless; smooth phi only
        tasks["cross"] = (_moment_2d, (nl.pw,))
        tasks["cross_slope"] = (_moment_2d, (nl.d1,))
    found = _run_with_deadline(tasks, timeout)

    known = _known_kernels(nl)
    jump_d1 = "undefined: phi jumps, so phi' holds a Dirac delta (the average is infinite)"
    jump_d2 = "undefined: phi' jumps, so phi'' holds a Dirac delta whose square is not integrable"
    moments = {
        "second": _moment(_E1(r"\phi(\sqrt{q}\,z)^2"), found, known, "second"),
        "slope": (_moment(_E1(r"\phi'(\sqrt{q}\,z)^2"), found, known, "slope") if not deltas_d1
                  else Moment(_E1(r"\phi'(\sqrt{q}\,z)^2"), None, jump_d1)),
        "curvature": (_moment(_E1(r"\phi''(\sqrt{q}\,z)^2"), found, known, "curvature") if not deltas_d2
                      else Moment(_E1(r"\phi''(\sqrt{q}\,z)^2"), None, jump_d2)),
        "cross": _moment(_E2(r"\phi(u_1)\,\phi(u_2)"), found, known, "cross"),
        "cross_slope": (_moment(_E2(r"\phi'(u_1)\,\phi'(u_2)"), found, known, "cross_slope")
                        if not deltas_d1 else Moment(_E2(r"\phi'(u_1)\,\phi'(u_2)"), None, jump_d1)),
    }
    subs = {SIGMA_W: sw, SIGMA_B: sb}
    d = Derivation(name=nl.name, phi=nl.pw, dphi=nl.d1, d2phi=nl.d2, deltas_d1=deltas_d1,
                   deltas_d2=deltas_d2, sigma_w=sw, sigma_b=sb, **moments)
    if sigma_w is not None and sigma_b is not None and d.length_map is not None:
        roots = _run_with_deadline({"q_star": (_fixed_points, (d.length_map.subs(subs),))}, timeout)
        d = dataclasses.replace(d, q_star=tuple(roots.get("q_star") or ()))
    return d


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


def _child(conn, fn, args):
    try:
        conn.send(fn(*args))
    except Exception:  # a failed attempt is "no closed form", not an error of derive()
        conn.send(None)
    finally:
        conn.close()


def _run_with_deadline(tasks, timeout):
    """Run ``{key: (fn, args)}`` each in a child process; results of those done by ``timeout``."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    running = {}
    for key, (fn, args) in tasks.items():
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
        proc.start()
        child.close()
        running[key] = (proc, parent)
    results = {}
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        for key in [k for k, (_, conn) in running.items() if conn.poll()]:
            proc, conn = running.pop(key)
            try:
                results[key] = conn.recv()
            except EOFError:  # the child died without an answer
                results[key] = None
            proc.join()
        time.sleep(0.02)
    for proc, conn in running.values():  # over time: stop our own children
        proc.terminate()
        proc.join()
        conn.close()
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


_NOT_FOUND = "no closed form found"
_CHO_SAUL = "known result, arc-cosine kernel: Cho & Saul 2009"
_WILLIAMS = "known result, Williams 1997"


def _known_kernels(nl: Nonlinearity) -> dict:
    """Published Gaussian kernels ``{moment: (expr, source)}`` for ReLU and erf (else empty).

    The 1D moments are the kernels at c = 1.
    """
    if nl.key == Nonlinearity("relu").key:
        theta = sp.acos(C)
        cross = Q / (2 * sp.pi) * (sp.sqrt(1 - C ** 2) + (sp.pi - theta) * C)
        cross_slope = (sp.pi - theta) / (2 * sp.pi)
        source = _CHO_SAUL
    elif nl.key == Nonlinearity("erf").key:
        cross = 2 / sp.pi * sp.asin(2 * C * Q / (1 + 2 * Q))
        # d/dq12 of the Williams kernel, with q12 = c q
        cross_slope = 4 / (sp.pi * sp.sqrt((1 + 2 * Q) ** 2 - 4 * C ** 2 * Q ** 2))
        source = _WILLIAMS
    else:
        return {}
    return {"cross": (cross, source), "cross_slope": (cross_slope, source),
            "second": (sp.simplify(cross.subs(C, 1)), source),
            "slope": (sp.simplify(cross_slope.subs(C, 1)), source)}


def _moment(integrand, found, known, key) -> Moment:
    if found.get(key) is not None:
        return Moment(integrand, found[key], "sympy")
    if key in known:
        return Moment(integrand, *known[key])
    return Moment(integrand, None, _NOT_FOUND)


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


def _render(d: Derivation, st: _Style):
    def eq(tex, tag):
        return st.equation.format(tex=tex, tag=tag)

    def text(s):
        if not st.markdown:
            s = re.sub(r"\*([^*]+)\*", r"\\emph{\1}", s.replace("`", ""))
        return st.paragraph.format(text=s)

    def closed(label, tex_lhs, plain_lhs, moment_or_expr, source, tag):
        """A closed form as equation + plain line, or a sentence saying there is none."""
        if moment_or_expr is None:
            if source == _NOT_FOUND:
                return [text(f"{label}: none found (sympy failed or ran out of time); "
                             f"`meanfield.MeanField` evaluates it by quadrature.")]
            return [text(f"{label}: {source}.")]
        rhs = moment_or_expr
        out = [text(f"{label} ({source}):"), eq(f"{tex_lhs} = {_latex(rhs)}", tag)]
        if st.markdown:
            out.append(st.code.format(text=f"{plain_lhs} = {_plain(rhs)}"))
        return out

    sw, sb = _latex(d.sigma_w), _latex(d.sigma_b)
    numbers = not isinstance(d.sigma_w, sp.Symbol)
    yield (f"# Mean-field derivation for {d.name}\n" if st.markdown else
           f"\\section*{{Mean-field derivation for {_tex_escape(d.name)}}}\n")
    yield text("Poole et al. (2016), *Exponential expressivity in deep neural networks through "
               "transient chaos*: equation numbers (1)-(9) are theirs.  Weights "
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
            parts = ", ".join(f"{_plain(w)} at x = {_plain(k)}" for k, w in deltas)
            yield text(f"`{which}` holds Dirac deltas where `{jumping}` jumps, weighted by the jump "
                       f"size: {parts}.  The rest is the classical derivative, piece by piece.")

    yield st.heading.format(title="2. Length map (eq. 3)")
    yield eq(r"q^l = \mathcal{V}(q^{l-1} \mid \sigma_w, \sigma_b) = \sigma_w^2 "
             + _E1(r"\phi\!\left(\sqrt{q^{l-1}}\, z\right)^2") + r" + \sigma_b^2, \qquad " + _DZ, "3")
    yield from closed("Closed form", _E1(r"\phi(\sqrt{q}\,z)^2"), "E[phi(sqrt(q) z)^2]",
                      d.second.value, d.second.source, "3a")
    if d.length_map is not None:
        yield eq(r"\mathcal{V}(q) = " + _latex(d.length_map), "3b")
        if st.markdown:
            yield st.code.format(text=f"V(q) = {_plain(d.length_map)}")
    yield text("Slope (Stein's identity; holds at kinks, Dirac deltas of phi'' included):")
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
    yield from closed(f"At $q_{{11}} = q_{{22}} = q$, correlation $c$", _E2(r"\phi(u_1)\,\phi(u_2)"),
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
        yield text("Here phi'' holds Dirac deltas, so chi2 (eq. 9) is undefined and eq. 8 does not apply: "
                   "a piecewise-linear network has zero curvature between its kinks.")

    yield st.heading.format(title="7. Depth scales (Schoenholz et al. 2017)")
    yield text("Equations S1, S2: Schoenholz, Gilmer, Ganguli, Sohl-Dickstein, *Deep information "
               "propagation* (ICLR 2017).  By Stein's identity the argument of the first log is (3c) at q*.")
    yield eq(r"\xi_q^{-1} = -\log\left(\chi_1 + \sigma_w^2 " + _E1(r"\phi''\,\phi")
             + r"\right) = -\log \left.\frac{d\mathcal{V}}{dq}\right|_{q^*}", "S1")
    yield eq(r"\xi_c^{-1} = -\log\left(\sigma_w^2 " + _E2(r"\phi'(u_1)\,\phi'(u_2)")
             + r"\right)_{c = c^*,\; q = q^*}", "S2")
    yield from closed("Closed form", _E2(r"\phi'(u_1)\,\phi'(u_2)"), "E[phi'(u1) phi'(u2)]",
                      d.cross_slope.value, d.cross_slope.source, "S2a")


def _with_deltas(classical, deltas):
    """The classical derivative plus its Dirac deltas, as one sympy expression."""
    return classical + sp.Add(*(w * sp.DiracDelta(x - k) for k, w in deltas))


def _tex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "&%$#_{}" else ch for ch in text)
