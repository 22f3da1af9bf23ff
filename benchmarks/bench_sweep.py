"""Benchmark: the sweep engine (sim.sweeps) on 2 local workers against the serial loop, in the same run.

* 40 CPU-bound tasks of about 0.5 s each (``sim.sweeps.examples:spin``, a pure-Python
  loop calibrated here): the plain serial loop ``for p in grid: spin(**p)`` (the
  baseline) against ``run_sweep(..., workers=2)``, which starts and stops its own
  LocalCluster (timed, start-up included), and against ``run_sweep(..., client=)`` on
  a LocalCluster of 2 workers started beforehand.  Goal: at least 1.7x faster.
* Engine overhead per task: 200 near-zero tasks (``spin(work=0)``) on the
  pre-started 2-worker cluster, and in-process (``workers=0``), each time divided by
  the number of tasks (it includes submission, scheduling, the round trip, and the
  SQLite commit of every row).  Goal: under 50 ms per task.

The machine's load average is printed before and after: on a shared machine other
jobs take cores from the workers.

Run:  PYTHONPATH=. python benchmarks/bench_sweep.py [--tasks 40] [--seconds 0.5]
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time

from sim.sweeps import Grid, run_sweep
from sim.sweeps.examples import spin

TASK = "sim.sweeps.examples:spin"


def calibrate(seconds: float) -> int:
    """Iterations of ``spin`` that take about ``seconds`` here (best of 3)."""
    work = 200_000
    best = min(_time(lambda: spin(work)) for _ in range(3))
    return int(work * seconds / best)


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--overhead-tasks", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved serial / 2-worker pairs")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    load0 = os.getloadavg()
    work = calibrate(args.seconds)
    grid = Grid.product(work=[work], replicate=list(range(args.tasks)))
    tiny = Grid.product(work=[0], replicate=list(range(args.overhead_tasks)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t_own = _time(lambda: run_sweep(TASK, grid, f"{tmp}/own.sqlite", workers=2, progress=False))
        t_serial_engine = _time(lambda: run_sweep(TASK, grid, f"{tmp}/inproc.sqlite", workers=0, progress=False))
        serial, warm = [], []
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            client.run(lambda: __import__("sim.sweeps.examples"))  # warm the workers' imports
            loads = []
            for i in range(args.repeats):  # interleaved pairs, so both see the same background load
                loads.append(os.getloadavg()[0])
                serial.append(_time(lambda: [spin(**p) for p in grid]))
                warm.append(_time(lambda i=i: run_sweep(TASK, grid, f"{tmp}/warm{i}.sqlite", client=client,
                                                        progress=False)))
            t_tiny = _time(lambda: run_sweep(TASK, tiny, f"{tmp}/tiny.sqlite", client=client, progress=False))
        t_tiny0 = _time(lambda: run_sweep(TASK, tiny, f"{tmp}/tiny0.sqlite", workers=0, progress=False))
    best = min(serial)
    rows.append((f"serial loop (baseline), best of {args.repeats}", best, None))
    rows.append((f"run_sweep(client=) on a started 2-worker cluster, best of {args.repeats}", min(warm),
                 best / min(warm)))
    rows.append(("run_sweep(workers=2), cluster start and stop included, once", t_own, best / t_own))
    rows.append(("run_sweep(workers=0), in-process, once", t_serial_engine, best / t_serial_engine))
    load1 = os.getloadavg()

    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(f"load average (1, 5, 15 min) before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print(f"{args.tasks} tasks of spin(work={work}) (~{args.seconds} s each when calibrated)")
    ratios = [a / b for a, b in zip(serial, warm)]
    print("interleaved pairs (load average at start, serial s, 2-worker s, speed-up): "
          + "; ".join(f"({ld:.1f}, {a:.2f}, {b:.2f}, {r:.2f}x)" for ld, a, b, r in zip(loads, serial, warm, ratios)))
    print(f"median speed-up over the pairs: {sorted(ratios)[len(ratios) // 2]:.2f}x (goal >= 1.7x)\n")
    print("| run | time (s) | speed-up vs serial loop |\n|---|---:|---:|")
    for name, t, s in rows:
        print(f"| {name} | {t:.2f} | {'' if s is None else f'{s:.2f}x'} |")
    print(f"\nengine overhead per near-zero task, {args.overhead_tasks} tasks: "
          f"{1000 * t_tiny / args.overhead_tasks:.1f} ms on the started 2-worker cluster, "
          f"{1000 * t_tiny0 / args.overhead_tasks:.1f} ms in-process (goal < 50 ms)")


if __name__ == "__main__":
    main()
