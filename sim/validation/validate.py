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

The statistics of the verdict are in ``sim.validation.verdict``, the report in
``sim.validation.report`` and the memory check in ``sim.validation.memory``.
"""
from __future__ import annotations

import sys

import numpy as np

from meanfield.nonlinearity import as_nonlinearity

from ..geometry.curves import circle
from ..geometry.measure import correlation, curve_curvature2, normalised_metric, perturbation_growth, squared_length
from ..geometry.propagate import propagate_iter
from ..networks.network import RandomNetwork
from .errors import ValidationError
from .memory import check_memory
from .report import ValidationReport
from .verdict import FAMILY_ALPHA, MIN_VALIDATED_WIDTH, Comparison, judge, t_quantiles


def _shifts(n_points: int, c0s) -> list[int]:
    """Circle shifts k whose correlation cos(2 pi k / n) is nearest each requested c^1."""
    ks = [int(np.rint(n_points * np.arccos(np.clip(c, -1, 1)) / (2 * np.pi))) for c in c0s]
    return sorted({k for k in ks if 0 < k < n_points})


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

    plan: list[Comparison] = []
    for q0 in q0s:
        cond = "q1=q*" if abs(q0 / q_star - 1) < 1e-12 else f"q1={q0:.4g}"
        theory = np.asarray(mf.length_trajectory(q0, depth))
        plan += [Comparison("q", cond, l, theory[l - 1], est) for l, est in samples[("q", cond)].items()]
    for k in shifts:
        cond = f"c1={c1[k]:.3f}"
        theory = np.asarray(mf.correlation_trajectory(c1[k], depth))
        plan += [Comparison("c", cond, l, theory[l - 1], est) for l, est in samples[("c", cond)].items()]
    plan += [Comparison("chi1", "q1=q*", l, chi1, est) for l, est in samples[("chi1", "q1=q*")].items()]
    plan += [Comparison("g_E", "q1=q*", l, g_theory[l - 1], est) for l, est in samples[("g_E", "q1=q*")].items()]
    if k_theory is not None:
        plan += [Comparison("kappa2", "q1=q*", l, k_theory[l - 1], est)
                 for l, est in samples[("kappa2", "q1=q*")].items()]
    alpha_row, t_crit, t_power = t_quantiles(alpha, len(plan), n_seeds)
    rows = tuple(judge(c, width, t_crit, t_power) for c in plan)
    return ValidationReport(nl.name, float(sigma_w), float(sigma_b), width, depth, n_seeds, n_points, rows,
                            alpha, alpha_row, t_crit, None if theory_sigma_w is None else float(theory_sigma_w),
                            tuple(skipped), tuple(notes))
