"""The training-experiment notebooks run headless in quick mode (MEANFIELD_QUICK=1) and show what they claim."""
import math
import os
import pathlib

import numpy as np
import pytest
from experiment_store import store_dir

pytest.importorskip("jax")
pytest.importorskip("dask.distributed")

from notebook_runner import run_notebook

REPO = pathlib.Path(__file__).resolve().parent.parent


def _need_mnist():
    if not any(c and pathlib.Path(c).is_dir()
               for c in (REPO.parent / "shared" / "data" / "mnist", os.environ.get("MEANFIELD_DATA"))):
        pytest.skip("real MNIST not found: looked in ../shared/data/mnist beside the repository root and "
                    "$MEANFIELD_DATA")


pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _shared_store():
    store_dir()      # the notebooks read $MEANFIELD_EXPERIMENT_STORE: quick runs done earlier are reused


def test_hr_fig3_notebook():
    _need_mnist()
    ns = run_notebook("hanin_rolnick_fig3.ipynb")
    for arch, pred in ns["prediction"].items():
        assert pred == sum(int(w) for w in arch.split(",")) ** 2 / 2     # Remark 1
    assert math.isfinite(ns["ratio"]) and ns["ratio"] >= 1


def test_hr_fig4_notebook():
    _need_mnist()
    ns = run_notebook("hanin_rolnick_fig4.ipynb")
    for c, frac in set(zip(ns["table"]["corruption"].tolist(), ns["table"]["corrupted_fraction"].tolist())):
        assert frac == math.floor(c * 512 + 0.5) / 512
    assert all(p == 24 for p in ns["prediction"].values())      # quick: 3 layers of width 8 = 24 neurons


@pytest.mark.parametrize("name", ["hanin_rolnick_fig5.ipynb", "hanin_rolnick_fig6.ipynb"])
def test_hr_points_notebooks(name):
    ns = run_notebook(name)
    assert all(p == 24 ** 2 / 2 for p in ns["prediction"].values())
    assert all(a > 1 and b > 1 for a, b in ns["start_end"].values())


def test_hr_fig7_notebook():
    _need_mnist()
    ns = run_notebook("hanin_rolnick_fig7.ipynb")
    assert len(ns["counts"]["origin"]) == 3 and np.all(ns["counts"]["three"] > 1)


@pytest.mark.parametrize("name", ["raghu_fig4.ipynb", "raghu_fig5.ipynb"])
def test_raghu_trajectory_notebooks(name):
    _need_mnist()
    ns = run_notebook(name)
    for curve in ("mnist", "random"):
        assert ns["change"][curve][0] == pytest.approx(1.0, abs=1e-12)   # the input curve does not train


def test_raghu_fig6_notebook():
    _need_mnist()
    ns = run_notebook("raghu_fig6.ipynb")
    assert sorted(ns["acc"]) == [1, 2]
    assert all(0 <= a <= 1 and 0 <= b <= 1 for a, b in ns["acc"].values())


def test_noise_depth_notebook():
    _need_mnist()
    ns = run_notebook("noise_depth.ipynb")
    assert sorted(ns["drop"]) == [0.5] and len(ns["drop"][0.5]) == 3


def test_trajectory_regularization_notebook():
    _need_mnist()
    ns = run_notebook("trajectory_regularization.ipynb")
    assert set(ns["final_acc"]) == {"none", "batchnorm", "trajreg lambda=0.1"}
    assert all(v > 0 for v in ns["final_len"].values())
