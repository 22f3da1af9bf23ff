"""The training experiments (sim.experiments): every quick mode runs, its table has the promised columns,
and its numbers agree with independent references (closed-form region counts, the same sim.RandomNetwork
measured directly, exact corruption fractions, numpy forward passes)."""
import math
import os
import pathlib
from math import comb

import numpy as np
import pytest
from experiment_store import store_dir

pytest.importorskip("jax")
pytest.importorskip("dask.distributed")

from sim import RandomNetwork, plane_through_points, trajectory_length
from sim.cli.experiment import run as cli_run
from sim.experiments import (
    EXPERIMENTS,
    ExperimentError,
    ExperimentTable,
    line_regions,
    plane_regions,
    run_experiment,
)

REPO = pathlib.Path(__file__).resolve().parent.parent
NAMES = ["hr-fig3", "hr-fig4", "hr-fig5", "hr-fig6", "hr-fig7", "raghu-fig4", "raghu-fig5", "raghu-fig6",
         "noise-depth", "trajectory-regularization"]
PROMISED = {
    "hr-fig3": ("regions", "plane"), "hr-fig4": ("corruption", "regions"), "hr-fig5": ("n_points", "regions"),
    "hr-fig6": ("lr", "weight_scale", "regions"), "hr-fig7": ("regions",),
    "raghu-fig4": ("trajectory_length", "layer"), "raghu-fig5": ("trajectory_length", "layer"),
    "raghu-fig6": ("test_accuracy", "layer"), "noise-depth": ("test_accuracy", "layer"),
    "trajectory-regularization": ("trajectory_length", "layer", "test_accuracy")}


def mnist_dir():
    for cand in (REPO.parent / "shared" / "data" / "mnist", os.environ.get("MEANFIELD_DATA")):
        if cand and pathlib.Path(cand).is_dir():
            return str(cand)
    pytest.skip("real MNIST not found: looked in ../shared/data/mnist beside the repository root and "
                "$MEANFIELD_DATA (the repository ships no data sets)")


_CACHE = {}


def quick(name):
    """Run each quick mode once per test session (in-process, workers=0)."""
    if name not in _CACHE:
        data = mnist_dir() if EXPERIMENTS[name].needs_mnist else None
        _CACHE[name] = run_experiment(name, quick=True, data=data, workers=0,
                                      store=os.path.join(store_dir(), f"{name}.sqlite"))
    return _CACHE[name]


def _images(n_train):
    from sim.data import load_mnist

    ds = load_mnist(mnist_dir()).scaled()
    return ds.x_train[:n_train].astype(np.float64), ds


# ------------------------------------------------------------------ whole planes and lines

def test_one_hidden_layer_whole_plane_is_the_hyperplane_arrangement():
    # m lines in general position cut the plane into 1 + m + C(m, 2) regions (HR eq. 4)
    for n_in, m, seed in ((2, 12, 0), (50, 30, 1)):
        net = RandomNetwork("relu", [n_in, m, 3], math.sqrt(2), 0.5, seed=seed)
        u, v = np.eye(n_in)[0], np.eye(n_in)[1]
        res = plane_regions(net, np.zeros(n_in), u, v, r_min=1e-3)
        assert res.converged and res.count == 1 + m + comb(m, 2)
        # and a line meets each of the m hyperplanes once: m + 1 pieces
        assert line_regions(net, np.zeros(n_in), u + 0.3 * v, r_min=1e-3).count == m + 1


def test_whole_plane_count_does_not_depend_on_the_bias_scale():
    # HR Lemma 6: N_c(x) = c N(x / c) with all biases times c, so a plane through the origin has the same
    # regions, only scaled; a box would see different counts, the whole plane must not
    net = RandomNetwork("relu", [20, 10, 10, 10, 2], math.sqrt(2), 0.1, seed=3)
    small = RandomNetwork("relu", [20, 10, 10, 10, 2], math.sqrt(2), 0.1, seed=3)
    small.biases = [b * 1e-3 for b in small.biases]
    u, v = np.eye(20)[0], np.eye(20)[1]
    a = plane_regions(net, np.zeros(20), u, v, r_min=1e-3)
    b = plane_regions(small, np.zeros(20), u, v, r_min=1e-6)
    assert a.count == b.count > 100


def test_table_csv_round_trip(tmp_path):
    t = ExperimentTable("x", {"run": [0, 0, 1], "step": [0, 5, 0], "regions": [1.5, 2.0, 3.25],
                              "curve": ["a", "b", "a"]}, {"scale": "tiny"})
    back = ExperimentTable.from_csv(t.to_csv(tmp_path / "x.csv"))
    assert back.columns == t.columns and back.notes == {"scale": "tiny"}
    assert np.array_equal(back["regions"], t["regions"]) and list(back["curve"]) == ["a", "b", "a"]
    assert len(back.where(run=0)) == 2


def test_table_to_csv_checks_the_target_and_cleans_up(tmp_path, monkeypatch):
    import csv

    from sim.experiments.table import TableError
    t = ExperimentTable("x", {"run": [0, 1], "regions": [1.5, 2.0]})
    with pytest.raises(TableError, match="directory .*missing does not exist") as info:
        t.to_csv(tmp_path / "missing" / "x.csv")
    assert "\n" not in str(info.value)
    with pytest.raises(TableError, match="is a directory"):
        t.to_csv(tmp_path)
    real_writer = csv.writer

    def broken_writer(f):
        w = real_writer(f)

        class Half:
            def writerow(self, row):
                if row != t.columns:                 # the header goes through, the first row fails
                    raise OSError(28, "No space left on device")
                w.writerow(row)
        return Half()
    monkeypatch.setattr(csv, "writer", broken_writer)
    with pytest.raises(OSError, match="No space"):
        t.to_csv(tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def _tiny_mnist(d, n_train=10, n_test=10):
    from sim.data import write_idx
    rng = np.random.default_rng(0)
    d.mkdir()
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(d / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(d / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    return str(d)


@pytest.mark.parametrize("which", ["trajectory", "trajreg"])
def test_log_spaced_runs_refuse_fewer_images_than_a_batch(tmp_path, which):
    # 10 training images, batch 64: train's own TrainingError, not numpy's geomspace error
    from sim.experiments.raghu import trajectory_run
    from sim.experiments.stability import trajreg_run
    from sim.training import TrainingError
    common = dict(replicate=0, epochs=1, n_train=None, n_test=None, width=4, depth=2, n_curve=8, n_checkpoints=4,
                  batch_size=64, lr=1e-3, seed=0, data=_tiny_mnist(tmp_path / "m"))
    with pytest.raises(TrainingError, match="batch_size 64 exceeds the 10 training samples"):
        if which == "trajectory":
            trajectory_run(sigma_w2=2.0, **common)
        else:
            trajreg_run(method="none", init_seed=0, sigma_w2=2.0, lam=0.0, **common)


# ------------------------------------------------------------------ every quick mode

@pytest.mark.parametrize("name", NAMES)
def test_quick_mode_has_the_promised_columns(name):
    res = quick(name)
    t = res.table
    for col in ("run", "step", "epoch", "train_accuracy") + PROMISED[name] + EXPERIMENTS[name].columns:
        assert col in t.columns, col
    assert len(t) > 0 and (0 in t["step"] or name == "noise-depth")
    assert np.all((t["train_accuracy"] >= 0) & (t["train_accuracy"] <= 1))
    assert "scale" in t.notes
    import matplotlib.pyplot as plt

    fig = EXPERIMENTS[name].plot(res)
    assert fig.axes
    plt.close(fig)


def test_hr_fig3_step0_planes_equal_random_network_and_one_layer_is_eq4():
    t = quick("hr-fig3").table
    x, _ = _images(1024)
    at0 = t.where(step=0)
    for row in at0.rows():
        widths = [int(w) for w in row["arch"].split(",")]
        net = RandomNetwork("relu", [784] + widths + [10], math.sqrt(2), 0.1, seed=row["seed"])
        pl = plane_through_points(x[row["image_a"]], x[row["image_b"]])
        direct = plane_regions(net, pl.origin, pl.u, pl.v, r_min=1e-3 * np.abs(pl.points_st).max())
        assert row["regions"] == direct.count
    # one hidden layer of 16 ReLUs: the plane meets 16 lines in general position at every step
    assert set(t.where(arch="16")["regions"].tolist()) == {1 + 16 + comb(16, 2)}


def test_hr_fig4_corruption_fraction_exact_and_step0_lines():
    t = quick("hr-fig4").table
    n = 512
    for c in t.unique("corruption"):
        assert np.all(t.where(corruption=c)["corrupted_fraction"] == math.floor(c * n + 0.5) / n)
    # every corruption level starts from the same network on the same lines
    assert len(set(t.where(step=0)["regions"].tolist())) == 1
    x, _ = _images(n)
    row = t.where(step=0, corruption=0.5).rows()[0]
    net = RandomNetwork("relu", [784] + [row["width"]] * row["depth"] + [10], math.sqrt(2), 0.1,
                        seed=row["init_seed"])
    idx = np.random.default_rng([row["init_seed"], 1]).choice(n, size=row["n_lines"], replace=False)
    counts = [line_regions(net, np.zeros(784), x[i], r_min=1e-3 * np.linalg.norm(x[i])).count for i in idx]
    assert row["regions"] == pytest.approx(np.mean(counts), abs=1e-12)


@pytest.mark.parametrize("name", ["hr-fig5", "hr-fig6"])
def test_hr_points_step0_equals_random_network(name):
    t = quick(name).table
    for row in t.where(step=0).rows():
        sw = math.sqrt(2 * row["weight_scale"])
        net = RandomNetwork("relu", [2] + [row["width"]] * row["depth"] + [2], sw, 0.1, seed=row["seed"])
        direct = plane_regions(net, np.zeros(2), np.array([1.0, 0]), np.array([0, 1.0]), r_min=1e-3)
        assert row["regions"] == direct.count


def test_hr_fig7_step0_equals_random_network():
    res = quick("hr-fig7")
    t = res.table
    x, _ = _images(1024)
    img = res.extras[0]["images"]
    row = t.where(step=0, plane="three").rows()[0]
    net = RandomNetwork("relu", [784] + [row["width"]] * row["depth"] + [10], math.sqrt(2), 0.1, seed=row["seed"])
    pl = plane_through_points(x[img[2]], x[img[3]], x[img[4]])
    assert row["regions"] == plane_regions(net, pl.origin, pl.u, pl.v,
                                           r_min=1e-3 * np.abs(pl.points_st).max()).count
    assert t.unique("step")[1] == 1024 // 128          # the middle picture is after one epoch


@pytest.mark.parametrize("epochs", [1, 0])
def test_hr_fig7_run_needs_two_epochs(epochs):
    # Fig. 7 shows initialization, after one epoch and the end: three distinct steps need epochs >= 2
    from sim.experiments.hanin_rolnick import fig7_run
    with pytest.raises(ExperimentError, match="epochs >= 2"):
        fig7_run(width=4, depth=2, epochs=epochs, n_train=64, n_test=16, batch_size=32, lr=1e-3, seed=0,
                 data="/nonexistent/mnist")                 # refused before the data are read


def test_plot_fig7_refuses_a_result_with_two_steps():
    from sim.experiments import ExperimentResult
    from sim.experiments.hanin_rolnick import plot_fig7
    t = ExperimentTable("hr-fig7", {"step": [0, 0, 8, 8], "epoch": [0.0, 0.0, 1.0, 1.0],
                                    "plane": ["origin", "three"] * 2, "regions": [5, 6, 7, 8]})
    ex = {"images": np.arange(5)} | {f"snap{k}_{p}1": np.zeros((2, 2)) for k in (0, 1) for p in "wb"}
    with pytest.raises(ExperimentError, match="three measurement steps"):
        plot_fig7(ExperimentResult(t, {0: ex}, "/nonexistent/mnist"))


@pytest.mark.parametrize("name,sw2", [("raghu-fig4", 16.0), ("raghu-fig5", 3.0)])
def test_raghu_step0_trajectory_length_equals_sim(name, sw2):
    from sim.experiments.raghu import curves_for

    t = quick(name).table
    _, ds = _images(512)
    row = t.where(step=0).rows()[0]
    assert row["sigma_w2"] == sw2
    net = RandomNetwork("hard_tanh", [784] + [row["width"]] * row["depth"] + [10], math.sqrt(sw2), 0.1,
                        seed=row["seed"])
    sub = ds
    curves = curves_for(type(sub)(sub.name, sub.x_train[:512], sub.y_train[:512], sub.x_test, sub.y_test, 10),
                        row["n_curve"], row["seed"])
    for curve, c in curves.items():
        want = trajectory_length(net, c).length_x
        got = t.where(step=0, curve=curve)
        for d, v in zip(got["layer"], got["trajectory_length"]):
            assert v == pytest.approx(want[d], rel=1e-12)


def test_raghu_fig6_step0_accuracy_is_the_frozen_random_network():
    t = quick("raghu-fig6").table
    _, ds = _images(0)
    sub = ds
    xt, yt = sub.x_test[:256].astype(np.float64), sub.y_test[:256]
    row = t.where(step=0).rows()[0]
    net = RandomNetwork("hard_tanh", [784] + [row["width"]] * row["depth"] + [10], math.sqrt(row["sigma_w2"]), 0.1,
                        seed=row["init_seed"])
    acc = np.mean(np.argmax(net.forward(xt)[-1], axis=1) == yt)
    # every choice of layer starts from the same network
    assert np.all(np.abs(t.where(step=0)["test_accuracy"] - acc) <= 1.0 / 256)
    assert t.unique("layer") == list(range(1, row["depth"] + 1))


def test_noise_depth_zero_noise_is_the_clean_network():
    t = quick("noise-depth").table
    zero = t.where(noise=0.0)
    assert np.all(zero["output_change"] == 0) and np.all(zero["test_accuracy"] == zero["clean_test_accuracy"])
    # numpy float64 forward of the trained network vs the trainer's own (JAX) evaluation
    assert np.all(np.abs(zero["test_accuracy"] - zero["trainer_test_accuracy"]) <= 2.0 / 256)
    assert np.all(t.where(noise=0.5)["output_change"] > 0)


def test_trajectory_regularization_step0_equals_sim():
    t = quick("trajectory-regularization").table
    from sim.geometry.curves import great_circle

    _, ds = _images(0)
    sub = ds
    row = t.where(step=0, method="none").rows()[0]
    a, b = np.random.default_rng([row["init_seed"], 6]).choice(64, size=2, replace=False)
    curve = great_circle(sub.x_test[a].astype(np.float64), sub.x_test[b].astype(np.float64), row["n_curve"])
    net = RandomNetwork("hard_tanh", [784] + [row["width"]] * row["depth"] + [10], math.sqrt(row["sigma_w2"]), 0.1,
                        seed=row["init_seed"])
    want = trajectory_length(net, curve).length_x
    for method in ("none", "trajreg"):          # same initial network, no BN
        got = t.where(step=0, method=method)
        assert np.allclose(got["trajectory_length"], want[got["layer"]], rtol=1e-12)
    assert set(t.unique("method")) == {"none", "batchnorm", "trajreg"}


# ------------------------------------------------------------------------- CLI

class _Args:
    def __init__(self, **kw):
        self.__dict__.update(dict(name=None, list=False, quick=True, out=".", data=None, workers=0,
                                  scheduler=None, store=None, quiet=True), **kw)


def test_cli_list_and_run(tmp_path, capsys):
    assert cli_run(_Args(list=True)) == 0
    assert capsys.readouterr().out.split()[::1][0] == "hr-fig3"
    assert cli_run(_Args(name="hr-fig5", out=str(tmp_path / "o"))) == 0
    t = ExperimentTable.from_csv(tmp_path / "o" / "hr-fig5.csv")
    assert {"run", "step", "epoch", "train_accuracy", "n_points", "regions"} <= set(t.columns)
    assert (tmp_path / "o" / "hr-fig5.png").stat().st_size > 1000


@pytest.mark.parametrize("kw,message", [
    (dict(name="hr-fig9"), "unknown experiment 'hr-fig9'"),
    (dict(name="hr-fig3", data="/nonexistent/mnist"), "does not exist"),
    (dict(name="hr-fig5", workers=-1), "--workers must be >= 0"),
    (dict(), "name an experiment"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, kw, message):
    assert cli_run(_Args(out=str(tmp_path), **kw)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_run_grid_closes_the_stores_it_opens(monkeypatch):
    # every SweepStore opened while running an experiment is closed afterwards (no leaked SQLite connection)
    import sqlite3

    from sim.sweeps import SweepStore
    opened, real_open = [], SweepStore.open.__func__

    def spy(cls, path):
        opened.append(real_open(cls, path))
        return opened[-1]
    monkeypatch.setattr(SweepStore, "open", classmethod(spy))
    run_experiment("hr-fig5", quick=True)
    assert opened
    for st in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            st._conn.execute("select 1")


def test_cli_failing_csv_write_leaves_nothing(tmp_path, capsys, monkeypatch):
    # the CSV breaks off half-way: no file of the experiment (nor a temporary one) may remain
    def broken_to_csv(self, path):
        pathlib.Path(path).write_text("run,step\n1,")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ExperimentTable, "to_csv", broken_to_csv)
    out = tmp_path / "o"
    assert cli_run(_Args(name="hr-fig5", out=str(out))) == 2
    err = capsys.readouterr().err
    assert "No space left" in err and err.count("\n") == 1
    assert not out.exists()


def test_cli_corrupt_mnist_names_the_file(tmp_path, capsys):
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / stem).write_bytes(b"\x00\x00\x08\x03\x00\x00")   # header cut short
    out = tmp_path / "out"
    assert cli_run(_Args(name="hr-fig4", data=str(tmp_path), out=str(out))) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and err.count("\n") == 1
    assert not out.exists()


def test_unknown_experiment_from_python():
    with pytest.raises(ExperimentError, match="choose one of"):
        run_experiment("raghu-fig9")


@pytest.mark.slow
def test_same_table_on_two_worker_processes(tmp_path):
    # seeds come from the runs' parameters: a local Dask cluster gives the in-process numbers exactly
    serial = quick("hr-fig5").table
    parallel = run_experiment("hr-fig5", quick=True, workers=2, store=tmp_path / "s.sqlite").table
    assert serial.columns == parallel.columns
    for c in serial.columns:
        nan = serial[c].dtype.kind == "f"     # test_accuracy is NaN: the points have no test set
        assert np.array_equal(serial[c], parallel[c], equal_nan=nan), c
