"""Execute a notebook's code cells headless, in quick mode, without Jupyter.

Notebooks read ``MEANFIELD_QUICK=1`` (set here) and shrink their widths, depths and
grids so that the test suite can run every one of them in seconds.
"""
from __future__ import annotations

import json
import os
import pathlib

import matplotlib

matplotlib.use("Agg")

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name: str) -> dict:
    """Run ``notebooks/<name>`` top to bottom in quick mode; return its namespace."""
    path = NOTEBOOKS / name
    nb = json.loads(path.read_text())
    os.environ["MEANFIELD_QUICK"] = "1"
    namespace: dict = {"__name__": "__notebook__"}
    cwd = os.getcwd()
    os.chdir(NOTEBOOKS)
    try:
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            # IPython magics are not Python; quick mode never needs them.
            src = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!")))
            exec(compile(src, f"{name}[cell {i}]", "exec"), namespace)
    finally:
        os.chdir(cwd)
        import matplotlib.pyplot as plt
        plt.close("all")
    return namespace
