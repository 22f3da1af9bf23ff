"""sim.training: gradients against hand-derived backprop and finite differences, frozen layers,
step-0 regions, trajectory regularization against sim.trajectory_length, reproducibility, CLI."""
import gzip
import pathlib
import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="training needs JAX: pip install 'meanfield[train]'")

import sim  # noqa: E402
from meanfield.cli import main as cli_main  # noqa: E402
from meanfield.nonlinearity import Nonlinearity  # noqa: E402
from sim.data import Dataset, random_points_2d  # noqa: E402
from sim.training import (  # noqa: E402
    DivergedError,
    MissingDependencyError,
    NetworkSpec,
    TrainConfig,
    TrainingError,
    evaluate_network,
    forward,
    init_bn_state,
    init_params,
    jax_phi,
    load_snapshot,
    loss,
    measurement_steps,
    sigma_w_for_weight_scale,
    to_network,
    train,
    trajectory_reg_term,
)


def _separable(n=256, seed=0, n_test=64):
    """Labels = [x0 + 0.5 x1 > 0]: linearly separable in 2D."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + n_test, 2)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return Dataset("separable", x[:n], y[:n], x[n:], y[n:], 2)


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-2), ("sgd", 0.2)])
def test_loss_decreases_on_separable_problem(optimizer, lr):
    h = train(NetworkSpec([2, 16, 16, 2], seed=1), _separable(),
              TrainConfig(lr=lr, epochs=15, batch_size=32, optimizer=optimizer, momentum=0.0))
    loss_ = h.column("train_loss")
    assert loss_[-1] < 0.3 * loss_[0]
    assert h.rows[-1]["train_accuracy"] > 0.95 and h.rows[-1]["test_accuracy"] > 0.9
    assert h.column("step").tolist() == [8 * e for e in range(16)]          # default: every epoch
    # the float64 network that History returns scores like the float32 JAX evaluation
    data = _separable()
    ev = evaluate_network(h.final, data.x_test, data.y_test)
    assert abs(ev.accuracy - h.rows[-1]["test_accuracy"]) <= 1 / 64 and ev.loss == pytest.approx(
        h.rows[-1]["test_loss"], rel=1e-4)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_gradient_one_hidden_layer_matches_hand_backprop():
    """d/dtheta of mean cross-entropy for h = W1 x + b1, z = W2 tanh(h) + b2, by the chain rule by hand."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    spec = NetworkSpec([3, 5, 4], phi="tanh", sigma_w=1.5, sigma_b=0.3, seed=2)
    with jax.enable_x64(True):
        params = init_params(spec, np.float64)
        g = jax.grad(lambda p: loss(p, {}, x, y, jax_phi("tanh"))[0])(params)
        g = jax.device_get(g)
    w1, b1, w2, b2 = params[0]["w"], params[0]["b"], params[1]["w"], params[1]["b"]
    a = np.tanh(x @ w1.T + b1)
    dz = (_softmax(a @ w2.T + b2) - np.eye(4)[y]) / len(y)
    dh = (dz @ w2) * (1 - a ** 2)
    expect = [dh.T @ x, dh.sum(0), dz.T @ a, dz.sum(0)]
    got = [g[0]["w"], g[0]["b"], g[1]["w"], g[1]["b"]]
    for e, v in zip(expect, got):
        np.testing.assert_allclose(v, e, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("phi", ["elu", "x*tanh(x)", "softplus", "hard_tanh"])
def test_gradient_matches_central_differences(phi):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 2)) * 2, rng.integers(0, 3, 6)
    spec = NetworkSpec([2, 4, 3], phi=phi, sigma_w=1.3, sigma_b=0.2, seed=5)
    with jax.enable_x64(True):
        params = init_params(spec, np.float64)
        f = jax.jit(lambda p: loss(p, {}, x, y, jax_phi(phi))[0])
        g = jax.device_get(jax.grad(f)(params))
        for layer, key in ((0, "w"), (0, "b"), (1, "w")):
            flat = params[layer][key].ravel()
            for k in range(0, flat.size, 3):
                eps = 1e-6
                plus = [dict(p) for p in params]
                minus = [dict(p) for p in params]
                for q, s in ((plus, eps), (minus, -eps)):
                    arr = flat.copy()
                    arr[k] += s
                    q[layer][key] = arr.reshape(params[layer][key].shape)
                fd = (float(f(plus)) - float(f(minus))) / (2 * eps)
                assert abs(g[layer][key].ravel()[k] - fd) < 1e-7 * max(1.0, abs(fd))


@pytest.mark.parametrize("phi", ["relu", "hard_tanh", "elu", "gelu", "swish", "softplus", "selu", "abs"])
def test_jax_phi_matches_numpy_phi_and_derivative(phi):
    nl = Nonlinearity(phi)
    u = np.concatenate([np.linspace(-6, 6, 241), [-800.0, 800.0]])
    with jax.enable_x64(True):
        f = jax_phi(nl)
        val = np.asarray(f(u))
        der = np.asarray(jax.vmap(jax.grad(f))(u))
    np.testing.assert_allclose(val, nl.phi(u), rtol=1e-13, atol=1e-13)
    off_kink = np.all(np.abs(u[:, None] - np.array(nl.kinks or [np.inf])[None]) > 1e-9, axis=1)
    np.testing.assert_allclose(der[off_kink], nl.dphi(u)[off_kink], rtol=1e-13, atol=1e-13)
    assert np.all(np.isfinite(der))            # no NaN from an overflowing unused branch


def test_frozen_layers_bitwise_and_trainable_change(tmp_path):
    spec = NetworkSpec([2, 8, 8, 8, 2], seed=4)
    h = train(spec, _separable(), TrainConfig(lr=1e-2, epochs=2, batch_size=32, trainable=(2, 4)),
              keep_snapshots=True, snapshot_dir=tmp_path)
    init = spec.random_network()
    for l in (0, 2):
        assert np.array_equal(h.final.weights[l], init.weights[l]) and np.array_equal(h.final.biases[l], init.biases[l])
    for l in (1, 3):
        assert not np.array_equal(h.final.weights[l], init.weights[l])
        assert not np.array_equal(h.final.biases[l], init.biases[l])
    assert h.final.weights[0].dtype == np.float64
    s0 = h.snapshots[0]
    assert s0.step == 0 and all(np.array_equal(a, b) for a, b in zip(s0.network.weights, init.weights))
    back = load_snapshot(tmp_path / "snapshot_00000016.npz")           # 2 epochs of 8 steps
    assert back.step == 16 and all(np.array_equal(a, b) for a, b in zip(back.network.weights, h.final.weights))
    assert [s.step for s in h.snapshots] == [0, 8, 16]


@pytest.mark.parametrize("name, written", [("snap", "snap.npz"), ("snap.npz", "snap.npz"), ("a.b", "a.b.npz")])
def test_snapshot_save_returns_the_file_it_wrote(tmp_path, name, written):
    from sim.training.history import Snapshot
    net = NetworkSpec([2, 3, 2], seed=0).random_network()
    path = Snapshot(5, 0.5, net).save(tmp_path / name)
    assert path == tmp_path / written and path.is_file()       # numpy.savez appends .npz when it is missing
    back = load_snapshot(path)
    assert back.step == 5 and all(np.array_equal(a, b) for a, b in zip(back.network.weights, net.weights))


def _tiny_history():
    from sim.training.history import History
    net = NetworkSpec([2, 3, 2], seed=0).random_network()
    rows = [{"step": s, "epoch": s / 4, "train_loss": 1.0 / (s + 1), "train_accuracy": 0.5, "test_loss": 0.7,
             "test_accuracy": 0.5} for s in range(3)]
    return History(rows, 4, net)


def test_history_to_csv_checks_the_target(tmp_path):
    h = _tiny_history()
    with pytest.raises(TrainingError, match="directory .*missing does not exist") as info:
        h.to_csv(tmp_path / "missing" / "h.csv")
    assert "\n" not in str(info.value) and not (tmp_path / "missing").exists()
    with pytest.raises(TrainingError, match="is a directory"):
        h.to_csv(tmp_path)


def test_history_to_csv_failure_leaves_no_part_file(tmp_path, monkeypatch):
    import csv
    h = _tiny_history()
    old = tmp_path / "h.csv"
    old.write_text("previous\n")

    class Broken(csv.DictWriter):
        def writerow(self, row):
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(csv, "DictWriter", Broken)
    with pytest.raises(OSError, match="No space"):
        h.to_csv(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"] and old.read_text() == "previous\n"


@pytest.mark.parametrize("chunk", [0, -1, 2.5, None])
def test_evaluate_network_chunk_must_be_a_positive_integer(chunk):
    # chunk = -1 would skip every row and report loss 0: refused like 0 and non-integers
    net = NetworkSpec([2, 3, 2], seed=0).random_network()
    with pytest.raises(TrainingError, match="chunk must be an integer >= 1"):
        evaluate_network(net, np.zeros((4, 2)), np.zeros(4, dtype=int), chunk=chunk)


def test_evaluate_network_result_does_not_depend_on_chunk():
    net = NetworkSpec([2, 3, 2], seed=0).random_network()
    x, y = np.random.default_rng(0).standard_normal((7, 2)), np.array([0, 1, 1, 0, 1, 0, 0])
    a, b = evaluate_network(net, x, y, chunk=1), evaluate_network(net, x, y, chunk=100)
    assert a.loss == pytest.approx(b.loss, rel=1e-14) and a.accuracy == b.accuracy


def test_step0_regions_equal_random_network():
    spec = NetworkSpec([2, 6, 6, 6, 2], phi="relu", sigma_w=np.sqrt(2), sigma_b=0.3, seed=9)
    origin, u, v, box = np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), (-20, 20, -20, 20)
    a, b = np.array([-5.0, -3.0]), np.array([4.0, 6.0])
    measure = {"regions2d": lambda net: sim.activation_regions_2d(net, origin, u, v, box, readout=True).count,
               "regions1d": lambda net: sim.activation_regions_1d(net, a, b, readout=True).count}
    h = train(spec, _separable(n=64, n_test=0), TrainConfig(lr=1e-2, epochs=1, batch_size=32), measure=measure)
    net = spec.random_network()
    assert h.rows[0]["regions2d"] == sim.activation_regions_2d(net, origin, u, v, box, readout=True).count
    assert h.rows[0]["regions1d"] == sim.activation_regions_1d(net, a, b, readout=True).count
    assert np.isnan(h.rows[0]["test_accuracy"])             # no test set: NaN, not a number made up


def test_trajectory_reg_term_equals_sim_trajectory_length():
    spec_a = NetworkSpec([4, 6, 5, 3], phi="tanh", sigma_w=2.0, sigma_b=0.2, seed=1)
    spec_b = NetworkSpec([4, 6, 5, 3], phi="tanh", sigma_w=2.0, sigma_b=0.2, seed=2)
    t = np.linspace(0, 2 * np.pi, 60)
    curve = np.stack([np.cos(t), np.sin(t), np.cos(2 * t), 0.5 * np.sin(3 * t)], axis=1)
    with jax.enable_x64(True):
        term = float(trajectory_reg_term(init_params(spec_b, np.float64), init_params(spec_a, np.float64), curve,
                                         jax_phi("tanh"), 0.7, (1, 2)))
    la = sim.trajectory_length(spec_a.random_network(), curve).length_h
    lb = sim.trajectory_length(spec_b.random_network(), curve).length_h
    assert term == pytest.approx(0.7 * (lb[1] / la[1] + lb[2] / la[2]), rel=1e-12)


def test_trajectory_regularization_shrinks_length():
    spec = NetworkSpec([2, 16, 16, 2], phi="tanh", sigma_w=2.0, sigma_b=0.1, seed=3)
    t = np.linspace(0, 2 * np.pi, 40)
    curve = np.stack([2 * np.cos(t), 2 * np.sin(t)], axis=1)

    def ratio(net):
        got = sim.trajectory_length(net, curve).length_h
        ref = sim.trajectory_length(spec.random_network(), curve).length_h
        return float(got[1] / ref[1] + got[2] / ref[2]) / 2

    cfg = dict(lr=1e-2, epochs=5, batch_size=32)
    plain = train(spec, _separable(), TrainConfig(**cfg), measure={"ratio": ratio})
    reg = train(spec, _separable(), TrainConfig(**cfg, trajectory_reg=5.0, reg_curve=curve), measure={"ratio": ratio})
    assert plain.rows[0]["ratio"] == reg.rows[0]["ratio"] == 1.0
    assert reg.rows[-1]["ratio"] < 0.8 and reg.rows[-1]["ratio"] < plain.rows[-1]["ratio"]


def test_same_seed_bitwise_identical_history(tmp_path):
    data = random_points_2d(300, 5, n_test=50)
    spec = NetworkSpec([2, 12, 12, 2], seed=7, batch_norm=(1,))
    cfg = TrainConfig(lr=3e-3, epochs=3, batch_size=25, seed=11)
    steps = measurement_steps(12, 3, dense_epochs=0.5, n_dense=3)
    curve = np.stack([np.linspace(-1, 1, 20), np.linspace(1, -2, 20)], axis=1)
    m = {"w_norm": lambda net: float(np.linalg.norm(net.weights[1])),
         "length": lambda net: sim.trajectory_length(net, curve).length_h}
    h1, h2 = (train(spec, data, cfg, steps=steps, measure=m) for _ in range(2))
    assert all(np.array_equal(r1["length"], r2["length"]) for r1, r2 in zip(h1.rows, h2.rows))
    assert [{k: v for k, v in r.items() if k != "length"} for r in h1.rows] == \
        [{k: v for k, v in r.items() if k != "length"} for r in h2.rows]
    text = h1.to_csv(tmp_path / "a.csv").read_text()
    assert text == h2.to_csv(tmp_path / "b.csv").read_text()
    assert text.splitlines()[0].endswith("w_norm,length_0,length_1,length_2,length_3")   # a sequence -> columns
    h3 = train(spec, data, TrainConfig(lr=3e-3, epochs=3, batch_size=25, seed=12), steps=steps)
    assert h3.rows[-1]["train_loss"] != h1.rows[-1]["train_loss"]           # the batch order matters


def test_batch_norm_folds_into_float64_network():
    spec = NetworkSpec([3, 5, 5, 2], phi="relu", seed=2, batch_norm=(1, 2))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 3))
    with jax.enable_x64(True):
        params = init_params(spec, np.float64)
        for layer in params[:2]:
            layer["gamma"] = rng.uniform(0.5, 2, 5)
            layer["beta"] = rng.standard_normal(5)
        bn = {k: {"mean": rng.standard_normal(5), "var": rng.uniform(0.2, 3, 5)} for k in init_bn_state(spec)}
        ref = np.asarray(forward(params, bn, x, jax_phi("relu"))[0][-1])
    np.testing.assert_allclose(to_network(spec, params, bn).forward(x)[-1], ref, rtol=1e-12, atol=1e-12)


def test_schedule_and_bad_input():
    # HR Fig. 3 left: 4 measurements in the first half epoch of 468 steps (234 k / 4 rounded), then per epoch
    assert measurement_steps(468, 2, dense_epochs=0.5, n_dense=4) == (0, 58, 117, 176, 234, 468, 936)
    assert sigma_w_for_weight_scale(1.0) == pytest.approx(np.sqrt(2))
    with pytest.raises(TrainingError, match="learning rate"):
        TrainConfig(lr=-1e-3)
    with pytest.raises(TrainingError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(TrainingError, match="Dataset.scaled"):
        train(NetworkSpec([2, 3, 2]), Dataset("u8", np.zeros((4, 2), np.uint8), np.zeros(4, np.int64),
                                                np.zeros((0, 2), np.uint8), np.zeros(0, np.int64), 2))
    with pytest.raises(TrainingError, match="0..1"):
        train(NetworkSpec([2, 3, 2]), random_points_2d(10, 0).with_train_labels(np.full(10, 2)),
              TrainConfig(batch_size=5))
    with pytest.raises(TrainingError, match="trainable"):
        train(NetworkSpec([2, 3, 2]), random_points_2d(10, 0), TrainConfig(batch_size=5, trainable=(3,)))


def test_divergence_is_reported():
    with pytest.raises(DivergedError, match="lower the learning rate"):
        train(NetworkSpec([2, 8, 2], sigma_w=3.0, seed=0), _separable(n=64, n_test=0),
              TrainConfig(lr=1e30, optimizer="sgd", epochs=2, batch_size=16))


def test_without_jax_import_sim_works_and_training_names_the_extra():
    code = ("import sys; sys.modules['jax'] = None; sys.modules['optax'] = None\n"
            "import sim, sim.data, sim.training\n"
            "from sim.training import train, NetworkSpec, MissingDependencyError\n"
            "try:\n    train(NetworkSpec([2, 3, 2]), sim.data.random_points_2d(10, 0))\n"
            "except MissingDependencyError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'meanfield[train]'" in out.stdout and len(out.stdout.strip().splitlines()) == 1
    assert issubclass(MissingDependencyError, sim.SimError)


# --- CLI ---

def _small_mnist(d, n_train=300, n_test=60):
    rng = np.random.default_rng(0)
    d.mkdir(parents=True, exist_ok=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        # each class a bright block at its own place: learnable
        img = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            img[i, 2 * c: 2 * c + 6, 4:20] = 250
        for kind, arr in (("images-idx3", img), ("labels-idx1", labels)):
            head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
            (d / f"{stem}-{kind}-ubyte.gz").write_bytes(gzip.compress(head + arr.tobytes()))
    return d


def test_cli_train_writes_history(tmp_path, capsys):
    data = _small_mnist(tmp_path / "mnist")
    out = tmp_path / "out"
    rc = cli_main(["train", "--data", str(data), "--widths", "16,16", "--epochs", "3", "--batch-size", "50",
                   "--lr", "1e-2", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:6] == ["step", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    rows = [list(map(float, line.split(","))) for line in lines[1:]]
    assert [r[0] for r in rows] == [0, 2, 3, 4, 6, 8, 9, 10, 12, 14, 15, 16, 18]   # 4 per epoch of 6 steps
    assert rows[-1][3] > 0.5 and rows[-1][2] < rows[0][2]        # chance is 0.1
    assert (out / "history.png").stat().st_size > 0


@pytest.mark.parametrize("existing", [False, True])
def test_cli_train_failing_plot_leaves_nothing(tmp_path, capsys, monkeypatch, existing):
    # the plot fails after training: neither history.csv nor a temporary file may remain
    import matplotlib.figure

    def broken_savefig(self, path, *a, **k):
        pathlib.Path(path).write_bytes(b"half a png")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    data = _small_mnist(tmp_path / "mnist", 20, 5)
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    rc = cli_main(["train", "--data", str(data), "--widths", "4", "--epochs", "1", "--batch-size", "10",
                   "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left" in err and len(err.strip().splitlines()) == 1
    assert (list(out.iterdir()) == []) if existing else not out.exists()


@pytest.mark.parametrize("args,message", [
    (["--data", "{tmp}/missing"], "does not exist"),
    (["--data", "{tmp}/corrupt"], "train-labels-idx1-ubyte.gz: bad magic number"),
    (["--data", "{tmp}/mnist", "--lr", "-0.1"], "learning rate must be a positive number"),
    (["--data", "{tmp}/mnist", "--epochs", "0"], "epochs must be a positive integer"),
    (["--data", "{tmp}/mnist", "--widths", "3,x"], "--widths must be comma-separated integers"),
])
def test_cli_train_errors(tmp_path, capsys, args, message):
    _small_mnist(tmp_path / "mnist", 20, 5)
    bad = _small_mnist(tmp_path / "corrupt", 20, 5)
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04" + bytes(24)))
    out = tmp_path / "out"
    rc = cli_main(["train", *[a.format(tmp=tmp_path) for a in args], "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()                                   # nothing half-written
