"""Command-line argument checks, output paths, names and version: one line on stderr, exit 2, before any work.

References: the stated rules (MIN < MAX, N >= 2, finite values, rtol range, q0 > 0), file-system
facts, pyproject.toml's version, and the Gaussian integral E[exp(2 q z^2)] (finite iff q < 1/4).
"""
import pathlib
import subprocess
import sys
import warnings

import pytest
import tomllib

import meanfield as mf
from meanfield import cli, phase
from meanfield.nonlinearity import Nonlinearity, registry_names
from meanfield.outputs import OutputPathError, check_writable, default_prefix
from meanfield.quadrature import check_status


def run(argv, capsys):
    """main(argv) in this process: (exit status, stdout, stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # a numpy or matplotlib warning fails the test
        try:
            rc = cli.main(argv)
        except SystemExit as e:
            rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def no_compute(monkeypatch):
    """Fail loudly if a command starts computing."""
    def refuse(*a, **k):
        raise AssertionError("computed before checking its arguments")
    monkeypatch.setattr(phase, "phase_diagram", refuse)


@pytest.mark.parametrize("args, flag, reason", [
    (["--sigma-w", "1:0:5"], "--sigma-w", "MIN must be below MAX"),
    (["--sigma-w", "0.5:4:1"], "--sigma-w", "N >= 2"),
    (["--sigma-w", "0:inf:5"], "--sigma-w", "finite"),
    (["--sigma-b", "nan"], "--sigma-b", "finite"),
    (["--sigma-b", "0.5,0.2"], "--sigma-b", "increasing"),
    (["--sigma-b", "-1:1:3"], "--sigma-b", ">= 0"),
    (["--sigma-w", "1:2:x"], "--sigma-w", "integer"),
    (["--rtol", "0"], "--rtol", "[1e-15, 0.01]"),
    (["--rtol", "10"], "--rtol", "[1e-15, 0.01]"),
    (["--q0", "0"], "--q0", "> 0"),
    (["--q0", "-inf"], "--q0", "finite"),
])
def test_bad_phase_arguments_are_refused_naming_the_flag(args, flag, reason, capsys, no_compute):
    rc, out, err = run(["phase", "tanh", *args], capsys)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and flag in err and reason in err


@pytest.mark.parametrize("q0", ["0", "-1"])
def test_point_q0_must_be_positive_like_phase(q0, capsys, monkeypatch):
    # MeanField's rule q0 > 0, checked by argparse: the message names the flag, nothing is computed
    monkeypatch.setattr(cli, "point_report", lambda *a, **k: pytest.fail("computed before checking --q0"))
    rc, out, err = run(["point", "tanh", "--sigma-w", "1", "--sigma-b", "0", f"--q0={q0}"], capsys)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--q0" in err and "> 0" in err


def test_a_single_value_is_a_grid_of_one():
    assert cli._grid("0.3").tolist() == [0.3]
    assert cli._grid("0:1:3").tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("make, problem", [
    (lambda d: d / "missing" / "p", "does not exist"),
    (lambda d: d / "file" / "p", "is not a directory"),
    (lambda d: pathlib.Path("/proc/meanfield-out"), "cannot write"),
    (lambda d: d / "adir", "is a directory"),
])
def test_unwritable_out_fails_before_computing(make, problem, tmp_path, capsys, no_compute):
    (tmp_path / "file").write_text("")
    (tmp_path / "adir.png").mkdir()
    out = make(tmp_path)
    rc, _, err = run(["phase", "tanh", "--sigma-w", "1,2", "--sigma-b", "0.3", "--quiet", "--out", str(out)], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert problem in err and "--out" in err
    assert not (tmp_path / "missing").exists()          # refused, not created


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only directories")
def test_read_only_directory_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="cannot write"):
            check_writable(ro / "p", (".png",))
    finally:
        ro.chmod(0o755)


def test_check_writable_appends_suffixes_and_returns_the_prefix(tmp_path):
    assert check_writable(tmp_path / "sw1.5", (".npz", ".png")) == tmp_path / "sw1.5"
    with pytest.raises(OutputPathError, match="directory"):
        check_writable(str(tmp_path) + "/")


def test_default_names_differ_between_expressions_and_stay_readable():
    reg = registry_names()
    a, b = default_prefix("phase", "x*tanh(x)", reg), default_prefix("phase", "x-tanh(x)", reg)
    assert a != b and a.startswith("phase_x_tanh_x_") and b.startswith("phase_x_tanh_x_")
    assert default_prefix("phase", "x * tanh(x)", reg) == a       # spacing is not a different phi
    assert default_prefix("phase", "tanh", reg) == "phase_tanh"
    assert len(default_prefix("phase", "x+" * 400 + "x", reg)) < 60


def test_expression_starting_with_minus_is_accepted(capsys):
    rc, out, err = run(["derive", "-x*tanh(x)", "--timeout", "0"], capsys)
    assert rc == 0, err
    assert out.startswith("# Mean-field derivation for `-x*tanh(x)`")


def test_option_values_that_look_like_expressions_are_left_alone(capsys):
    rc, _, err = run(["point", "tanh", "--sigma-w", "-x", "--sigma-b", "0"], capsys)
    assert rc == 2 and "--sigma-w" in err


def test_long_expression_is_not_echoed_whole(capsys):
    phi = "x" * 998 + "("
    rc, _, err = run(["derive", phi], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert len(err) < 300 and "999 characters" in err


def test_gaussian_divergence_message_says_where():
    """exp(x^2): E[exp(2 q z^2)] = int exp((2q - 1/2) z^2) dz/sqrt(2 pi) is finite iff q < 1/4."""
    with pytest.raises(mf.DivergentIntegralError, match=r"q >= 1/\(4\*1\) = 0\.25"):
        check_status(3, "E[phi^2] at q = 0.3", Nonlinearity("exp(x**2)"))
    with pytest.raises(mf.DivergentIntegralError, match=r"q >= .* = 0\.5\b"):      # x e^{x^2/2}: a = 1/2
        check_status(2, "E[phi^2] at q = 0.7", Nonlinearity("x*exp(x**2/2)"))
    with pytest.raises(mf.DivergentIntegralError, match="45 standard deviations"):  # no Gaussian growth
        check_status(3, "E[phi^2] at q = 1e9", Nonlinearity("exp(x)"))


def test_version_is_the_one_in_pyproject(capsys):
    pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert mf.__version__ == version
    rc, out, _ = run(["--version"], capsys)
    assert rc == 0 and out.strip() == f"meanfield {version}"


@pytest.mark.slow
def test_cli_phase_default_output_name_is_unique(tmp_path):
    r = subprocess.run([sys.executable, "-m", "meanfield", "phase", "x*tanh(x)", "--sigma-w", "0.8,1.2",
                        "--sigma-b", "0.3", "--no-correlations", "--quiet"], capture_output=True, text=True,
                       check=False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    prefix = default_prefix("phase", "x*tanh(x)", registry_names())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(prefix + s for s in (".csv", ".npz", ".png"))
