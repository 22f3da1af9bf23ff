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

The simulated value is the mean over networks of each network's estimate (the mean
over the samples theta, or for kappa2 the ratio of theta-averaged metrics); the
spread is the standard deviation of the per-point values over samples and networks
(Poole SM App. D: error bars across inputs).

Tolerances (``TOLERANCES``) hold at width 1000 and scale like sqrt(1000 / N): the
finite-width fluctuations of every measured quantity are averages over N neurons.
q is relative (5%), c absolute (0.05), g_E and kappa2 relative (10%); past layer 20
their tolerance grows like sqrt(l / 20), because they are products of l per-layer
factors whose independent O(1/sqrt N) fluctuations add up like a random walk.
chi1 is relative (5%): a single growth factor |J u|^2/|u|^2 is an average of N
terms phi'(h_j)^2 u_j^2, so its relative fluctuation is about
sqrt(Var[phi'^2] / N) / E[phi'^2] < sqrt(2 / N) = 4.5% at N = 1000 for a single
point and network; the mean over the circle's points and the networks shrinks that
well below 5%, which leaves room for the O(1/N) bias of the ratio.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from meanfield.nonlinearity import as_nonlinearity

from .manifolds import circle
from .measure import (correlation, curve_curvature2, normalised_curvature2, normalised_metric, perturbation_growth,
                      squared_length)
from .network import RandomNetwork
from .propagate import propagate_iter

#: Tolerances at width 1000 (Poole et al.'s Fig. 1-4 width).
TOLERANCES = {"q": 0.05, "c": 0.05, "chi1": 0.05, "g_E": 0.10, "kappa2": 0.10}
#: Whether each tolerance is relative to the theory (else absolute).
RELATIVE = {"q": True, "c": False, "chi1": True, "g_E": True, "kappa2": True}
#: Order of the quantities in tables and plots.
QUANTITIES = ("q", "c", "chi1", "g_E", "kappa2")
REFERENCE_WIDTH = 1000
REFERENCE_DEPTH = 20


def tolerance(quantity: str, width: int, layer: int, base: float | None = None) -> float:
    """Tolerance for ``quantity`` at ``layer`` of a width-``width`` network.

    base * sqrt(1000 / width), times sqrt(layer / 20) past layer 20 for the products
    g_E and kappa2 (see the module docstring).
    """
    base = TOLERANCES[quantity] if base is None else base
    tol = base * np.sqrt(REFERENCE_WIDTH / width)
    if quantity in ("g_E", "kappa2") and layer > REFERENCE_DEPTH:
        tol *= np.sqrt(layer / REFERENCE_DEPTH)
    return float(tol)


@dataclass(frozen=True)
class ValidationRow:
    """One comparison: ``simulation`` is the mean, ``spread`` the standard deviation."""

    quantity: str
    condition: str
    layer: int
    theory: float
    simulation: float
    spread: float
    error: float
    tolerance: float
    passed: bool


@dataclass(frozen=True)
class ValidationReport:
    """Result of :func:`validate`: one row per quantity, condition and layer."""

    phi: str
    sigma_w: float
    sigma_b: float
    width: int
    depth: int
    n_seeds: int
    n_points: int
    rows: tuple[ValidationRow, ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when every row is within its tolerance."""
        return all(r.passed for r in self.rows)

    def failures(self) -> list[ValidationRow]:
        return [r for r in self.rows if not r.passed]

    def select(self, quantity: str, condition: str | None = None) -> list[ValidationRow]:
        """Rows of one quantity (and condition), in layer order."""
        return [r for r in self.rows
                if r.quantity == quantity and (condition is None or r.condition == condition)]

    def to_markdown(self) -> str:
        """The report as a Markdown table, preceded by a one-line verdict."""
        head = (f"**{'PASS' if self.passed else 'FAIL'}**: phi = `{self.phi}`, sigma_w = {self.sigma_w:g}, "
                f"sigma_b = {self.sigma_b:g}, width {self.width}, depth {self.depth}, "
                f"{self.n_seeds} networks x {self.n_points} points; "
                f"{len(self.rows) - len(self.failures())}/{len(self.rows)} rows within tolerance.")
        lines = [head, ""]
        for note in self.skipped:
            lines += [f"_skipped: {note}_", ""]
        lines += ["| quantity | condition | layer | theory | simulation | spread | error | tolerance | passed |",
                  "|---|---|---:|---:|---:|---:|---:|---:|:---:|"]
        for r in self.rows:
            lines.append(f"| {r.quantity} | {r.condition} | {r.layer} | {r.theory:.5g} | {r.simulation:.5g} | "
                         f"{r.spread:.3g} | {r.error:.3g} | {r.tolerance:.3g} | {'yes' if r.passed else '**no**'} |")
        return "\n".join(lines) + "\n"

    def plot(self):
        """Theory (lines) against simulation (dots, error bars = spread), one panel per quantity.

        Failed rows are circled in red.  Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        present = [qn for qn in QUANTITIES if self.select(qn)]
        fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.4), squeeze=False)
        for ax, qn in zip(axes[0], present):
            conditions = list(dict.fromkeys(r.condition for r in self.select(qn)))
            for i, cond in enumerate(conditions):
                rows = self.select(qn, cond)
                layer = np.array([r.layer for r in rows])
                color = f"C{i}"
                ax.plot(layer, [r.theory for r in rows], "-", color=color, lw=1.5,
                        label=cond if len(conditions) > 1 else "theory")
                ax.errorbar(layer, [r.simulation for r in rows], yerr=[r.spread for r in rows], fmt="o",
                            ms=3.5, color=color, elinewidth=0.8, capsize=0)
                bad = [r for r in rows if not r.passed]
                if bad:
                    ax.plot([r.layer for r in bad], [r.simulation for r in bad], "o", ms=9, mfc="none",
                            mec="red", mew=1.5)
            if qn in ("g_E", "kappa2"):
                ax.set_yscale("log")
            ax.set_xlabel("layer l")
            ax.set_title({"q": r"$q^l$", "c": r"$c_{12}^l$", "chi1": r"$\chi_1$ (perturbation growth)",
                          "g_E": r"$\bar g^{E,l}$", "kappa2": r"$(\bar\kappa^l)^2$"}[qn])
            ax.legend(fontsize=7, frameon=False)
        fig.suptitle(f"{self.phi}: sigma_w={self.sigma_w:g}, sigma_b={self.sigma_b:g}, N={self.width} "
                     f"({'pass' if self.passed else 'FAIL'})", fontsize=10)
        fig.tight_layout()
        return fig


def _row(quantity, condition, layer, theory, estimates, points, width) -> ValidationRow:
    sim, spread = float(np.mean(estimates)), float(np.std(np.concatenate(points)))
    theory = float(theory)
    error = abs(sim - theory)
    if RELATIVE[quantity]:
        error /= abs(theory) if theory != 0 else 1.0
    tol = tolerance(quantity, width, layer)
    return ValidationRow(quantity, condition, int(layer), theory, sim, spread, float(error), tol,
                         bool(error <= tol))


def _shifts(n_points: int, c0s) -> list[int]:
    """Circle shifts k whose correlation cos(2 pi k / n) is nearest each requested c^1."""
    ks = [int(round(n_points * np.arccos(np.clip(c, -1, 1)) / (2 * np.pi))) for c in c0s]
    return sorted({k for k in ks if 0 < k < n_points})


def validate(phi, sigma_w: float, sigma_b: float, width: int = 1000, depth: int = 20, seed=0, *,
             n_seeds: int = 16, n_points: int = 50, q0_factors=(0.25, 1.0, 4.0),
             c0s=(0.9, 0.5, 0.0), progress: bool = True) -> ValidationReport:
    """Check the mean-field predictions against ``n_seeds`` random networks.

    Parameters
    ----------
    phi : nonlinearity spec (registry name, expression string, sympy expr, Nonlinearity)
    sigma_w, sigma_b : float
        Standard deviations of weights (times sqrt(N)) and biases.
    width : int
        N_l for every layer (validated tolerances assume N >= about 250; see docs).
    depth : int
        Number of layers D >= 2.
    seed : int
        Network k uses seed (seed, k); its circles use (seed, k, 1) etc.
    n_seeds : int
        Independent networks averaged over (their spread is in ``spread``).
    n_points : int
        Samples of each circle.
    q0_factors : sequence of float
        Circles started at q^1 = factor * q* for the q rows (1.0 is the circle at q*).
    c0s : sequence of float
        Initial correlations c^1 for the c rows, rounded to the circle's grid
        (c^1 = cos(2 pi k / n_points)).

    Returns
    -------
    ValidationReport
    """
    from meanfield import MeanField  # the theory engine; imported late so sim loads without it

    nl = as_nonlinearity(phi)
    width, depth, n_seeds, n_points = int(width), int(depth), int(n_seeds), int(n_points)
    if width < 2 or depth < 2 or n_seeds < 1 or n_points < 8:
        raise ValueError(f"need width >= 2, depth >= 2, n_seeds >= 1 and n_points >= 8; got width={width}, "
                         f"depth={depth}, n_seeds={n_seeds}, n_points={n_points}")
    mf = MeanField(nl, sigma_w, sigma_b)
    q_star = float(mf.q_star())
    chi1 = float(mf.chi1())
    skipped = []
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

    # samples[(quantity, condition)][layer] -> ([one estimate per network], [per-point arrays])
    samples: dict = {}

    def add(quantity, condition, layer, values, estimate=None):
        est, pts = samples.setdefault((quantity, condition), {}).setdefault(layer, ([], []))
        est.append(np.mean(values) if estimate is None else estimate)
        pts.append(np.asarray(values))

    for s in range(n_seeds):
        if progress:
            print(f"\rvalidate: network {s + 1}/{n_seeds}", end="", file=sys.stderr, flush=True)
        net = RandomNetwork(nl, [width] * (depth + 1), sigma_w, sigma_b, seed=(seed, s))
        previous = None
        for state in propagate_iter(net, circle(width, q_star, n_points, seed=(seed, s, 0)), order=2):
            l, h = state.layer, state.position
            for k in shifts:
                add("c", f"c1={c1[k]:.3f}", l, correlation(h, np.roll(h, -k, axis=0)))
            add("g_E", "q1=q*", l, normalised_metric(state.velocity))
            if k_theory is not None:
                add("kappa2", "q1=q*", l, normalised_curvature2(state.velocity, state.acceleration),
                    curve_curvature2(state.velocity, state.acceleration))
            if previous is not None:
                add("chi1", "q1=q*", l, perturbation_growth(net, l, previous))
            previous = h
            if any(abs(q0 / q_star - 1) < 1e-12 for q0 in q0s):
                add("q", "q1=q*", l, squared_length(h))
        for i, q0 in enumerate(q0s):
            if abs(q0 / q_star - 1) < 1e-12:
                continue
            for state in propagate_iter(net, circle(width, q0, n_points, seed=(seed, s, 1, i)), order=0):
                add("q", f"q1={q0:.4g}", state.layer, squared_length(state.position))
    if progress:
        print("", file=sys.stderr)

    rows = []
    for q0 in q0s:
        cond = "q1=q*" if abs(q0 / q_star - 1) < 1e-12 else f"q1={q0:.4g}"
        theory = np.asarray(mf.length_trajectory(q0, depth))
        for l, (est, pts) in samples[("q", cond)].items():
            rows.append(_row("q", cond, l, theory[l - 1], est, pts, width))
    for k in shifts:
        cond = f"c1={c1[k]:.3f}"
        theory = np.asarray(mf.correlation_trajectory(c1[k], depth))
        for l, (est, pts) in samples[("c", cond)].items():
            rows.append(_row("c", cond, l, theory[l - 1], est, pts, width))
    for l, (est, pts) in samples[("chi1", "q1=q*")].items():
        rows.append(_row("chi1", "q1=q*", l, chi1, est, pts, width))
    for l, (est, pts) in samples[("g_E", "q1=q*")].items():
        rows.append(_row("g_E", "q1=q*", l, g_theory[l - 1], est, pts, width))
    if k_theory is not None:
        for l, (est, pts) in samples[("kappa2", "q1=q*")].items():
            rows.append(_row("kappa2", "q1=q*", l, k_theory[l - 1], est, pts, width))
    return ValidationReport(nl.name, float(sigma_w), float(sigma_b), width, depth, n_seeds, n_points,
                            tuple(rows), tuple(skipped))
