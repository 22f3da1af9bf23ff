"""sim.data: IDX/CIFAR-10 loaders on small generated files (every corrupt case), helpers, real MNIST."""
import gzip
import os
import pathlib

import numpy as np
import pytest

from sim.data import (
    BadMagicError,
    CorruptFileError,
    DataNotFoundError,
    LabelRangeError,
    Problem,
    SizeMismatchError,
    TruncatedFileError,
    WrongDimensionsError,
    corrupt_labels,
    load_cifar10,
    load_mnist,
    random_points_2d,
    read_idx,
    scale_to_unit,
    train_test_split,
    write_idx,
)
from sim.data.errors import BadCompressionError
from sim.errors import SimError

REPO = pathlib.Path(__file__).resolve().parents[1]
NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_bytes(type_byte, shape, payload: bytes) -> bytes:
    """IDX by hand from the format description (independent of write_idx)."""
    head = bytes([0, 0, type_byte, len(shape)]) + b"".join(int(n).to_bytes(4, "big") for n in shape)
    return head + payload


def _mnist_dir(tmp_path, n_train=5, n_test=3, gz=True, sub=None, seed=0):
    rng = np.random.default_rng(seed)
    d = tmp_path if sub is None else tmp_path / sub
    d.mkdir(parents=True, exist_ok=True)
    arrays = {NAMES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              NAMES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
              NAMES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              NAMES[3]: rng.integers(0, 10, n_test, dtype=np.uint8)}
    for name, arr in arrays.items():
        raw = _idx_bytes(0x08, arr.shape, arr.tobytes())
        (d / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return d, arrays


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_roundtrip_gz_and_plain(tmp_path, gz):
    d, arrays = _mnist_dir(tmp_path, gz=gz)
    ds = load_mnist(d)
    assert np.array_equal(ds.x_train, arrays[NAMES[0]]) and np.array_equal(ds.y_train, arrays[NAMES[1]])
    assert np.array_equal(ds.x_test, arrays[NAMES[2]]) and np.array_equal(ds.y_test, arrays[NAMES[3]])
    assert ds.n_classes == 10 and ds.y_train.dtype == np.int64


def test_mnist_found_in_subfolder_and_through_env(tmp_path, monkeypatch):
    _, arrays = _mnist_dir(tmp_path, sub="mnist")
    monkeypatch.setenv("MEANFIELD_DATA", str(tmp_path))
    assert np.array_equal(load_mnist().x_train, arrays[NAMES[0]])
    assert np.array_equal(load_mnist(tmp_path / "mnist").y_test, arrays[NAMES[3]])


def test_mnist_dotted_spelling(tmp_path):
    d, arrays = _mnist_dir(tmp_path, gz=False)
    for name in NAMES:
        (d / name).rename(d / name.replace("-idx", ".idx"))
    assert np.array_equal(load_mnist(d).y_train, arrays[NAMES[1]])


def test_idx_types_and_write_roundtrip(tmp_path):
    a = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    p = tmp_path / "a.idx"
    p.write_bytes(_idx_bytes(0x0B, a.shape, a.astype(">i2").tobytes()))
    assert np.array_equal(read_idx(p), a)
    f = np.linspace(-1, 1, 7)
    assert np.array_equal(read_idx(write_idx(tmp_path / "f.idx.gz", f)), f)


def test_missing_directory_file_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MEANFIELD_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="MEANFIELD_DATA.*train-images-idx3-ubyte"):
        load_mnist()
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nope")
    d, _ = _mnist_dir(tmp_path)
    (d / (NAMES[3] + ".gz")).unlink()
    with pytest.raises(DataNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(d)
    with pytest.raises(DataNotFoundError, match="no MNIST files"):
        load_mnist(tmp_path / "..")


def _corrupt(tmp_path, name, raw):
    d, _ = _mnist_dir(tmp_path, gz=False)
    (d / name).write_bytes(raw)
    with pytest.raises(CorruptFileError) as info:
        load_mnist(d)
    assert str(d / name) in str(info.value)                    # the message names the file
    assert isinstance(info.value, SimError)
    return info.value


def test_bad_magic(tmp_path):
    err = _corrupt(tmp_path, NAMES[0], b"\x12\x34\x08\x03" + bytes(12 + 784))
    assert isinstance(err, BadMagicError) and err.problem is Problem.BAD_MAGIC
    assert err.path.endswith(NAMES[0])
    err = _corrupt(tmp_path, NAMES[1], _idx_bytes(0x0D, (1,), np.float32(1).astype(">f4").tobytes()))
    assert isinstance(err, BadMagicError)        # IDX, but not bytes


@pytest.mark.parametrize("cut", [2, 9, 16 + 100])
def test_truncated(tmp_path, cut):
    raw = _idx_bytes(0x08, (5, 28, 28), bytes(5 * 784))
    err = _corrupt(tmp_path, NAMES[0], raw[:cut])
    assert isinstance(err, TruncatedFileError) and err.problem is Problem.TRUNCATED


def test_truncated_gzip_and_bad_gzip(tmp_path):
    raw = gzip.compress(_idx_bytes(0x08, (5, 28, 28), bytes(range(256)) * 15 + bytes(5 * 784 - 3840)))
    d, _ = _mnist_dir(tmp_path)
    (d / (NAMES[0] + ".gz")).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TruncatedFileError, match=NAMES[0]):
        load_mnist(d)
    (d / (NAMES[0] + ".gz")).write_bytes(raw[:10] + bytes(len(raw) - 10))
    with pytest.raises((BadCompressionError, TruncatedFileError), match=NAMES[0]):
        load_mnist(d)


@pytest.mark.parametrize("shape", [(5, 784), (5, 27, 28), (5, 28, 28, 1)])
def test_wrong_dimensions(tmp_path, shape):
    err = _corrupt(tmp_path, NAMES[0], _idx_bytes(0x08, shape, bytes(int(np.prod(shape)))))
    assert isinstance(err, WrongDimensionsError)


def test_trailing_bytes_and_2d_labels(tmp_path):
    err = _corrupt(tmp_path, NAMES[1], _idx_bytes(0x08, (5,), bytes(6)))
    assert isinstance(err, WrongDimensionsError)
    err = _corrupt(tmp_path, NAMES[1], _idx_bytes(0x08, (5, 1), bytes(5)))
    assert isinstance(err, WrongDimensionsError)


def test_labels_out_of_range(tmp_path):
    err = _corrupt(tmp_path, NAMES[3], _idx_bytes(0x08, (3,), bytes([1, 10, 2])))
    assert isinstance(err, LabelRangeError) and "label 10 at index 1" in str(err)


def test_sizes_disagree(tmp_path):
    err = _corrupt(tmp_path, NAMES[1], _idx_bytes(0x08, (4,), bytes(4)))
    assert isinstance(err, SizeMismatchError) and "5 images but 4 labels" in str(err)
    assert err.path.endswith(NAMES[0])                         # both files named: images first


# --- CIFAR-10 (binary version), generated files only: the data set is not obtainable here ---

def _cifar_dir(tmp_path, n=4, sub="cifar-10-batches-bin"):
    d = tmp_path / sub
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    out = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, n).astype(np.uint8)
        red, green, blue = (rng.integers(0, 256, (n, 32, 32), dtype=np.uint8) for _ in range(3))
        recs = b"".join(bytes([labels[k]]) + red[k].tobytes() + green[k].tobytes() + blue[k].tobytes()
                        for k in range(n))
        (d / name).write_bytes(recs)
        out[name] = (labels, red, green, blue)
    return d, out


def test_cifar10_roundtrip_channel_layout(tmp_path):
    d, out = _cifar_dir(tmp_path)
    ds = load_cifar10(tmp_path)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    labels, red, green, blue = out["data_batch_2.bin"]
    assert np.array_equal(ds.y_train[4:8], labels)
    assert np.array_equal(ds.x_train[4:8, 0], red) and np.array_equal(ds.x_train[4:8, 2], blue)
    assert np.array_equal(ds.x_test[:, 1], out["test_batch.bin"][2])


def test_cifar10_truncated_label_range_missing(tmp_path, monkeypatch):
    d, _ = _cifar_dir(tmp_path)
    raw = (d / "data_batch_3.bin").read_bytes()
    (d / "data_batch_3.bin").write_bytes(raw[:-5])
    with pytest.raises(TruncatedFileError, match="data_batch_3.bin"):
        load_cifar10(d)
    (d / "data_batch_3.bin").write_bytes(bytes([11]) + raw[1:])
    with pytest.raises(LabelRangeError, match="data_batch_3.bin.*label 11 in record 0"):
        load_cifar10(d)
    (d / "test_batch.bin").unlink()
    with pytest.raises(DataNotFoundError, match="test_batch.bin"):
        load_cifar10(d)


# --- helpers ---

def test_scale_to_unit_exact():
    img = np.array([[[0, 255], [51, 1]]], dtype=np.uint8)
    s = scale_to_unit(img, np.float64)
    assert s.shape == (1, 4) and np.array_equal(s[0], [0.0, 1.0, 0.2, 1 / 255])
    with pytest.raises(SimError):
        scale_to_unit(img.astype(float))


def test_train_test_split_partition():
    x = np.arange(100)[:, None] * np.ones((1, 3))
    y = np.arange(100)
    sp = train_test_split(x, y, 0.25, seed=3)
    assert len(sp.y_test) == 25 and len(sp.y_train) == 75
    assert sorted(np.concatenate([sp.y_train, sp.y_test]).tolist()) == list(range(100))
    assert np.array_equal(sp.x_test[:, 0], sp.y_test)          # rows stay paired
    assert np.array_equal(train_test_split(x, y, 0.25, seed=3).y_test, sp.y_test)
    with pytest.raises(SimError):
        train_test_split(x, y, 1.0, seed=0)


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.75, 1.0, 0.333])
def test_corrupt_labels_exact_fraction(fraction):
    y = np.random.default_rng(0).integers(0, 10, 1000)
    res = corrupt_labels(y, fraction, 10, seed=7)
    k = round(fraction * 1000)
    assert res.n_changed == k and res.changed.sum() == k
    assert (res.labels != y).sum() == k                         # every chosen label changes
    assert np.array_equal(res.labels[~res.changed], y[~res.changed])
    assert res.labels.min() >= 0 and res.labels.max() <= 9


def test_corrupt_labels_uniform_over_other_classes_and_seeded():
    y = np.zeros(90000, dtype=np.int64)
    res = corrupt_labels(y, 1.0, 10, seed=1)
    counts = np.bincount(res.labels, minlength=10)
    assert counts[0] == 0
    # 9 classes, 10000 expected each: chi-square with 8 dof, 26.1 is its 0.999 quantile
    assert ((counts[1:] - 10000) ** 2 / 10000).sum() < 26.1
    a, b = corrupt_labels(y[:50], 0.5, 10, seed=4), corrupt_labels(y[:50], 0.5, 10, seed=4)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(corrupt_labels(y[:50], 0.5, 10, seed=4).changed,
                              corrupt_labels(y[:50], 0.5, 10, seed=5).changed)
    with pytest.raises(SimError):
        corrupt_labels(y, 1.5, 10, seed=0)


def test_random_points_reproducible_by_seed():
    a, b, c = random_points_2d(500, 11, n_test=10), random_points_2d(500, 11, n_test=10), random_points_2d(500, 12)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (500, 2) and a.x_test.shape == (10, 2) and set(np.unique(a.y_train)) == {0, 1}
    # fair labels: |#ones - 250| within 4 standard deviations (sqrt(500)/2 = 11.2)
    assert abs(a.y_train.sum() - 250) < 45
    u = random_points_2d(1000, 0, distribution="uniform")
    assert np.abs(u.x_train).max() <= 1.0


# --- the real MNIST files (present in CI beside the repository, not on users' machines) ---

def _real_mnist():
    for cand in (REPO.parent / "shared" / "data" / "mnist", os.environ.get("MEANFIELD_DATA")):
        if cand and pathlib.Path(cand).is_dir():
            try:
                return load_mnist(cand)
            except DataNotFoundError:
                continue
    pytest.skip("real MNIST not found: looked in ../shared/data/mnist beside the repository root and "
                "$MEANFIELD_DATA (users don't have it; the loader is tested on generated files above)")


def test_real_mnist_matches_readme():
    ds = _real_mnist()
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    s = scale_to_unit(ds.x_train, np.float64)
    assert abs(s.mean() - 0.1307) < 5e-5 and abs(s.std() - 0.3081) < 5e-5


@pytest.mark.parametrize("bad", [10.0, 2.5, "10", None, -1])
def test_random_points_size_must_be_an_integer(bad):
    with pytest.raises(SimError, match="n_points"):
        random_points_2d(bad, 0)
    with pytest.raises(SimError, match="n_test"):
        random_points_2d(5, 0, n_test=bad if bad != 10.0 else 1.5)


def test_random_points_unknown_distribution_names_the_choices():
    with pytest.raises(SimError, match="'normal', 'uniform'") as info:
        random_points_2d(5, 0, distribution="gaussian")
    assert "gaussian" in str(info.value)


def test_read_idx_missing_file_is_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="nope.idx") as info:
        read_idx(tmp_path / "nope.idx")
    assert "\n" not in str(info.value)
    with pytest.raises(DataNotFoundError, match="directory"):
        read_idx(tmp_path)
