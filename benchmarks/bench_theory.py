"""Theory-engine benchmarks against baselines timed in the same run.

1. layer map (q', c') plus chi_c at random (sigma_w^2, sigma_b^2, q, c) points, tanh:
   meanfield's adaptive quadrature vs numpy Gauss-Hermite (the usual approach), with
   errors against a 1e-13 reference.
2. phase diagram (q*, c*, chi1, chi2) on a grid, tanh and x*tanh(x).
3. `meanfield phase tanh` cold (empty kernel cache, Numba compilation included) and cached.

Usage: python benchmarks/bench_theory.py [--points 400] [--grid 30x25]
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
from meanfield.kernels import kernels_for


def gh_layer(sw2, sb2, q, c, n=100):
    """Baseline: tensor Gauss-Hermite with n nodes per dimension (numpy hermegauss)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2 * np.pi)
    u1 = np.sqrt(q) * z[:, None]
    u2 = np.sqrt(q) * (c * z[:, None] + np.sqrt(1 - c * c) * z[None, :])
    W2 = w[:, None] * w[None, :]
    qn = sw2 * np.sum(w * np.tanh(np.sqrt(q) * z) ** 2) + sb2
    cn = (sw2 * np.sum(W2 * np.tanh(u1) * np.tanh(u2)) + sb2) / q
    chic = sw2 * np.sum(W2 * (1 - np.tanh(u1) ** 2) * (1 - np.tanh(u2) ** 2))
    return qn, cn, chic


def ours_layer(K, W, sw2, sb2, q, c, rtol):
    """meanfield: q' (eq. 3), c' (eq. 6 at q11 = q22 = q, via the cancellation-free gap) and chi_c."""
    qn, e, st = K.length_map(W, sw2, sb2, q, rtol)
    e_phi2, e, vabs, st = K.expect1w(W, K.PHI2, 0.0, np.sqrt(q), 0.0, rtol, 1e-15, 0.0)
    gap, e, st = K.expect2(0, 0, True, q, q, c, 1 - c, rtol)
    v, e, st = K.expect2(1, 1, False, q, q, c, 1 - c, rtol)
    return qn, (sw2 * (e_phi2 - gap) + sb2) / q, sw2 * v


def bench_layer(n_points, seed=0):
    rng = np.random.default_rng(seed)
    sw2 = rng.uniform(1, 9, n_points)
    sb2 = rng.uniform(0, 1, n_points)
    q = rng.uniform(0.1, 10, n_points)
    c = rng.uniform(-0.9, 0.99, n_points)
    K = kernels_for(mf.Nonlinearity("tanh"))
    W = K.workspace()
    ours_layer(K, W, 1.0, 0.1, 1.0, 0.5, 1e-10)
    ref = np.array([ours_layer(K, W, *p, 1e-13) for p in zip(sw2, sb2, q, c)])
    t = time.perf_counter()
    got = np.array([ours_layer(K, W, *p, 1e-10) for p in zip(sw2, sb2, q, c)])
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    base = np.array([gh_layer(*p) for p in zip(sw2, sb2, q, c)])
    t_base = time.perf_counter() - t
    err = lambda a: float(np.max(np.abs(a - ref) / np.maximum(np.abs(ref), 1e-300)))
    return t_ours, err(got), t_base, err(base)


def bench_grid(spec, nw, nb):
    sw = np.linspace(0.5, 4, nw)
    sb = np.linspace(0.0, 1.0, nb)
    mf.phase_diagram(spec, sw[:2], sb[:2])  # compile
    t = time.perf_counter()
    mf.phase_diagram(spec, sw, sb)
    return time.perf_counter() - t


def bench_cli():
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env["MEANFIELD_CACHE_DIR"] = cache
        cmd = [sys.executable, "-m", "meanfield", "phase", "tanh", "--quiet", "--out", os.path.join(out, "p")]
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        warm = time.perf_counter() - t
    return cold, warm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=400)
    ap.add_argument("--grid", default="30x25")
    a = ap.parse_args()
    nw, nb = (int(v) for v in a.grid.split("x"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    to, eo, tb, eb = bench_layer(a.points)
    print("| benchmark | meanfield | baseline | note |\n|---|---|---|---|")
    print(f"| layer map + chi_c, {a.points} random points, tanh | {to:.2f} s, max rel err {eo:.1e} | "
          f"{tb:.2f} s, max rel err {eb:.1e} (numpy Gauss-Hermite, 100x100 nodes) | "
          f"10,000 points extrapolate to {to * 10000 / a.points:.0f} s |")
    for spec in ("tanh", "x*tanh(x)"):
        t = bench_grid(spec, nw, nb)
        print(f"| phase diagram {nw}x{nb}, {spec} | {t:.1f} s | - | 300x250 extrapolates to "
              f"{t * 300 * 250 / (nw * nb):.0f} s |")
    cold, warm = bench_cli()
    print(f"| `meanfield phase tanh` (36x21 grid) | cold {cold:.1f} s, cached {warm:.1f} s | - | "
          f"cold includes Numba compilation |")


if __name__ == "__main__":
    main()
