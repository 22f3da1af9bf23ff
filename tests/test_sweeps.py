"""The sweep engine (sim.sweeps) with real processes on 127.0.0.1, and its two package sweeps.

References: task seeds recomputed here with hashlib from the documented formula;
task results recomputed here with numpy from those seeds (or closed forms such as
x^2, x + 1); the tanh fixed point q* by Gauss-Hermite quadrature; region counts of a
one-layer network by the exact count 1 + n + C(n, 2) of n lines in general
position (HR eq. 4); the 1/sqrt(N) law for finite-width errors.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from meanfield.cli import main
from sim.sweeps import (
    Grid,
    StoreError,
    StoreVersionError,
    SweepError,
    SweepStore,
    TaskStatus,
    canonical,
    run_sweep,
    table_rows,
    task_key,
    task_seed,
)

pytest.importorskip("distributed")

MOMENTS = "sim.sweeps.examples:gaussian_moments"
SLOW = "sim.sweeps.examples:slow_square"
FAIL = "sim.sweeps.examples:fail_when"


def ref_seed(params: dict, base_seed: int = 0) -> int:
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(f"seed:{base_seed}:{text}".encode()).digest()[:8], "big") & (2 ** 63 - 1)


def ref_moments(params: dict) -> tuple[float, float, np.ndarray]:
    x = params.get("scale", 1.0) * np.random.default_rng(ref_seed(params)).standard_normal(params["n"])
    return x.mean(), np.mean(x * x), x[:5]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snapshot(path, arrays=True) -> dict:
    """The reproducible part of a store: per key, (params, seed, status, results, arrays)."""
    with SweepStore.open(path) as st:
        return {r.key: (dict(r.params), r.seed, r.status, dict(r.results),
                        {k: v.tolist() for k, v in r.arrays.items()}) for r in st.records(arrays=arrays)}


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def scheduler_address():
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1 (random free port)."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen(dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                dask_cli + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                            "--death-timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        _stop(procs[1:])
        _stop(procs[:1])


# -- grids, keys and seeds ------------------------------------------------------------------------------
def test_seed_and_key_are_sha256_of_canonical_parameters():
    p = {"width": 100, "phi": "tanh", "sigma_w": 1.5, "replicate": 3}
    assert task_seed(p) == ref_seed(p)
    assert task_seed(p, base_seed=7) == ref_seed(p, 7) != task_seed(p)
    assert task_key(p) == hashlib.sha256(json.dumps(p, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    # insertion order, numpy scalars and tuples do not change a task's identity
    q = {"replicate": np.int64(3), "sigma_w": np.float64(1.5), "phi": "tanh", "width": 100}
    assert canonical(q) == canonical(p) and task_seed(q) == task_seed(p)
    assert canonical({"box": (1, 2)}) == canonical({"box": [1, 2]})
    assert task_seed({"x": 1}) != task_seed({"x": 1.0})  # documented: 1 and 1.0 differ


def test_grid_product_and_rows():
    g = Grid.product(a=[1, 2], b=["x", "y", "z"])
    assert len(g) == 6 and g.params[1] == {"a": 1, "b": "y"}  # last name varies fastest
    g2 = g + Grid.rows([{"a": 1, "b": "x"}, {"a": 3, "b": "x"}])  # duplicate dropped
    assert len(g2) == 7 and g2.names() == ["a", "b"]


# -- same results serially, on a LocalCluster and on separate scheduler/worker processes --------------
def test_same_results_serial_local_cluster_and_scheduler_processes(tmp_path, scheduler_address):
    grid = Grid.product(n=[10, 1000], scale=[0.5, 2.0], replicate=range(3))
    serial = run_sweep(MOMENTS, grid, tmp_path / "serial.sqlite", workers=0, progress=False)
    local = run_sweep(MOMENTS, grid, tmp_path / "local.sqlite", workers=2, progress=False)
    remote = run_sweep(MOMENTS, grid, tmp_path / "remote.sqlite", scheduler=scheduler_address, progress=False)
    assert serial.n_done == local.n_done == remote.n_done == 12 and serial.ok and local.ok and remote.ok
    a, b, c = (snapshot(tmp_path / f"{n}.sqlite") for n in ("serial", "local", "remote"))
    assert a == b == c and len(a) == 12
    for key, (params, seed, status, results, arrays) in a.items():
        mean, mean_square, head = ref_moments(params)
        assert seed == ref_seed(params) and key == task_key(params) and status is TaskStatus.DONE
        assert results["mean"] == mean and results["mean_square"] == mean_square
        assert arrays["head"] == head.tolist()
    # the distributed runs really ran in other processes
    with SweepStore.open(tmp_path / "remote.sqlite") as st:
        pids = {r.pid for r in st.records()}
    assert os.getpid() not in pids and all(p > 0 for p in pids)


def test_worker_killed_mid_sweep_completes_every_row(tmp_path):
    from dask.distributed import Client, LocalCluster

    grid = Grid.product(x=list(range(12)), delay=[0.3])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      scheduler_kwargs={"dashboard": False}) as cluster, Client(cluster) as client:
        worker_pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(outcome):
            if not killed:  # after the first result, the other worker is mid-task
                victim = next(p for p in worker_pids if p != outcome.pid)
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        summary = run_sweep(SLOW, grid, tmp_path / "s.sqlite", client=client, progress=False, on_result=kill_one)
        # a task that kills every worker it runs on: with no retries allowed, recorded as KilledWorker (alone:
        # Dask also counts a failure against the tasks queued on the dying worker)
        cluster.scheduler.allowed_failures = 0
        crash = run_sweep("sim.sweeps.examples:exit_when", {"x": [2], "bad": [2]}, tmp_path / "c.sqlite",
                          client=client, progress=False)
    assert killed and summary.ok and summary.n_done == 12
    assert (crash.n_done, crash.n_failed) == (0, 1) and crash.failures[0].error_type == "KilledWorker"
    assert crash.failures[0].params == {"bad": 2, "x": 2}
    with SweepStore.open(tmp_path / "s.sqlite") as st:
        rows = st.records()
    assert len(rows) == 12 and all(r.ok for r in rows)
    for r in rows:
        assert r.results["square"] == r.params["x"] ** 2
        assert r.results["draw"] == np.random.default_rng(ref_seed(r.params)).random()


def test_driver_killed_mid_sweep_resumes_only_missing_tasks(tmp_path, scheduler_address):
    store = tmp_path / "driver.sqlite"
    args = [sys.executable, "-m", "meanfield.cli", "sweep", "run", SLOW, "-p", "x=" + ",".join(map(str, range(16))),
            "--fixed", "delay=0.3", "--store", str(store), "--scheduler", scheduler_address, "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        before = {}
        for _ in range(1200):  # wait (at most ~2 min) until some but not all tasks are done
            if proc.poll() is not None:
                break
            if store.exists():
                with SweepStore.open(store) as st:
                    if len(st.keys(TaskStatus.DONE)) >= 3:
                        break
            time.sleep(0.1)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with SweepStore.open(store) as st:
        before = {r.key: r for r in st.records()}
    assert 3 <= len(before) < 16 and all(r.ok for r in before.values())

    rerun = subprocess.run(args[:-1], capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"16 tasks, {16 - len(before)} done and 0 failed in this run, {len(before)} already in" in rerun.stderr
    with SweepStore.open(store) as st:
        after = {r.key: r for r in st.records()}
    assert len(after) == 16 and all(r.attempts == 1 for r in after.values())
    for key, r in before.items():  # finished rows were neither lost nor re-run
        assert after[key].time_start == r.time_start and after[key].pid == r.pid
    run_sweep(SLOW, Grid.product(x=list(range(16)), delay=[0.3]), tmp_path / "whole.sqlite", workers=0,
              progress=False)
    assert snapshot(store) == snapshot(tmp_path / "whole.sqlite")


# -- failures ---------------------------------------------------------------------------------------------
def test_failing_task_is_recorded_and_the_rest_complete(tmp_path, capsys):
    store = tmp_path / "f.sqlite"
    rc = main(["sweep", "run", FAIL, "-p", "x=0,1,2,3", "--fixed", "bad=2", "--store", str(store), "--workers", "0"])
    out, err = capsys.readouterr()
    assert rc == 1 and "1 of 4 tasks failed" in out
    assert "ValueError: x = 2 is the bad value" in err and "1 task(s) failed" in err
    with SweepStore.open(store) as st:
        rows = {r.params["x"]: r for r in st.records()}
    assert {x: r.results.get("y") for x, r in rows.items() if r.ok} == {0: 1, 1: 2, 3: 4}
    assert rows[2].status is TaskStatus.FAILED and rows[2].error_type == "ValueError"
    assert rows[2].error_message == "x = 2 is the bad value" and "Traceback" in rows[2].traceback
    # failures are skipped on resume, and re-run on request
    again = run_sweep(FAIL, {"x": [0, 1, 2, 3], "bad": [2]}, store, workers=0, progress=False)
    assert (again.n_skipped, again.n_done, again.n_failed, again.ok) == (4, 0, 0, False)
    retry = run_sweep(FAIL, {"x": [0, 1, 2, 3], "bad": [2]}, store, workers=0, progress=False, retry_failed=True)
    assert (retry.n_skipped, retry.n_failed, len(retry.failures)) == (3, 1, 1)
    with SweepStore.open(store) as st:
        assert {r.params["x"]: r.attempts for r in st.records()} == {0: 1, 1: 1, 2: 2, 3: 1}
    assert main(["sweep", "status", str(store)]) == 1
    assert main(["sweep", "plot", str(store), "--out", str(tmp_path / "f.png")]) == 2  # not a validate/regions store
    assert "`sweep plot` draws" in capsys.readouterr().err and not (tmp_path / "f.png").exists()


# -- bad input --------------------------------------------------------------------------------------------
def test_unknown_missing_and_bad_parameters(tmp_path, capsys):
    store = tmp_path / "bad.sqlite"
    with pytest.raises(SweepError, match="unknown parameter 'widht'"):
        run_sweep(MOMENTS, {"n": [3], "widht": [1]}, store, workers=0)
    with pytest.raises(SweepError, match="parameter 'n' of .* is missing"):
        run_sweep(MOMENTS, {"scale": [1.0]}, store, workers=0)
    with pytest.raises(SweepError, match="finite"):
        run_sweep(MOMENTS, {"n": [3], "scale": [math.inf]}, store, workers=0)
    with pytest.raises(SweepError, match="empty"):
        run_sweep(MOMENTS, Grid.product(n=[]), store, workers=0)
    with pytest.raises(SweepError, match="module-level function"):
        run_sweep(lambda n: {}, {"n": [1]}, store, workers=0)
    with pytest.raises(SweepError, match="cannot import"):
        run_sweep("sim.sweeps.examples:nope", {"n": [1]}, store, workers=0)
    with pytest.raises(SweepError, match="at most one of"):
        run_sweep(MOMENTS, {"n": [1]}, store, workers=2, scheduler="tcp://127.0.0.1:1")
    assert not store.exists()  # bad input leaves nothing on disk
    rc = main(["sweep", "run", MOMENTS, "-p", "widht=1", "--store", str(store), "--workers", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "unknown parameter 'widht'" in err and not store.exists()


def test_unreachable_scheduler_is_a_one_line_error(tmp_path):
    store = tmp_path / "u.sqlite"
    port = free_port()  # nothing listens there
    r = subprocess.run([sys.executable, "-m", "meanfield.cli", "sweep", "run", MOMENTS, "-p", "n=3", "--store",
                        str(store), "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2"],
                       capture_output=True, text=True, timeout=120, check=False)  # timeout: only against a hang
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s" in r.stderr
    assert not store.exists()


def test_incompatible_or_foreign_store(tmp_path, capsys):
    store = tmp_path / "v.sqlite"
    run_sweep(MOMENTS, {"n": [3]}, store, workers=0, progress=False)
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreVersionError, match="schema version 999, this meanfield reads version 1"):
        run_sweep(MOMENTS, {"n": [3]}, store, workers=0, progress=False)
    assert main(["sweep", "export", str(store), "--csv", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "schema version 999" in err and not (tmp_path / "v.csv").exists()
    other = tmp_path / "o.sqlite"
    run_sweep(MOMENTS, {"n": [3]}, other, workers=0, progress=False)
    with pytest.raises(StoreError, match="holds a sweep of sim.sweeps.examples:gaussian_moments"):
        run_sweep(FAIL, {"x": [3]}, other, workers=0, progress=False)
    with pytest.raises(StoreError, match="base seed 0, not 5"):
        run_sweep(MOMENTS, {"n": [3]}, other, workers=0, progress=False, base_seed=5)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a sweep store"):
        SweepStore.open(junk)


# -- export -----------------------------------------------------------------------------------------------
def test_export_csv_one_row_per_task(tmp_path, capsys):
    store = tmp_path / "e.sqlite"
    run_sweep(FAIL, {"x": [0, 1, 5], "bad": [5]}, store, workers=0, progress=False)
    assert main(["sweep", "export", str(store), "--csv", str(tmp_path / "e.csv")]) == 0
    with open(tmp_path / "e.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    cols = list(rows[0])
    assert cols[:5] == ["key", "status", "seed", "bad", "x"] and "y" in cols
    assert {"time_start", "time_end", "time_run", "host_name", "host_pid"} <= set(cols)
    by_x = {int(r["x"]): r for r in rows}
    assert by_x[1]["y"] == "2" and by_x[5]["status"] == "failed" and by_x[5]["error_type"] == "ValueError"
    assert int(by_x[0]["seed"]) == ref_seed({"bad": 5, "x": 0})
    assert socket.gethostname() == by_x[0]["host_name"] and float(by_x[0]["time_run"]) >= 0
    with SweepStore.open(store) as st:  # a store passed in stays open for the caller
        assert len(table_rows(st)[1]) == 3 and st.counts()[TaskStatus.DONE] == 2


# -- the package sweeps -----------------------------------------------------------------------------------
def test_sweep_validate_errors_fall_like_one_over_sqrt_width(tmp_path, capsys):
    store = tmp_path / "val.sqlite"
    rc = main(["sweep", "validate", "tanh", "--sigma-w", "1.5", "--sigma-b", "0.3", "--widths", "25,400",
               "--depth", "6", "--seeds", "3", "--store", str(store), "--workers", "0", "--quiet",
               "--out", str(tmp_path / "val.png")])
    out = capsys.readouterr().out
    assert rc == 0 and (tmp_path / "val.png").stat().st_size > 0 and "| q |" in out
    from sim.sweeps.validate import error_table

    t = error_table(store)
    assert list(t.widths) == [25, 400] and list(t.count) == [3, 3]
    # 16x the width: errors ~ 1/sqrt(N) shrink ~4x; the mean log ratio over quantities is within a factor 2 of that
    ratio = np.exp(np.mean(np.log(t.mean[:, 0] / t.mean[:, 1])))
    assert 2.0 < ratio < 8.0
    # theory side: q^l = q* at every layer, with q* = sw^2 E[tanh(sqrt(q*) z)^2] + sb^2 (Gauss-Hermite here)
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    with SweepStore.open(store) as st:
        r = st.records(arrays=True)[0]
    qs = r.results["q_star"]
    assert abs(qs - (1.5 ** 2 * np.sum(w * np.tanh(np.sqrt(qs) * z) ** 2) + 0.3 ** 2)) < 1e-9
    assert np.allclose(r.arrays["theory_q"], qs, rtol=1e-9)
    assert r.results["c1"] == pytest.approx(np.cos(2 * np.pi * 5 / 32))  # c0 = 0.5 on a 32-point circle: k = 5


def test_sweep_regions_one_layer_counts_are_exact(tmp_path, capsys):
    store = tmp_path / "reg.sqlite"
    rc = main(["sweep", "regions", "--widths", "5,8", "--depths", "1", "--seeds", "3", "--box=-1e5,1e5,-1e5,1e5",
               "--store", str(store), "--workers", "0", "--quiet", "--out", str(tmp_path / "reg.png")])
    out = capsys.readouterr().out
    assert rc == 0 and (tmp_path / "reg.png").stat().st_size > 0 and "#neurons^2/2" in out
    with SweepStore.open(store) as st:
        rows = st.records()
    assert len(rows) == 6
    for r in rows:  # n lines in general position cut the plane into 1 + n + C(n, 2) regions (HR eq. 4)
        n = r.params["width"]
        assert r.results["count"] == 1 + n + math.comb(n, 2)
        assert r.results["hr_heuristic"] == n * n / 2
    rc = main(["sweep", "regions", "--neurons", "10", "--depths", "3", "--seeds", "1", "--store",
               str(tmp_path / "x.sqlite"), "--workers", "0"])
    assert rc == 2 and "not divisible by depth 3" in capsys.readouterr().err


def test_import_and_in_process_sweep_without_dask(tmp_path):
    code = f"""
import sys
sys.modules["dask"] = sys.modules["distributed"] = None   # as if Dask were not installed
import sim, sim.sweeps
from sim.sweeps import SweepError, run_sweep
s = run_sweep("{FAIL}", {{"x": [1, 2]}}, r"{tmp_path / 'n.sqlite'}", workers=0, progress=False)
assert s.n_done == 2 and s.ok
try:
    run_sweep("{FAIL}", {{"x": [3]}}, r"{tmp_path / 'm.sqlite'}", workers=2, progress=False)
except SweepError as exc:
    print(exc)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert "pip install 'meanfield[sweep]'" in r.stdout and not (tmp_path / "m.sqlite").exists()
