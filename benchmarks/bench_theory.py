"""Theory-engine benchmarks against baselines timed in the same run.

1. layer map (q', c') plus chi_c at random (sigma_w^2, sigma_b^2, q, c) points, tanh:
   meanfield's adaptive quadrature vs numpy Gauss-Hermite (the usual approach), with
   errors against a 1e-13 reference.
2. phase diagram (q*, c*, chi1, chi2) on a grid, tanh and x*tanh(x).
3. compile times as a user meets them, each in a fresh process: `meanfield phase tanh` on an empty
   cache; `meanfield cache build` (the install step) followed by a first phi, a second phi, and the
   first again (warm).  The load average at the start of each is printed with it.

Usage: python benchmarks/bench_theory.py [--points 10000] [--grid 300x250]
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

import meanfield as mf
from meanfield.kernels import kernels_for, run_blocks
from meanfield.kernels.tables import build_table, empty_table


def gh_layer(sw2, sb2, q, c, n=100):
    """Baseline: tensor Gauss-Hermite with n nodes per dimension (numpy hermegauss)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2 * np.pi)
    u1 = np.sqrt(q) * z[:, None]
    u2 = np.sqrt(q) * (c * z[:, None] + np.sqrt(1 - c * c) * z[None, :])
    W2 = w[:, None] * w[None, :]
    qn = sw2 * np.sum(w * np.tanh(np.sqrt(q) * z) ** 2) + sb2
    cn = (sw2 * np.sum(W2 * np.tanh(u1) * np.tanh(u2)) + sb2) / qn
    chic = sw2 * np.sum(W2 * (1 - np.tanh(u1) ** 2) * (1 - np.tanh(u2) ** 2))
    return qn, cn, chic


def reference_layer(K, W, sw2, sb2, q, c):
    """Independent path: nested adaptive quadrature at rtol 1e-13 (no series)."""
    qn, e, st = K.length_map(W, empty_table(K), sw2, sb2, q, 1e-13)
    v, e, st = K.expect2(0, 0, False, q, q, c, 1 - c, 1e-13)
    x, e, st = K.expect2(1, 1, False, q, q, c, 1 - c, 1e-13)
    return qn, (sw2 * v + sb2) / qn, sw2 * x


def bench_layer(n_points, n_ref, seed=0):
    rng = np.random.default_rng(seed)
    sw2 = rng.uniform(1, 9, n_points)
    sb2 = rng.uniform(0, 1, n_points)
    q = rng.uniform(0.1, 10, n_points)
    c = rng.uniform(-0.9, 0.99, n_points)
    K = kernels_for(mf.Nonlinearity("tanh"))
    W = K.workspace()
    out = np.empty((n_points, 4))
    T = build_table(K, q.min(), q.max())                                   # compile
    run_blocks(K.layer_block, 4, T, sw2, sb2, q, c, 1e-10, out)
    t = time.perf_counter()
    T = build_table(K, q.min(), q.max())      # the tables' cost counts
    t_table = time.perf_counter() - t
    run_blocks(K.layer_block, n_points, T, sw2, sb2, q, c, 1e-10, out)
    t_ours = time.perf_counter() - t
    pick = np.arange(0, n_points, max(1, n_points // n_ref))
    ref = np.array([reference_layer(K, W, sw2[i], sb2[i], q[i], c[i]) for i in pick])
    t = time.perf_counter()
    base = np.array([gh_layer(sw2[i], sb2[i], q[i], c[i]) for i in pick])
    t_base = (time.perf_counter() - t) * n_points / len(pick)
    def err(a):
        """max error: relative for q' and chi_c, absolute for the correlation c' (which can be ~0)."""
        d = np.abs(a - ref)
        d[:, [0, 2]] /= np.abs(ref[:, [0, 2]])
        return float(np.max(d))
    return t_ours, t_table, err(out[pick, :3]), t_base, err(base)


def bench_grid(spec, nw, nb):
    sw = np.linspace(0.5, 4, nw)
    sb = np.linspace(0.0, 1.0, nb)
    mf.phase_diagram(spec, sw[:2], sb[:2])  # compile
    t = time.perf_counter()
    mf.phase_diagram(spec, sw, sb)
    return time.perf_counter() - t


def _timed(cmd, env) -> tuple[float, float]:
    """(wall seconds, load average when it started) of a command that must succeed."""
    load = os.getloadavg()[0]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t, load


def bench_cli():
    """Compile times as a user meets them, each in a fresh process on an empty cache.

    Returns rows (what, seconds, load average at its start): the README's first command with
    nothing compiled (machinery compiled lazily); ``meanfield cache build`` (the install step)
    then the same command; a second phi after the first; the same command warm.
    """
    env = dict(os.environ)
    rows = []
    phase = [sys.executable, "-m", "meanfield", "phase"]
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env["MEANFIELD_CACHE_DIR"] = cache
        o = ["--quiet", "--out", os.path.join(out, "p")]
        rows.append(("`meanfield phase tanh`, nothing compiled (machinery compiles at first use)",
                     *_timed(phase + ["tanh", *o], env)))
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env["MEANFIELD_CACHE_DIR"] = cache
        o = ["--quiet", "--out", os.path.join(out, "p")]
        rows.append(("`meanfield cache build` (install step, 2 processes)",
                     *_timed([sys.executable, "-m", "meanfield", "cache", "build"], env)))
        rows.append(("`meanfield phase tanh` after the build: first phi", *_timed(phase + ["tanh", *o], env)))
        rows.append(("`meanfield phase swish`: second phi", *_timed(phase + ["swish", *o], env)))
        rows.append(("`meanfield phase tanh` again: warm", *_timed(phase + ["tanh", *o], env)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10000)
    ap.add_argument("--ref-points", type=int, default=200, help="points checked against the reference")
    ap.add_argument("--grid", default="300x250")
    a = ap.parse_args()
    nw, nb = (int(v) for v in a.grid.split("x"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    to, tt, eo, tb, eb = bench_layer(a.points, a.ref_points)
    print("| benchmark | meanfield | baseline | note |\n|---|---|---|---|")
    print(f"| layer map + chi_c, {a.points} random points, tanh | {to:.2f} s (tables {tt:.2f} s of it), "
          f"max err {eo:.1e} | "
          f"{tb:.1f} s, max err {eb:.1e} (numpy Gauss-Hermite 100x100 nodes, timed on "
          f"{a.ref_points} points and scaled) | error: relative in q', chi_c, absolute in c'; "
          f"reference: nested adaptive quadrature at 1e-13 |")
    for spec in ("tanh", "x*tanh(x)"):
        t = bench_grid(spec, nw, nb)
        print(f"| phase diagram {nw}x{nb} (q*, c*, chi1, chi2, xi, depth), {spec} | {t:.1f} s | - | warm |")
    for what, seconds, load in bench_cli():
        print(f"| {what} (36x21 grid) | {seconds:.1f} s | - | load average {load:.1f} at start |")


if __name__ == "__main__":
    main()
