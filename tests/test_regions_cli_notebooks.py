"""The `meanfield regions` plugin and the region notebooks (quick mode)."""
import argparse

import numpy as np
import pytest
from notebook_runner import run_notebook

from meanfield import bounds
from sim.cli.regions import add_parser


def _run(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["regions"] + argv)
    return args.func(args)


def test_cli_one_layer_prints_eq4_count(tmp_path, capsys):
    # one hidden layer of 6 units: the plane is cut into 1 + 6 + 15 = 22 regions
    out = tmp_path / "r.png"
    assert _run(["--widths", "6", "--sigma-b", "1.0", "--box=-1e4,1e4,-1e4,1e4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"| activation regions (exact) | {bounds.hyperplane_regions(6, 2)} |" in text
    assert out.stat().st_size > 0


def test_cli_out_directory_json_and_plot_labels(tmp_path, capsys, monkeypatch):
    import json

    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    (tmp_path / "plots").mkdir()
    saved = []
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, path, **k: saved.append((fig, str(path))))
    assert _run(["--widths", "6", "--sigma-b", "1.0", "--box=-1e4,1e4,-1e4,1e4", "--out", "plots/", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    fig, path = saved[-1]
    assert path == "plots/regions_relu_6_0.png" and data["plot"] == path
    rows = {r["quantity"]: r["value"] for r in data["rows"]}
    assert rows["activation regions (exact)"] == bounds.hyperplane_regions(6, 2)
    ax = fig.axes[0]
    # the title counts what the view shows: regions meeting the window, checked by sampling its points
    shown = rows["activation regions meeting the view"]
    assert ax.get_title().startswith(f"{shown} of 22 activation regions") and ax.get_xlabel() and ax.get_ylabel()
    from sim import RandomNetwork

    net = RandomNetwork("relu", [2, 6], 2 ** 0.5, 1.0, seed=0)
    s, t = np.meshgrid(np.linspace(-1, 1, 401)[1:-1], np.linspace(-1, 1, 401)[1:-1])
    h = np.stack([s.ravel(), t.ravel()], 1) @ net.weights[0].T + net.biases[0]
    assert shown == len(np.unique(h > 0, axis=0))
    # a trailing slash on a missing directory is not a file name
    assert _run(["--widths", "6", "--out", "nodir/"]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "nodir.png").exists()


def test_cli_bad_input_one_line_exit_2(tmp_path, capsys):
    for argv in (["--widths", "3,a"], ["--phi", "tanh"], ["--box", "1,2,3"], ["--n-in", "1"], ["--seed", "-1"],
                 ["--box=1,-1,0,1"], ["--view=0,0,0,1"], ["--out", "/proc/r.png"], ["--sigma-w=-1"],
                 ["--sigma-b", "nan"], ["--out", str(tmp_path)]):
        if "--out" not in argv:
            argv = argv + ["--out", str(tmp_path / "x.png")]
        if argv[-1] == str(tmp_path):            # a directory: the default name goes inside, which works
            assert _run(["--widths", "3"] + argv) == 0
            assert (tmp_path / "regions_relu_3_0.png").exists()
            capsys.readouterr()
            continue
        assert _run(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("meanfield regions:") and "\n" not in err
        assert not (tmp_path / "x.png").exists()


def test_notebook_raghu_fig1():
    ns = run_notebook("raghu_fig1.ipynb")
    # layer 1 is a line arrangement (eq. 4 when all crossings are in the box); later layers only add regions
    assert ns["counts"][0] <= bounds.hyperplane_regions(4, 2)
    assert ns["counts"][0] < ns["counts"][1] < ns["counts"][2]


def test_notebook_raghu_fig2():
    ns = run_notebook("raghu_fig2.ipynb")
    ratios = ns["ratio"]
    # exponential growth: every architecture grows by a factor > 1 per layer, more for larger sigma_w^2
    assert all(v > 1 for v in ratios.values())
    for k in ns["widths_k"]:
        assert ratios[k, ns["sigma_w2s"][-1]] > ratios[k, ns["sigma_w2s"][0]]
    # the drawn upper bound is the chi-distribution mean, checked in closed form for k = 2 (sqrt(pi/2) / sqrt(2))
    assert ns["length_growth_upper_bound"](3.0, 2) == pytest.approx(3.0 * np.sqrt(np.pi) / 2, rel=1e-14)
    # every measured ratio lies below the rigorous upper bound
    assert all(ratios[key] < ns["upper"][key] for key in ratios)
    # Theorem 1's rate (constant 1) is not a lower bound: it exceeds the measured ratio somewhere
    assert any(ns["rate"][key] > ratios[key] for key in ratios)
    # the mean-field sqrt(chi1) (k -> infinity): quick mode (k = 50, depth 4, one network) measured 8-10% below;
    # the full-mode figure agrees to 1.3% at k = 200
    for s2 in ns["sigma_w2s"]:
        assert ratios[50, s2] == pytest.approx(ns["mean_field"][s2], rel=0.13)


def test_notebook_raghu_fig3():
    ns = run_notebook("raghu_fig3.ipynb")
    rows = ns["rows"]
    # transitions increase with trajectory length (Spearman-type check: same order)
    order = np.argsort(rows[:, 3])
    assert np.corrcoef(np.log(rows[order, 3]), np.log(rows[order, 4] + 1))[0, 1] > 0.8


def test_notebook_hanin_rolnick_fig2():
    ns = run_notebook("hanin_rolnick_fig2.ipynb")
    assert ns["res"].linear.count <= ns["res"].count
    assert ns["both"].linear.count < ns["both"].count        # the dead last layer merges regions
    assert ns["res"].areas.sum() == pytest.approx(16.0, rel=1e-12)


def test_notebook_hanin_rolnick_fig7b():
    ns = run_notebook("hanin_rolnick_fig7b.ipynb")
    res, sec = ns["res"], ns["sec"]
    assert res.count > 1
    # the three data points lie in the plane and in the box
    s0, s1, t0, t1 = res.box
    assert np.all((sec.points_st[:, 0] > s0) & (sec.points_st[:, 0] < s1))


def test_notebook_region_density():
    ns = run_notebook("region_density.ipynb")
    N = ns["totals"][0]
    one_layer = ns["results"][N, 1][0]
    assert one_layer <= bounds.hyperplane_regions(N, 2)
    assert one_layer >= 0.8 * bounds.hyperplane_regions(N, 2)
    for (n, depth), (mean2d, _, mean1d) in ns["results"].items():
        assert mean2d <= bounds.layerwise_arrangement_bound([n // depth] * depth, 2)
        assert mean1d <= bounds.layerwise_arrangement_bound([n // depth] * depth, 1)
