"""Benchmark: exact forward-mode propagation of a circle against the BLAS floor.

Goal (issue "simulation and validation"): a circle of 500 points through depth 40 and
width 1000, with velocity and acceleration, within 2x of the time of the three matrix
products per layer alone, measured in the same run.

Run:  PYTHONPATH=. python benchmarks/bench_propagate.py [--points 500 --depth 40 --width 1000]
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import sim


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n, depth, width = args.points, args.depth, args.width

    rows = []
    for dtype in (np.float64, np.float32):
        net = sim.RandomNetwork("tanh", [width] * (depth + 1), 2.5, 0.3, seed=0, dtype=dtype)
        curve = sim.circle(width, 4.08, n, seed=1)
        rng = np.random.default_rng(2)
        blocks = [rng.standard_normal((n, width)).astype(dtype) for _ in range(3)]

        def floor(net=net, blocks=blocks):  # the three products per layer, nothing else
            for w in net.weights[1:]:
                for b in blocks:
                    b @ w.T

        def propagate(net=net, curve=curve):
            for _ in sim.propagate_iter(net, curve, order=2):
                pass

        def positions_only(net=net, curve=curve):
            for _ in sim.propagate_iter(net, curve, order=0):
                pass

        t_floor = best_of(floor, args.repeat)
        t_prop = best_of(propagate, args.repeat)
        t_pos = best_of(positions_only, args.repeat)
        rows.append((np.dtype(dtype).name, t_floor, t_prop, t_pos))

    print(f"Circle of {n} points, depth {depth}, width {width}, tanh; best of {args.repeat}; "
          f"{platform.machine()}, numpy {np.__version__}\n")
    print("| dtype | 3 matmuls/layer (floor) | propagate pos+vel+acc | ratio to floor | positions only |")
    print("|---|---:|---:|---:|---:|")
    for name, t_floor, t_prop, t_pos in rows:
        print(f"| {name} | {t_floor * 1e3:.0f} ms | {t_prop * 1e3:.0f} ms | {t_prop / t_floor:.2f}x | "
              f"{t_pos * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
