"""Closed forms as fast paths (issue 12): meanfield against neural-tangents' closed forms, same run.

Baseline: the closed-form kernels of neural-tangents' ``stax.Relu`` and ``stax.Erf`` (their
``kernel_fn``: arc-cosine kernel, Cho & Saul 2009; arcsine kernel, Williams 1997) RE-TIMED IN NUMPY
here (neural-tangents itself is not installed: its formulas, vectorized the same way, on the CPU).

1. layer map (q', c', chi_c) on the same 10,000 random (sigma_w, sigma_b, q, c) points, relu and erf:
   ``meanfield.layer_map`` vs the baseline; goal within 2x.  Errors against mpmath at 30 digits on
   a subset, and on points with c = 1 - 10^-k (the gap 1 - c', where cancellation shows).
2. ``meanfield.phase_diagram`` 300x250, relu and erf (goal < 0.1 s), with the cost of each part,
   and the same with the quadrature forced (``closed_form=False``) for scale.

Usage: python benchmarks/bench_closed_forms.py [--points 10000] [--grid 300x250] [--no-quadrature]
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import mpmath
import numpy as np

import meanfield as mf
from meanfield import fast_solvers
from meanfield.critical import critical_points_many


# --- baseline: neural-tangents' closed forms, in numpy ------------------------------------------
def nt_relu(sw2, sb2, q, c):
    """stax.Relu kernel_fn (a = 0, b = 1): arc-cosine kernel of degree 1 and its derivative kernel."""
    def nngp(c11, c22, c12):
        prod = c11 * c22
        cos = np.clip(c12 / np.sqrt(prod), -1, 1)
        ang = np.arccos(cos)
        return (np.sqrt(prod) * np.sin(ang) + (np.pi - ang) * c12) / (2 * np.pi), (np.pi - ang) / (2 * np.pi)
    qq, _ = nngp(q, q, q)
    k12, dot = nngp(q, q, c * q)
    qn = sw2 * qq + sb2
    return qn, (sw2 * k12 + sb2) / qn, sw2 * dot


def nt_erf(sw2, sb2, q, c):
    """stax.Erf kernel_fn: arcsine kernel (Williams 1997) and the kernel of erf'."""
    def nngp(c11, c22, c12):
        den = (1 + 2 * c11) * (1 + 2 * c22)
        return (2 / np.pi) * np.arcsin(2 * c12 / np.sqrt(den)), 4 / (np.pi * np.sqrt(den - 4 * c12 ** 2))
    qq, _ = nngp(q, q, q)
    k12, dot = nngp(q, q, c * q)
    qn = sw2 * qq + sb2
    return qn, (sw2 * k12 + sb2) / qn, sw2 * dot


# --- reference: the published formulas at 30 digits ---------------------------------------------
def mp_layer(phi, sw2, sb2, q, omc):
    """(q', 1 - c', chi_c) by mpmath at 30 digits from c = 1 - omc (exact in binary)."""
    mpmath.mp.dps = 30
    sw2, sb2, q, omc = (mpmath.mpf(float(v)) for v in (sw2, sb2, q, omc))
    c = 1 - omc
    if phi == "relu":
        def k(cc):
            return q * (mpmath.sqrt(1 - cc * cc) + cc * (mpmath.pi - mpmath.acos(cc))) / (2 * mpmath.pi)
        dot = (mpmath.pi - mpmath.acos(c)) / (2 * mpmath.pi)
    else:
        def k(cc):
            return 2 / mpmath.pi * mpmath.asin(2 * cc * q / (1 + 2 * q))
        dot = 4 / (mpmath.pi * mpmath.sqrt((1 + 2 * q) ** 2 - 4 * c * c * q * q))
    qn = sw2 * k(mpmath.mpf(1)) + sb2
    return qn, sw2 * (k(mpmath.mpf(1)) - k(c)) / qn, sw2 * dot


def errors(res, ref):
    """max relative error of q', chi_c; max absolute of c'; max relative of 1 - c'."""
    qn, cn, chic = res
    rq, rg, rx = (np.array([float(r[k]) for r in ref]) for k in range(3))
    return (float(np.max(np.abs(qn - rq) / rq)), float(np.max(np.abs(cn - (1 - rg)))),
            float(np.max(np.abs(chic - rx) / np.abs(rx))),
            float(np.max(np.abs((1 - cn) - rg) / rg)))


def best(fn, repeat=5, number=1):
    """Best of ``repeat`` timings of ``number`` calls, per call (the same for both columns)."""
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t) / number)
    return min(ts)


def bench_layer(phi, n, n_ref, quadrature, seed=0):
    rng = np.random.default_rng(seed)
    sw, sb = rng.uniform(1, 3, n), rng.uniform(0, 1, n)
    q, c = rng.uniform(0.1, 10, n), rng.uniform(-0.9, 0.99, n)
    nt = nt_relu if phi == "relu" else nt_erf
    sw2, sb2 = sw ** 2, sb ** 2
    mf.layer_map(phi, sw[:2], sb[:2], q[:2], c[:2])          # matches phi's kernel once (sympy)
    t_mf = best(lambda: mf.layer_map(phi, sw, sb, q, c), number=20)
    t_nt = best(lambda: nt(sw2, sb2, q, c), number=20)
    pick = np.arange(0, n, max(1, n // n_ref))
    ref = [mp_layer(phi, sw2[i], sb2[i], q[i], 1 - c[i]) for i in pick]
    ours = mf.layer_map(phi, sw[pick], sb[pick], q[pick], c[pick])
    e_mf = errors((ours.q, ours.c, ours.chi_c), ref)
    e_nt = errors(nt(sw2[pick], sb2[pick], q[pick], c[pick]), ref)
    # near c = 1: c = 1 - 2^-k exactly
    k = np.arange(10, 50, 2)
    omc = 2.0 ** -k
    cn1 = 1 - omc
    s1, b1, q1 = np.full(k.size, 1.5), np.full(k.size, 0.3), np.full(k.size, 2.0)
    ref1 = [mp_layer(phi, 2.25, 0.09, 2.0, o) for o in omc]
    ours1 = mf.layer_map(phi, s1, b1, q1, cn1)
    gap_ref = np.array([float(r[1]) for r in ref1])
    g_mf = float(np.max(np.abs(ours1.one_minus_c - gap_ref) / gap_ref))     # meanfield gives 1 - c' itself
    g_nt = errors(nt(s1 ** 2, b1 ** 2, q1, cn1), ref1)[3]
    t_q = None
    if quadrature:
        mf.layer_map(phi, sw[:4], sb[:4], q[:4], c[:4], rtol=1e-10, closed_form=False)   # compile/load
        t_q = best(lambda: mf.layer_map(phi, sw, sb, q, c, rtol=1e-10, closed_form=False), repeat=1)
    return t_mf, t_nt, e_mf, e_nt, g_mf, g_nt, t_q


def bench_phase(phi, nw, nb, quadrature):
    sw, sb = np.linspace(0.5, 4, nw), np.linspace(0.0, 1.0, nb)
    mf.phase_diagram(phi, sw[:2], sb[:2])
    t = best(lambda: mf.phase_diagram(phi, sw, sb), repeat=3)
    # the parts, as phase_diagram runs them
    cf = mf.closed_form_of(phi)
    w2, b2 = np.repeat(sw ** 2, nb), np.tile(sb ** 2, nw)
    parts = {}
    t0 = time.perf_counter()
    qs, st = fast_solvers.q_star(cf, w2, b2, 1.0)
    parts["q*"] = time.perf_counter() - t0
    ok = st == 0
    t0 = time.perf_counter()
    fast_solvers.convergence_depth(cf, w2[ok], b2[ok], 1.0, qs[ok], 0.01, 1000)
    parts["depth"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast_solvers.c_star(cf, w2[ok], qs[ok], w2[ok] * cf.slope(qs[ok]))
    parts["c*"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    critical_points_many(phi, sb)
    parts["critical line"] = time.perf_counter() - t0
    t_q = None
    if quadrature:
        mf.phase_diagram(phi, sw[:2], sb[:2], closed_form=False)
        t0 = time.perf_counter()
        mf.phase_diagram(phi, sw, sb, closed_form=False)
        t_q = time.perf_counter() - t0
    return t, parts, t_q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10000)
    ap.add_argument("--ref-points", type=int, default=200, help="points checked against mpmath")
    ap.add_argument("--grid", default="300x250")
    ap.add_argument("--no-quadrature", action="store_true", help="skip the forced-quadrature runs")
    a = ap.parse_args()
    nw, nb = (int(v) for v in a.grid.split("x"))
    quad = not a.no_quadrature
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load {os.getloadavg()[0]:.2f}")
    print("baseline: neural-tangents' closed forms (stax.Relu / stax.Erf kernel_fn) re-timed in numpy, "
          "this run; errors against mpmath at 30 digits")  # NT itself is not installed
    print("| work | meanfield (closed form) | NT formulas in numpy | ratio | forced quadrature |")
    print("|---|---|---|---|---|")
    for phi in ("relu", "erf"):
        t_mf, t_nt, e_mf, e_nt, g_mf, g_nt, t_q = bench_layer(phi, a.points, a.ref_points, quad)
        tq = f"{t_q:.3f} s (rtol 1e-10)" if t_q is not None else "-"
        print(f"| layer map (q', c', chi_c), {a.points} points, {phi} | {t_mf * 1e3:.2f} ms; err q' {e_mf[0]:.1e}, "
              f"c' {e_mf[1]:.1e}, chi_c {e_mf[2]:.1e}; 1 - c' near c = 1: {g_mf:.1e} | {t_nt * 1e3:.2f} ms; "
              f"err q' {e_nt[0]:.1e}, c' {e_nt[1]:.1e}, chi_c {e_nt[2]:.1e}; 1 - c' near c = 1: {g_nt:.1e} | "
              f"{t_mf / t_nt:.2f}x | {tq} |")
    for phi in ("relu", "erf"):
        t, parts, t_q = bench_phase(phi, nw, nb, quad)
        split = ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in parts.items())
        tq = f"{t_q:.2f} s (rtol 1e-10)" if t_q is not None else "-"
        print(f"| phase diagram {nw}x{nb} (q*, c*, chi1, chi2, xi, depth, critical line), {phi} | {t:.3f} s "
              f"({split}) | - | - | {tq} |")


if __name__ == "__main__":
    main()
