"""Compare the mean-field theory with finite random networks, layer by layer.

``validate(phi, sigma_w, sigma_b, width, depth, seed)`` draws ``n_seeds`` random
networks of constant width, pushes circles (Poole et al. 2016, Sec. 4) through them
and compares, at every layer,

==========  =======================================================  ===========
quantity    simulation                                               theory
==========  =======================================================  ===========
q           q^l (eq. 2) of circles started at q^1 = q0               eq. (3)
c           c12^l (eq. 4) of circle points dtheta apart, c^1=cos    eq. (5)-(6)
chi1        growth |J u|^2/|u|^2 of perturbations into layer l       eq. (7)
g_E         g_E / N on the circle started at q*                      eq. (8)
kappa2      N <g_G> / <g_E> on the same circle (curve_curvature2)   eq. (8)
==========  =======================================================  ===========

Each network s = 1..n gives one estimate e_s of every row (the mean over the
circle's samples theta, or for kappa2 the ratio of theta-averaged metrics).  The
networks are independent, so the e_s are i.i.d.; each is an average over N neurons
and close to Gaussian.

The verdict is a hypothesis test per row, with a stated family-wise false-alarm rate
-------------------------------------------------------------------------------------
The simulated value is the mean m of the e_s; its standard error is
SE = sd(e_s) / sqrt(n) (sample standard deviation, n - 1 degrees of freedom).  A
finite network is not the N -> infinity limit: every estimate carries a systematic
finite-width bias of order 1/N (q^l is an unbiased one-step map of the previous
layer's q, but V is curved, so fluctuations of O(1/N) in variance shift the mean by
O(1/N) per layer; c, chi1, g_E and kappa2 are ratios or products of such averages).
The row allows for it:

    bias allowance  b = (B0 + B1 (l - 2)) / N  for l >= 2   (relative, or absolute for c)

(zero, up to rounding, at layer 1, where the circle is placed exactly): a jump B0 at
the first simulated layer and B1 per further layer.  The constants ``BIAS`` are 1.3-3 times
the largest coefficients measured with 150-300 networks at widths 25-200
(docs/simulation.md); kappa2's B0 = 20 is large because its layer-2 bias grows with
sigma_w (-3/N, -6/N, -13/N for tanh at sigma_w = 2.5, 4, 8).  The row's statistic is

    z = max(0, |m - theory| - b) / SE

and the row fails when z > t*, the two-sided Student-t(n - 1) quantile at the
Sidak-corrected level alpha_row = 1 - (1 - alpha)^(1 / R) for the report's R rows.
When the theory is right and |bias| <= b, the probability that *any* row of the
report fails is at most alpha (``FAMILY_ALPHA`` = 1% by default; Sidak is exact for
independent rows and conservative for the positively correlated rows of one curve).
Rows whose networks all agree to rounding (SE = 0) fail exactly when the error
exceeds b.

Power: each row reports ``detectable``, the smallest deviation of the true value
from the theory (beyond b, in the error's units) that the row detects with
probability ``POWER`` = 80%:  b + (t* + t_0.8(n - 1)) SE.  It shrinks like
1 / sqrt(n N) until the 1/N bias allowance dominates; with few networks the t
quantiles are large (n = 5, R = 134 rows, alpha = 1%: t* = 16.7; n = 16, R = 180:
t* = 5.5), so use more networks for more power.  Errors of q, chi1, g_E and kappa2 are relative to the
theory, errors of c (a correlation in [-1, 1]) absolute.

Widths below ``MIN_VALIDATED_WIDTH`` (outside the range the bias allowance was measured
on) and fewer than 5 networks (little power) give a note in the report.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from meanfield.nonlinearity import as_nonlinearity

from ..errors import SimError
from ..geometry.curves import circle
from ..geometry.measure import correlation, curve_curvature2, normalised_metric, perturbation_growth, squared_length
from ..geometry.propagate import propagate_iter
from ..networks.network import RandomNetwork

#: Family-wise false-alarm rate of a report when the theory is right.
FAMILY_ALPHA = 0.01
#: Probability with which a row detects a deviation of ``detectable``.
POWER = 0.8
#: Bias allowance b = (B0 + B1 (l - 2)) / N from layer 2 on, as BIAS[quantity] = (B0, B1)
#: (relative; absolute for c).  Measured coefficients: docs/simulation.md.
BIAS = {"q": (2.0, 1.0), "c": (1.0, 0.5), "chi1": (3.0, 0.5), "g_E": (2.0, 1.0), "kappa2": (20.0, 1.0)}
#: Whether each error is relative to the theory (else absolute).
RELATIVE = {"q": True, "c": False, "chi1": True, "g_E": True, "kappa2": True}
#: Order of the quantities in tables and plots.
QUANTITIES = ("q", "c", "chi1", "g_E", "kappa2")
#: The bias allowance was measured down to this width; below it the report warns.
MIN_VALIDATED_WIDTH = 50


class ValidationError(SimError):
    """``validate`` cannot run with these arguments."""


class TooLargeError(ValidationError):
    """The networks asked for would not fit in memory."""


def memory_estimate(width: int, depth: int, n_points: int) -> int:
    """Bytes ``validate`` needs at peak: one network's D float64 weight matrices N x N
    (plus the one being drawn) and the stacked position/velocity/acceleration arrays."""
    width, depth, n_points = int(width), int(depth), int(n_points)
    return 8 * ((depth + 1) * width * width + (depth + 1) * width + 12 * 3 * n_points * width)


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2 ** 63


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def check_memory(width: int, depth: int, n_points: int, limit: int | None = None, *,
                 names=("width", "depth")) -> int:
    """Raise TooLargeError (naming ``names``) when the estimate exceeds ``limit``
    (default: the memory available now); return the estimate."""
    need = memory_estimate(width, depth, n_points)
    limit = available_memory() if limit is None else int(limit)
    if need > limit:
        raise TooLargeError(f"{names[0]} {width} and {names[1]} {depth} need about {_gb(need)} of memory "
                            f"({depth} weight matrices of {width} x {width} float64 and one being drawn), more than "
                            f"the {_gb(limit)} available; lower {names[0]} or {names[1]}")
    return need


@dataclass(frozen=True)
class ValidationRow:
    """One comparison (see the module docstring for the statistics).

    Attributes
    ----------
    theory, simulation : float
        Mean-field prediction and mean over networks of the per-network estimates.
    spread : float
        Standard deviation of the per-network estimates (ddof = 1).
    standard_error : float
        spread / sqrt(n_seeds), in the quantity's units.
    relative : bool
        Whether ``error``, ``bias_allowance``, ``tolerance`` and ``detectable`` are
        relative to |theory| (else absolute, for c).
    error : float
        |simulation - theory| (relative or absolute).
    bias_allowance : float
        b = (B0 + B1 (layer - 2)) / N from layer 2 (``BIAS``), the allowed finite-width bias.
    tolerance : float
        b + t* SE: the largest error that passes.
    detectable : float
        b + (t* + t_power) SE: the deviation detected with probability ``POWER``.
    z : float
        max(0, |simulation - theory| - b) / SE (inf when SE = 0 and the error exceeds b).
    passed : bool
        z <= t*.
    """

    quantity: str
    condition: str
    layer: int
    theory: float
    simulation: float
    spread: float
    standard_error: float
    relative: bool
    error: float
    bias_allowance: float
    tolerance: float
    detectable: float
    z: float
    passed: bool


@dataclass(frozen=True)
class ValidationReport:
    """Result of :func:`validate`: one row per quantity, condition and layer.

    ``alpha`` is the family-wise false-alarm rate, ``alpha_row`` the Sidak per-row
    level and ``t_critical`` the two-sided Student-t(n_seeds - 1) quantile at it.
    ``notes`` lists warnings (width below the validated range, few networks).
    """

    phi: str
    sigma_w: float
    sigma_b: float
    width: int
    depth: int
    n_seeds: int
    n_points: int
    rows: tuple[ValidationRow, ...]
    alpha: float = FAMILY_ALPHA
    alpha_row: float = float("nan")
    t_critical: float = float("nan")
    theory_sigma_w: float | None = None
    skipped: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when no row rejects the theory."""
        return all(r.passed for r in self.rows)

    def failures(self) -> list[ValidationRow]:
        return [r for r in self.rows if not r.passed]

    def select(self, quantity: str, condition: str | None = None) -> list[ValidationRow]:
        """Rows of one quantity (and condition), in layer order."""
        return [r for r in self.rows
                if r.quantity == quantity and (condition is None or r.condition == condition)]

    def _title(self) -> str:
        theory = "" if self.theory_sigma_w is None else f" (theory at sigma_w = {self.theory_sigma_w:g})"
        return (f"phi = `{self.phi}`, sigma_w = {self.sigma_w:g}{theory}, sigma_b = {self.sigma_b:g}, "
                f"width {self.width}, depth {self.depth}, {self.n_seeds} networks x {self.n_points} points")

    def to_markdown(self) -> str:
        """The report as a Markdown table, preceded by the verdict and the test it used."""
        n_fail = len(self.failures())
        head = [(f"**{'PASS' if self.passed else 'FAIL'}**: {self._title()}; "
                 f"{len(self.rows) - n_fail}/{len(self.rows)} rows pass."),
                "",
                (f"Test: per row, z = max(0, |sim - theory| - b) / SE against the Student-t({self.n_seeds - 1}) "
                 f"quantile t* = {self.t_critical:.3g} at the Sidak level {self.alpha_row:.2g}, so that a right "
                 f"theory fails some row with probability <= {self.alpha:g} (family-wise). SE = standard error "
                 f"across networks; b = finite-width bias allowance; tolerance = b + t* SE; detectable = "
                 f"deviation caught with probability {POWER:g}. Errors are **relative** for q, chi1, g_E, "
                 f"kappa2 and **absolute** for c (kind column)."),
                ""]
        for note in self.notes:
            head += [f"_warning: {note}_", ""]
        for note in self.skipped:
            head += [f"_skipped: {note}_", ""]
        lines = head + [
            ("| quantity | condition | layer | theory | simulation | SE | kind | error | bias allowance "
             "| tolerance | detectable | z | passed |"),
            "|---|---|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|"]
        for r in self.rows:
            lines.append(f"| {r.quantity} | {r.condition} | {r.layer} | {r.theory:.5g} | {r.simulation:.5g} | "
                         f"{r.standard_error:.2g} | {'rel' if r.relative else 'abs'} | {r.error:.3g} | "
                         f"{r.bias_allowance:.2g} | {r.tolerance:.3g} | {r.detectable:.3g} | {r.z:.3g} | "
                         f"{'yes' if r.passed else '**no**'} |")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """Plain data (JSON-ready): the settings, the verdict and every row."""
        d = asdict(self)
        d["passed"] = self.passed
        d["rows"] = [asdict(r) for r in self.rows]
        d["skipped"], d["notes"] = list(self.skipped), list(self.notes)
        return d

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (inf as the string "inf" is avoided: z = inf becomes null)."""
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v
        return json.dumps(clean(self.to_dict()), indent=1)

    def save(self, path) -> None:
        """Write :meth:`to_json` to ``path``."""
        with open(path, "w") as f:
            f.write(self.to_json() + "\n")

    def to_csv(self, path) -> None:
        """Write the rows as CSV (one header line; the settings are in :meth:`save`)."""
        names = list(ValidationRow.__dataclass_fields__)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for r in self.rows:
                w.writerow([getattr(r, n) for n in names])

    def plot(self):
        """Theory (lines) against simulation (points, error bars = t* SE), one panel per quantity.

        A 2 x 3 grid: q, c, chi1, g_E, kappa2 and a sixth panel with every row's
        z / t* (a row fails above 1).  Failed rows are circled in red.  Returns the Figure.
        """
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D

        names = {"q": r"$q^l$ (rel. error)", "c": r"$c_{12}^l$ (abs. error)",
                 "chi1": r"$\chi_1$ growth into layer $l$ (rel.)", "g_E": r"$\bar g^{E,l}$ (rel.)",
                 "kappa2": r"$(\bar\kappa^l)^2$ (rel.)"}
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
        axes = axes.ravel()
        for a in axes:
            a.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax, qn in zip(axes, QUANTITIES):
            rows_q = self.select(qn)
            if not rows_q:
                import textwrap

                why = textwrap.shorten(self.skipped[0], 180) if self.skipped else ""
                ax.text(0.5, 0.5, textwrap.fill(f"skipped: {why}", 45), ha="center", va="center",
                        transform=ax.transAxes, fontsize=7)
                ax.set_title(names[qn])
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            conditions = list(dict.fromkeys(r.condition for r in rows_q))
            handles = []
            for i, cond in enumerate(conditions):
                rows = self.select(qn, cond)
                layer = np.array([r.layer for r in rows])
                color = f"C{i}"
                ax.plot(layer, [r.theory for r in rows], "-", color=color, lw=1.5)
                ax.errorbar(layer, [r.simulation for r in rows],
                            yerr=[self.t_critical * r.standard_error for r in rows], fmt="o", ms=3.5,
                            color=color, elinewidth=0.8, capsize=0)
                bad = [r for r in rows if not r.passed]
                if bad:
                    ax.plot([r.layer for r in bad], [r.simulation for r in bad], "o", ms=9, mfc="none",
                            mec="red", mew=1.5)
                if len(conditions) > 1:
                    handles.append(Line2D([], [], color=color, lw=1.5, label=cond))
            handles += [Line2D([], [], color="0.3", lw=1.5, label="theory"),
                        Line2D([], [], color="0.3", marker="o", ls="none", ms=4,
                               label=r"simulation $\pm t^*$SE")]
            if any(not r.passed for r in rows_q):
                handles.append(Line2D([], [], color="red", marker="o", mfc="none", ls="none", ms=8,
                                      label="failed row"))
            if qn in ("g_E", "kappa2"):
                ax.set_yscale("log")
            ax.set_xlabel("layer l")
            ax.set_title(names[qn])
            ax.legend(handles=handles, fontsize=7, frameon=False)
        ax = axes[5]
        for i, qn in enumerate(QUANTITIES):
            rows = self.select(qn)
            if rows:
                ax.plot([r.layer + 0.12 * (i - 2) for r in rows],
                        [min(r.z / self.t_critical, 3.0) for r in rows], "o", ms=3, color=f"C{i}", label=qn)
        ax.axhline(1.0, color="red", lw=1, ls="--", label="fails above")
        ax.set_xlabel("layer l")
        ax.set_ylabel(r"$z / t^*$ (clipped at 3)")
        ax.set_title(f"test statistic per row (family-wise $\\alpha$ = {self.alpha:g})")
        ax.legend(fontsize=7, frameon=False, ncol=2)
        verdict = "pass" if self.passed else f"FAIL ({len(self.failures())} rows)"
        fig.suptitle(self._title().replace("`", "") + f": {verdict}", fontsize=10)
        fig.tight_layout()
        return fig


def _shifts(n_points: int, c0s) -> list[int]:
    """Circle shifts k whose correlation cos(2 pi k / n) is nearest each requested c^1."""
    ks = [int(np.rint(n_points * np.arccos(np.clip(c, -1, 1)) / (2 * np.pi))) for c in c0s]
    return sorted({k for k in ks if 0 < k < n_points})


def _t_quantiles(alpha: float, n_rows: int, n_seeds: int) -> tuple[float, float, float]:
    """(Sidak per-row level, two-sided t quantile at it, one-sided t quantile at POWER), dof n_seeds - 1."""
    from scipy import stats

    alpha_row = -math.expm1(math.log1p(-alpha) / max(n_rows, 1))
    dof = n_seeds - 1
    return alpha_row, float(stats.t.isf(alpha_row / 2, dof)), float(stats.t.ppf(POWER, dof))


def _row(quantity, condition, layer, theory, estimates, width, t_crit, t_power) -> ValidationRow:
    est = np.asarray(estimates, dtype=np.float64)
    n = len(est)
    sim, spread = float(np.mean(est)), float(np.std(est, ddof=1))
    se = spread / math.sqrt(n)
    theory = float(theory)
    relative = RELATIVE[quantity]
    scale = abs(theory) if relative and theory != 0 else 1.0
    dev = abs(sim - theory)
    # plus 1e-12 for rounding: layer 1 is placed exactly, and networks may agree to the last bit
    b0, b1 = BIAS[quantity]
    bias = ((b0 + b1 * (layer - 2)) / width * (layer >= 2) + 1e-12) * scale
    excess = max(0.0, dev - bias)
    z = excess / se if se > 0 else (0.0 if excess == 0 else math.inf)
    return ValidationRow(quantity, condition, int(layer), theory, sim, spread, se, relative, dev / scale,
                         bias / scale, (bias + t_crit * se) / scale, (bias + (t_crit + t_power) * se) / scale,
                         float(z), bool(z <= t_crit))


def _check_arguments(width, depth, seed, n_seeds, n_points, alpha):
    def as_int(name, v, low):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValidationError(f"{name} must be an integer >= {low}, got {v!r}")
        return int(v)

    width, depth = as_int("width", width, 1), as_int("depth", depth, 2)
    n_seeds, n_points = as_int("n_seeds", n_seeds, 2), as_int("n_points", n_points, 8)
    seed = as_int("seed", seed, 0)
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValidationError(f"alpha (the family-wise false-alarm rate) must be in (0, 1), got {alpha!r}")
    return width, depth, seed, n_seeds, n_points, float(alpha)


def validate(phi, sigma_w: float, sigma_b: float, width: int = 1000, depth: int = 20, seed: int = 0, *,
             n_seeds: int = 16, n_points: int = 50, q0_factors=(0.25, 1.0, 4.0),
             c0s=(0.9, 0.5, 0.0), alpha: float = FAMILY_ALPHA, theory_sigma_w: float | None = None,
             max_memory: int | None = None, progress: bool = True) -> ValidationReport:
    """Check the mean-field predictions against ``n_seeds`` random networks.

    Parameters
    ----------
    phi : nonlinearity spec (registry name, expression string, sympy expr, Nonlinearity)
    sigma_w, sigma_b : float
        Standard deviations of weights (times sqrt(N)) and biases.
    width : int
        N_l for every layer, >= 1 (the bias allowance is validated for
        N >= ``MIN_VALIDATED_WIDTH``; below it the report carries a note).
    depth : int
        Number of layers D >= 2.
    seed : int
        >= 0.  Network k uses seed (seed, k); its circles use (seed, k, 1) etc.
    n_seeds : int
        Independent networks, >= 2 (their spread gives the standard error).
    n_points : int
        Samples of each circle, >= 8.
    q0_factors : sequence of float
        Circles started at q^1 = factor * q* for the q rows (1.0 is the circle at q*).
    c0s : sequence of float
        Initial correlations c^1 for the c rows, rounded to the circle's grid
        (c^1 = cos(2 pi k / n_points)).
    alpha : float
        Family-wise false-alarm rate of the whole report (module docstring).
    theory_sigma_w : float, optional
        Compare with the theory at this sigma_w instead (to measure the test's power
        against a wrong theory); the networks still use ``sigma_w``.
    max_memory : int, optional
        Refuse (TooLargeError) when the networks need more bytes than this; default
        the memory available now.
    progress : bool
        Network counter on stderr.

    Returns
    -------
    ValidationReport

    Raises
    ------
    ValidationError
        Bad arguments; TooLargeError when the networks would not fit in memory.
    """
    from meanfield import MeanField  # the theory engine; imported late so sim loads without it

    width, depth, seed, n_seeds, n_points, alpha = _check_arguments(width, depth, seed, n_seeds, n_points, alpha)
    check_memory(width, depth, n_points, max_memory)
    nl = as_nonlinearity(phi)
    mf = MeanField(nl, sigma_w if theory_sigma_w is None else theory_sigma_w, sigma_b)
    q_star = float(mf.q_star())
    chi1 = float(mf.chi1())
    skipped, notes = [], []
    if width < MIN_VALIDATED_WIDTH:
        notes.append(f"width {width} is below the validated range (>= {MIN_VALIDATED_WIDTH}): the finite-width "
                     f"bias allowance was not measured there, so the false-alarm rate is not guaranteed")
    if n_seeds < 5:
        notes.append(f"only {n_seeds} networks: the standard errors have {n_seeds - 1} degrees of freedom and "
                     f"the test has little power (see the detectable column); use 5 or more")
    try:
        geometry = mf.curvature(depth)
        g_theory, k_theory = np.asarray(geometry.g_E), np.asarray(geometry.kappa2)
    except ValueError as exc:  # UndefinedQuantityError: piecewise-linear phi has no chi2
        g_theory = q_star * chi1 ** np.arange(depth)  # eq. (8) first half needs only chi1
        k_theory = None
        skipped.append(f"kappa2 ({exc})")
    shifts = _shifts(n_points, c0s)
    c1 = {k: float(np.cos(2 * np.pi * k / n_points)) for k in shifts}
    q0s = [float(f) * q_star for f in q0_factors]

    # samples[(quantity, condition)][layer] -> [one estimate per network]
    samples: dict = {}

    def add(quantity, condition, layer, estimate):
        samples.setdefault((quantity, condition), {}).setdefault(layer, []).append(float(estimate))

    for s in range(n_seeds):
        if progress:
            print(f"\rvalidate: network {s + 1}/{n_seeds}", end="", file=sys.stderr, flush=True)
        net = RandomNetwork(nl, [width] * (depth + 1), sigma_w, sigma_b, seed=(seed, s))
        previous = None
        for state in propagate_iter(net, circle(width, q_star, n_points, seed=(seed, s, 0)), order=2):
            l, h = state.layer, state.position
            for k in shifts:
                add("c", f"c1={c1[k]:.3f}", l, np.mean(correlation(h, np.roll(h, -k, axis=0))))
            add("g_E", "q1=q*", l, np.mean(normalised_metric(state.velocity)))
            if k_theory is not None:
                add("kappa2", "q1=q*", l, curve_curvature2(state.velocity, state.acceleration))
            if previous is not None:
                add("chi1", "q1=q*", l, np.mean(perturbation_growth(net, l, previous)))
            previous = h
            if any(abs(q0 / q_star - 1) < 1e-12 for q0 in q0s):
                add("q", "q1=q*", l, np.mean(squared_length(h)))
        for i, q0 in enumerate(q0s):
            if abs(q0 / q_star - 1) < 1e-12:
                continue
            for state in propagate_iter(net, circle(width, q0, n_points, seed=(seed, s, 1, i)), order=0):
                add("q", f"q1={q0:.4g}", state.layer, np.mean(squared_length(state.position)))
        del net
    if progress:
        print(file=sys.stderr)

    plan = []  # (quantity, condition, layer, theory, estimates)
    for q0 in q0s:
        cond = "q1=q*" if abs(q0 / q_star - 1) < 1e-12 else f"q1={q0:.4g}"
        theory = np.asarray(mf.length_trajectory(q0, depth))
        plan += [("q", cond, l, theory[l - 1], est) for l, est in samples[("q", cond)].items()]
    for k in shifts:
        cond = f"c1={c1[k]:.3f}"
        theory = np.asarray(mf.correlation_trajectory(c1[k], depth))
        plan += [("c", cond, l, theory[l - 1], est) for l, est in samples[("c", cond)].items()]
    plan += [("chi1", "q1=q*", l, chi1, est) for l, est in samples[("chi1", "q1=q*")].items()]
    plan += [("g_E", "q1=q*", l, g_theory[l - 1], est) for l, est in samples[("g_E", "q1=q*")].items()]
    if k_theory is not None:
        plan += [("kappa2", "q1=q*", l, k_theory[l - 1], est) for l, est in samples[("kappa2", "q1=q*")].items()]
    alpha_row, t_crit, t_power = _t_quantiles(alpha, len(plan), n_seeds)
    rows = tuple(_row(qn, cond, l, th, est, width, t_crit, t_power) for qn, cond, l, th, est in plan)
    return ValidationReport(nl.name, float(sigma_w), float(sigma_b), width, depth, n_seeds, n_points, rows,
                            alpha, alpha_row, t_crit, None if theory_sigma_w is None else float(theory_sigma_w),
                            tuple(skipped), tuple(notes))
