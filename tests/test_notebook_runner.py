"""scripts/run_notebooks.py: notebooks run headless in a real kernel, in quick or full mode.

Checks that the mode reaches the kernel through the variables the notebooks read, that figures stay inline in
the executed copy, that docs/figures is left alone unless --write-figures is given, and that bad arguments get
one line on stderr and exit status 2.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "run_notebooks.py"


def require_notebook_tools():
    missing = [m for m in ("nbclient", "nbformat", "ipykernel", "matplotlib_inline")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"notebook tools missing ({', '.join(missing)}): pip install -e '.[notebooks]' "
                    "(the test extra includes it)", pytrace=False)


def run(*args, timeout=600):
    return subprocess.run([sys.executable, str(RUNNER), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def outputs(path: pathlib.Path) -> list[dict]:
    nb = json.loads(path.read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def figures_digest() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (ROOT / "docs" / "figures").glob("*")}


def probe_notebook(folder: pathlib.Path) -> pathlib.Path:
    """A two-cell notebook that prints what the runner told it and draws one figure."""
    cells = [
        ("import os\nprint('mode', os.environ['MEANFIELD_QUICK'], os.environ['MEANFIELD_WRITE_FIGURES'])\n"
         "print('cwd', os.getcwd())"),
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])",
    ]
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                     "outputs": [], "source": src} for i, src in enumerate(cells)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = folder / "probe.ipynb"
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.parametrize("flags, expected", [(["--quick"], "mode 1 0"), (["--full"], "mode 0 0"),
                                             (["--full", "--write-figures"], "mode 0 1")])
def test_mode_reaches_the_kernel_and_figures_stay_inline(tmp_path, flags, expected):
    require_notebook_tools()
    probe = probe_notebook(tmp_path)
    done = run(*flags, "--out", tmp_path / "out", probe)
    assert done.returncode == 0, done.stdout + done.stderr
    outs = outputs(tmp_path / "out" / "probe.ipynb")
    text = "".join("".join(o.get("text", "")) for o in outs)
    assert expected in text
    assert f"cwd {tmp_path}" in text  # run in the notebook's own folder: its relative paths hold
    assert sum("image/png" in o.get("data", {}) for o in outs) == 1
    assert not probe.with_name("probe.ipynb").read_text().count("image/png")  # the source is not modified


@pytest.mark.slow
def test_quick_run_of_a_notebook_keeps_its_figure_and_leaves_docs_figures_alone(tmp_path):
    require_notebook_tools()
    before = figures_digest()
    done = run("--quick", "--out", tmp_path, "raghu_fig1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 ran, 0 failed" in done.stdout
    outs = outputs(tmp_path / "raghu_fig1.ipynb")
    assert not [o for o in outs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outs) >= 1
    assert figures_digest() == before
    # the notebook prints the hyperplane-arrangement bound (HR eq. 4) for 4 lines in the plane:
    # sum_{i<=2} C(4, i) regions, the count checked here from the closed form
    printed = "".join("".join(o.get("text", "")) for o in outs)
    bound = re.search(r"eq\. 4 bound for one layer: (\d+)", printed)
    assert bound and int(bound.group(1)) == sum(math.comb(4, i) for i in range(3))


@pytest.mark.parametrize("args, message", [
    (["--quick", "--write-figures"], "--write-figures needs --full"),
    (["--quick", "no_such_notebook"], "no notebook 'no_such_notebook'"),
    (["--quick", "--timeout", "0"], "--timeout must be a positive"),
])
def test_bad_arguments_get_one_line_and_exit_2(args, message, tmp_path):
    require_notebook_tools()
    done = run(*args, "--out", tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_a_mode_is_required():
    done = run()
    assert done.returncode == 2 and "--quick" in done.stderr


def test_notebooks_save_figures_only_when_asked_and_never_hide_them():
    """Every savefig in a notebook sits under `if WRITE_FIGURES:`, set from MEANFIELD_WRITE_FIGURES; no
    notebook switches to a non-interactive backend (which would drop the inline figures in quick mode)."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        code = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        lines = "\n".join(code).splitlines()
        assert not any('matplotlib.use(' in l for l in lines), path.name
        saves = [i for i, l in enumerate(lines) if "savefig(" in l]
        if saves:
            assert any(l.startswith('WRITE_FIGURES = os.environ.get("MEANFIELD_WRITE_FIGURES") == "1"')
                       for l in lines), path.name
        for i in saves:
            indent = len(lines[i]) - len(lines[i].lstrip())
            guard = next(lines[j] for j in range(i - 1, -1, -1)
                         if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) < indent)
            assert guard.strip() == "if WRITE_FIGURES:", f"{path.name}: unguarded savefig: {lines[i].strip()}"


def test_a_failing_notebook_is_reported_by_cell_and_exit_1(tmp_path):
    require_notebook_tools()
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "ok", "metadata": {}, "outputs": [],
                     "source": "x = 1"},
                    {"cell_type": "code", "execution_count": None, "id": "bad", "metadata": {}, "outputs": [],
                     "source": "raise ValueError('broken on purpose')"}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps(nb))
    done = run("--quick", "--out", tmp_path / "out", path)
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "cell 1: ValueError: broken on purpose" in done.stdout
    assert "0 ran, 1 failed" in done.stdout
    assert (tmp_path / "out" / "broken.ipynb").is_file()  # the executed copy, error included, for a look
