"""The API reference site builds offline with warnings as errors (`mkdocs build --strict`).

The docs tools are part of the ``test`` extra, so a missing tool is a broken install and fails here (naming
the install command) instead of skipping.  The build runs with HTTP(S) proxies pointing at a closed port, so
anything that tried to download during the build (fonts, plugins' assets) would fail it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC_TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_gen_files",
             "mkdocs_literate_nav", "mkdocs_jupyter")
INSTALL = "pip install -e '.[docs]'"


def require_doc_tools():
    missing = [m for m in DOC_TOOLS if importlib.util.find_spec(m.split(".")[0]) is None
               or importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"docs tools missing ({', '.join(missing)}): {INSTALL} (the test extra includes it)",
                    pytrace=False)


def public_modules() -> set[str]:
    """Dotted names of the public modules, found independently of the docs' generator script."""
    names = set()
    for package in ("meanfield", "sim"):
        for path in (ROOT / package).rglob("__init__.py"):
            parts = path.parent.relative_to(ROOT).parts
            if any(p.startswith("_") for p in parts):
                continue
            names.add(".".join(parts))
            for module in path.parent.glob("*.py"):
                if not module.name.startswith("_"):
                    names.add(".".join((*parts, module.stem)))
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_doc_tools()
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="",
               NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    problems = [l for l in done.stderr.splitlines() if re.match(r"(\x1b\[[0-9;]*m)*(WARNING|ERROR)", l)]
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or
                                                                              done.stderr.splitlines()[-30:])
    return out


def test_docs_tools_are_installed():
    require_doc_tools()
    assert (ROOT / "mkdocs.yml").is_file()


@pytest.mark.slow
def test_every_public_module_has_an_api_page(site):
    modules = public_modules()
    assert {"meanfield", "meanfield.mean_field", "sim"} <= modules
    for name in modules:
        page = site / "reference" / pathlib.Path(*name.split(".")) / "index.html"
        assert page.is_file(), f"no API page for {name}"
    # mkdocstrings rendered the objects, not just a heading: the inventory lists MeanField.q_star
    inventory = (site / "objects.inv").read_bytes()
    import zlib
    lines = zlib.decompress(inventory.split(b"\n", 4)[4]).decode()
    assert "meanfield.mean_field.MeanField.q_star" in lines


@pytest.mark.slow
def test_docs_pages_figures_and_notebooks_are_in_the_site(site):
    for md in (ROOT / "docs").glob("*.md"):
        target = site / ("index.html" if md.stem == "index" else f"{md.stem}/index.html")
        assert target.is_file(), f"docs/{md.name} was not built"
    for png in (ROOT / "docs" / "figures").glob("*.png"):
        assert (site / "figures" / png.name).read_bytes() == png.read_bytes()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.is_file(), f"notebook {nb.name} was not rendered"
        first_code = next(c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        assert "QUICK" in "".join(first_code["source"]) and "QUICK" in page.read_text()


@pytest.mark.slow
def test_theme_loads_no_web_fonts(site):
    html = (site / "index.html").read_text()
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html


def test_docs_name_papers_by_arxiv_number_not_local_paths():
    texts = {p: p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
                                        *(ROOT / "notebooks").glob("*.ipynb")]}
    for path, text in texts.items():
        assert "shared/papers" not in text and "/work/" not in text, f"{path.name} points at a local path"
    index = " ".join(texts[ROOT / "docs" / "index.md"].split())  # titles may wrap
    for title, number in (("Exponential expressivity in deep neural networks through transient chaos", "1606.05340"),
                          ("On the expressive power of deep neural networks", "1606.05336"),
                          ("Deep ReLU networks have surprisingly few activation patterns", "1906.00904")):
        assert title in index and f"arXiv:{number}" in index and f"https://arxiv.org/abs/{number}" in index


@pytest.mark.slow
def test_docstring_rest_markup_is_rendered_as_markdown_math_and_code(site):
    page = (site / "reference" / "meanfield" / "reference" / "index.html").read_text()
    assert ":math:" not in page and ".. math::" not in page and ":class:" not in page
    assert '<div class="arithmatex">' in page and '<span class="arithmatex">' in page


def test_rest_roles_to_markdown():
    require_doc_tools()
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from griffe_rst_roles import to_markdown
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = ("Uses :math:`q^*` of :class:`~meanfield.MeanField` (:func:`meanfield.critical_sigma_w`).\n\n"
            "    .. math:: a = b\n              + c,\n\n    then.\n\n.. math::\n\n    x = y\n\nEnd.")
    assert to_markdown(text) == ("Uses $q^*$ of `MeanField` (`meanfield.critical_sigma_w`).\n\n"
                                 "    $$\n    a = b\n    + c,\n    $$\n\n    then.\n\n$$\nx = y\n$$\n\nEnd.")


def _script(name: str):
    import importlib
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_derivations_page_has_each_generated_block_once():
    gen = _script("derivations_cli_output")
    text = (ROOT / "docs" / "derivations.md").read_text()
    for block_id, args in gen.BLOCKS.items():
        assert len(gen.block_pattern(block_id).findall(text)) == 1, block_id
        # the block shows the command it names: `meanfield derive tanh` starts with its title line
        body = gen.block_pattern(block_id).search(text).group(2)
        assert body.startswith("````markdown\n# Mean-field derivation for `tanh`\n") and body.endswith("````\n")
        assert args == ["derive", "tanh"]


def test_regenerate_replaces_only_the_marked_block():
    gen = _script("derivations_cli_output")
    doc = ("intro\n<!-- BEGIN generated: derive-tanh -->\nstale\n<!-- END generated: derive-tanh -->\n"
           "outro ```` kept\n")
    new = gen.regenerate(doc, {"derive-tanh": "# fresh\n\n```\ncode\n```\n"})
    assert new == ("intro\n<!-- BEGIN generated: derive-tanh -->\n````markdown\n# fresh\n\n```\ncode\n```\n"
                   "````\n<!-- END generated: derive-tanh -->\noutro ```` kept\n")
    assert gen.regenerate(new, {"derive-tanh": "# fresh\n\n```\ncode\n```\n"}) == new
    with pytest.raises(RuntimeError, match="no block 'other'"):
        gen.regenerate(doc, {"other": "x\n"})
