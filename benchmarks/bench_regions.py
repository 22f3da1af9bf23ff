"""Benchmark: exact activation regions (sim.regions) against baselines timed in the same run.

2D: ``sim.activation_regions_2d`` (Numba polygon clipping, depth first) against a
straightforward per-polygon Python implementation written here (same algorithm, one
polygon and one line at a time with numpy) and against a 1000 x 1000 grid of forward
passes, which is cheap but misses regions.  Both exact methods must agree on the
count.  1D: a segment through a 784 -> 10 x 1000 ReLU network, the default sweep
(rank-|I| updates at the points the previous layer inserted) against the same sweep
with a matrix product at every point (``method="dense"``, the baseline, timed
interleaved with it) and against a grid of forward passes along the segment.

Run:  PYTHONPATH=. python benchmarks/bench_regions.py [--quick] [--1d]
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from sim import RandomNetwork, activation_regions_1d, activation_regions_2d

E1, E2, ZERO = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)
BOX = (-5.0, 5.0, -5.0, 5.0)


def _clip(poly, a, b, c, side):
    """Part of a convex polygon with side * (a s + b t + c) >= 0 (plain Python loop)."""
    f = side * (poly @ np.array([a, b]) + c)
    tol = 1e-10 * (abs(a) * 5 + abs(b) * 5 + abs(c))
    out = []
    n = len(poly)
    for j in range(n):
        p, q, fp, fq = poly[j], poly[(j + 1) % n], f[j], f[(j + 1) % n]
        if fp >= -tol:
            out.append(p)
        if (fp > tol and fq < -tol) or (fp < -tol and fq > tol):
            out.append(p + fp / (fp - fq) * (q - p))
    return np.array(out)


def baseline_count(net) -> int:
    """Per-polygon Python enumeration: the straightforward implementation."""
    regions = [(np.array([[BOX[0], BOX[2]], [BOX[1], BOX[2]], [BOX[1], BOX[3]], [BOX[0], BOX[3]]]),
                np.stack([E1, E2, ZERO]))]           # polygon, affine map of x (rows ds, dt, const)
    for w, bias in zip(net.weights, net.biases):
        new = []
        for poly, aff in regions:
            h = aff @ w.T
            h[2] += bias
            pieces = [(poly, np.zeros(w.shape[0]))]
            for i in range(w.shape[0]):
                nxt = []
                for piece, st in pieces:
                    f = piece @ h[:2, i] + h[2, i]
                    tol = 1e-10 * (abs(h[0, i]) * 5 + abs(h[1, i]) * 5 + abs(h[2, i]))
                    if f.min() >= -tol or f.max() <= tol:
                        s = st.copy()
                        s[i] = f.max() > tol
                        nxt.append((piece, s))
                        continue
                    for side in (1, -1):
                        s = st.copy()
                        s[i] = side == 1
                        nxt.append((_clip(piece, h[0, i], h[1, i], h[2, i], side), s))
                pieces = nxt
            for piece, st in pieces:
                new.append((piece, h * st))
        regions = new
    return len(regions)


def grid_count(net, n=1000) -> int:
    s, t = np.meshgrid(np.linspace(BOX[0], BOX[1], n), np.linspace(BOX[2], BOX[3], n))
    pts = np.stack([s.ravel(), t.ravel()], axis=1)
    seen = set()
    for chunk in np.array_split(pts, 20):
        pats = np.concatenate([h > 0 for h in net.forward(chunk)], axis=1)
        seen.update(np.packbits(pats, axis=1).view(f"V{(pats.shape[1] + 7) // 8}").ravel().tolist())
    return len(seen)


def timed(f, repeat=1):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main(quick: bool = False, only_1d: bool = False) -> None:
    if not only_1d:
        bench_2d(quick)
    bench_1d(quick)


def bench_2d(quick: bool) -> None:
    configs = [(3, 16), (3, 32), (3, 64), (3, 128), (6, 16), (6, 32), (10, 16), (10, 32)]
    if quick:
        configs = configs[:2]
    activation_regions_2d(RandomNetwork("relu", [2, 4, 4], 1.4, 0.1, seed=0), ZERO, E1, E2, BOX)  # compile
    print("## 2D: exact activation regions in the box (-5, 5)^2, ReLU, sigma_w = sqrt(2), sigma_b = 0.1\n")
    print("| depth x width | regions | sim.regions (s) | regions/s | Python per-polygon (s) | regions/s "
          "| speed-up | 1000^2 grid finds | grid missed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for depth, width in configs:
        net = RandomNetwork("relu", [2] + [width] * depth, math.sqrt(2), 0.1, seed=0)
        res, t = timed(lambda net=net: activation_regions_2d(net, ZERO, E1, E2, BOX), repeat=3)
        if res.count <= 20000:
            base, tb = timed(lambda net=net: baseline_count(net))
            assert base == res.count, (depth, width, base, res.count)
            base_cols = f"{tb:.2f} | {base / tb:,.0f} | {tb / t:.0f}x"
        else:
            base_cols = "skipped | | "
        g = grid_count(net)
        print(f"| {depth} x {width} | {res.count:,} | {t:.3f} | {res.count / t:,.0f} | {base_cols} | {g:,} | "
              f"{1 - g / res.count:.0%} |", flush=True)
    print()


def bench_1d(quick: bool) -> None:
    print("## 1D: segment between two random Gaussian points, 784 -> 10 x 1000 ReLU\n")
    net = RandomNetwork("relu", [784] + [1000] * (3 if quick else 10), math.sqrt(2), 0.1, seed=0)
    a, b = np.random.default_rng(0).standard_normal((2, 784))
    runs = {m: (lambda m=m: activation_regions_1d(net, a, b, method=m)) for m in ("low_rank", "dense")}
    times = {m: [] for m in runs}
    out = {}
    for f in runs.values():
        f()                                              # compile
    for _ in range(7):                                   # interleaved: both see the same machine load
        for m, f in runs.items():
            out[m], t = timed(f)
            times[m].append(t)
    best = {m: min(v) for m, v in times.items()}
    median = {m: float(np.median(v)) for m, v in times.items()}
    res, ref = out["low_rank"], out["dense"]
    assert res.count == ref.count and np.array_equal(res.patterns(), ref.patterns())
    assert np.allclose(res.breakpoints, ref.breakpoints, rtol=1e-10, atol=1e-13)
    n_grid = 10_000

    def grid_line():
        x = a + np.linspace(0, 1, n_grid)[:, None] * (b - a)
        pats = np.concatenate([h > 0 for h in net.forward(x)], axis=1)
        return 1 + int(np.count_nonzero(np.any(pats[1:] != pats[:-1], axis=1)))

    g, tg = timed(grid_line)
    # The dense sweep multiplies layer l's weights with x at every point found by
    # layers < l; the low-rank sweep only at the points found by layers < l - 1 (plus
    # points where many units cross at once, not counted here).  Time those products
    # alone as floors.
    layer = np.repeat(np.arange(len(res.layer_widths)), res.layer_widths)[res.transition_unit]
    found = [2 + len(np.unique(res.transition_index[layer < l])) for l in range(len(res.layer_widths))]
    floors = {}
    for m, rows in (("dense", found), ("low_rank", found[:1] + [2] + found[1:-1])):
        inputs = [np.random.default_rng(1).standard_normal((n, w.shape[1])) for w, n in zip(net.weights, rows)]

        def products(inputs=inputs):
            for w, x in zip(net.weights, inputs):
                x @ w.T

        floors[m] = (sum(rows), timed(products, repeat=3)[1])
    print("| method | pieces | time (s), best of 7 | median |\n|---|---|---|---|")
    print(f"| sim.activation_regions_1d (exact, rank-\\|I\\| updates; default) | {res.count:,} | "
          f"{best['low_rank']:.2f} | {median['low_rank']:.2f} |")
    print(f"| same, method=\"dense\" (a product at every point; baseline) | {ref.count:,} | {best['dense']:.2f} | "
          f"{median['dense']:.2f} |")
    for m, label in (("low_rank", "low-rank"), ("dense", "dense")):
        rows, tp = floors[m]
        print(f"| {label} sweep's matrix products alone ({rows:,} rows x 1000 x 1000) | | {tp:.2f} | |")
    print(f"| grid of {n_grid:,} forward passes (lower bound) | {g:,} | {tg:.2f} | |")
    print(f"\nspeed-up over the dense sweep: {best['dense'] / best['low_rank']:.2f}x (best), "
          f"{median['dense'] / median['low_rank']:.2f}x (median)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv, only_1d="--1d" in sys.argv)
