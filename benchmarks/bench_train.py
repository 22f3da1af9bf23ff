"""Benchmark: one epoch of MNIST training (784-32-32-32-10, ReLU, batch 128, Adam) with
``sim.training`` (JAX, one compiled loop per epoch) against a vectorised numpy
forward/backward with Adam written here as the baseline, timed in the same run from
the same initial weights and the same batch order.  Also records the share of a
training run that exact region counting (``sim.activation_regions_2d`` in the plane
through the origin and two training images, HR Fig. 3) takes when measured at six
steps of one epoch.

The baseline runs with single-threaded OpenBLAS (OPENBLAS_NUM_THREADS=1 unless set):
its fastest configuration on the shared 2-core machine, where OpenBLAS's default
threads oversubscribe the loaded cores (11.7-23.6 s per epoch measured instead of
0.8 s).  JAX's own CPU thread pool (Eigen) is not affected by that variable.

Run:  PYTHONPATH=. python benchmarks/bench_train.py [--data DIR] [--repeats 3]
(MNIST from --data, else $MEANFIELD_DATA, else ../shared/data beside the repository.)
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy loads OpenBLAS: see the docstring

import argparse  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from sim import activation_regions_2d, plane_through_points  # noqa: E402
from sim.data import load_mnist  # noqa: E402
from sim.training import NetworkSpec, TrainConfig, measurement_steps, train  # noqa: E402

WIDTHS = [784, 32, 32, 32, 10]
BATCH = 128
LR = 1e-3


def numpy_epoch(spec: NetworkSpec, x, y, perm, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    """One epoch of Adam on mean cross-entropy, forward and backward by hand in float32 (the baseline)."""
    net = spec.random_network()
    ws = [w.astype(np.float32) for w in net.weights]
    bs = [b.astype(np.float32) for b in net.biases]
    params = ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    depth = len(ws)
    onehot = np.eye(WIDTHS[-1], dtype=np.float32)
    for step in range(len(perm) // BATCH):
        idx = perm[step * BATCH:(step + 1) * BATCH]
        xb, yb = x[idx], y[idx]
        acts = [xb]
        hs = []
        for l in range(depth):
            h = acts[-1] @ ws[l].T + bs[l]
            hs.append(h)
            if l < depth - 1:
                acts.append(np.maximum(h, 0))
        z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        dh = (p - onehot[yb]) / BATCH
        gw, gb = [None] * depth, [None] * depth
        for l in range(depth - 1, -1, -1):
            gw[l] = dh.T @ acts[l]
            gb[l] = dh.sum(axis=0)
            if l:
                dh = (dh @ ws[l]) * (hs[l - 1] > 0)
        t = step + 1
        for i, g in enumerate(gw + gb):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] -= lr * (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
        ws, bs = params[:depth], params[depth:]
    h = x
    for l in range(depth):
        h = h @ ws[l].T + bs[l]
        if l < depth - 1:
            h = np.maximum(h, 0)
    z = h - h.max(axis=1, keepdims=True)
    loss = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))
    return loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data_dir = args.data or os.environ.get("MEANFIELD_DATA") or \
        pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
    data = load_mnist(data_dir).scaled()
    x, y = data.x_train, data.y_train
    spec = NetworkSpec(WIDTHS, "relu", seed=0)
    cfg = TrainConfig(lr=LR, epochs=1, batch_size=BATCH, seed=0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")

    t0 = time.perf_counter()
    first = train(spec, data, cfg)
    print(f"first JAX run (compilation + 1 epoch + 2 evaluations): {time.perf_counter() - t0:.2f} s")
    perm = np.random.default_rng(0).permutation(x.shape[0])   # the trainer's batch order for seed 0
    jax_t, np_t = [], []
    for _ in range(args.repeats):               # interleaved so both see the same load
        h = train(spec, data, cfg)
        jax_t.append(h.timing.train_seconds)
        t0 = time.perf_counter()
        np_loss = numpy_epoch(spec, x, y, perm)
        np_t.append(time.perf_counter() - t0)
    jl = h.rows[-1]["train_loss"]
    print(f"train loss after 1 epoch: JAX {jl:.4f}, numpy baseline {np_loss:.4f} (same weights and batches)")
    print("| implementation | epoch time, s (best) | median | all |\n|---|---|---|---|")
    for name, ts in (("sim.training (JAX, compiled fori_loop)", jax_t), ("numpy forward/backward + Adam", np_t)):
        print(f"| {name} | {min(ts):.3f} | {np.median(ts):.3f} | {', '.join(f'{t:.3f}' for t in ts)} |")
    print(f"ratio JAX / numpy (best): {min(jax_t) / min(np_t):.3f}  (goal <= 0.5; goal < 1 s per epoch)")

    # share of a run spent counting regions (HR Fig. 3: plane through the origin and two training images)
    plane = plane_through_points(x[0].astype(np.float64), x[1].astype(np.float64))
    box = plane.box(margin=2.0)
    counts = []

    def regions(net):
        c = activation_regions_2d(net, plane.origin, plane.u, plane.v, box, readout=True).count
        counts.append(c)
        return c

    t0 = time.perf_counter()
    regions(first.final)            # loads the Numba kernels (a one-off per process), not part of the share
    print(f"first region count (kernel load included): {time.perf_counter() - t0:.2f} s")
    counts.clear()
    steps = measurement_steps(first.steps_per_epoch, 1, dense_epochs=0.5, n_dense=4)
    h = train(spec, data, cfg, steps=steps, measure={"regions": regions})
    tm = h.timing
    print(f"run with region counts at steps {list(steps)}: counts {counts}; train {tm.train_seconds:.2f} s, "
          f"evaluate {tm.evaluate_seconds:.2f} s, regions {tm.measure_seconds:.2f} s "
          f"({tm.measure_seconds / len(steps):.3f} s per count): share {100 * tm.measure_share:.1f} %")
    counts.clear()
    h = train(spec, data, TrainConfig(lr=LR, epochs=3, batch_size=BATCH, seed=0), measure={"regions": regions})
    tm = h.timing
    print(f"3 epochs, region counts once per epoch (steps {h.column('step').tolist()}): train {tm.train_seconds:.2f} s,"
          f" evaluate {tm.evaluate_seconds:.2f} s, regions {tm.measure_seconds:.2f} s: "
          f"share {100 * tm.measure_share:.1f} %")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
