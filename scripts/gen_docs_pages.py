"""Generate the site's navigation, API reference pages and notebook pages.

Run by the ``gen-files`` plugin of ``mkdocs build`` (see mkdocs.yml); it writes virtual pages only, never
files in the repository.  The API reference is found by walking the packages, so moving or adding a module
needs no edit here: every public module (no path part starting with ``_``) of ``meanfield`` and ``sim`` gets
a page ``reference/<package>/<module>.md`` holding a mkdocstrings directive.  griffe reads the source
statically, so building the docs imports nothing and compiles no kernel.
"""
from __future__ import annotations

import json
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
PACKAGES = ("meanfield", "sim")

# Reading order and short nav titles of the hand-written pages.  Any other page in docs/ follows in
# alphabetical order under its first heading, and a listed page that is absent is left out, so pages added
# on other branches (the glossary among them) appear without editing this list.
PAGES = {
    "index.md": "Home",
    "guide.md": "User guide",
    "glossary.md": "Glossary",
    "derivations.md": "Derivations",
    "simulation.md": "Simulation",
    "regions.md": "Regions and expressivity",
    "training.md": "Training",
    "experiments.md": "Training experiments",
    "sweeps.md": "Sweeps",
    "benchmarks.md": "Benchmarks",
    "about-docs.md": "About these docs",
}


def first_heading(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip().replace("`", "")
    return default


def is_public_module(path: Path) -> bool:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if any(p.startswith("_") and p != "__init__" for p in parts):
        return False
    # A folder without __init__.py is data or generated code, not a subpackage.
    return all((ROOT.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts)))


def api_pages() -> list[str]:
    nav = mkdocs_gen_files.Nav()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not is_public_module(path):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            doc = Path(*parts).with_suffix(".md")
            if parts[-1] == "__init__":
                parts = parts[:-1]
                doc = Path(*parts, "index.md")
            nav[parts] = Path("reference", doc).as_posix()
            with mkdocs_gen_files.open(Path("reference", doc), "w") as fd:
                fd.write(f"# `{'.'.join(parts)}`\n\n::: {'.'.join(parts)}\n")
            mkdocs_gen_files.set_edit_path(Path("reference", doc), path.relative_to(ROOT))
    return list(nav.build_literate_nav(indentation=4))


def notebook_pages() -> list[str]:
    lines = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        title = path.stem
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                title = first_heading("".join(cell["source"]), path.stem)
                break
        with mkdocs_gen_files.open(Path("notebooks", path.name), "w") as fd:
            fd.write(path.read_text())
        mkdocs_gen_files.set_edit_path(Path("notebooks", path.name), path.relative_to(ROOT))
        lines.append(f"    * [{title}](notebooks/{path.name})\n")
    return lines


def site_nav() -> list[str]:
    present = {p.name for p in DOCS.glob("*.md")}
    listed = [name for name in PAGES if name in present]
    others = sorted(present - set(PAGES))
    lines = [f"* [{PAGES[name]}]({name})\n" for name in listed]
    lines += [f"* [{first_heading((DOCS / n).read_text(), n)}]({n})\n" for n in others]
    lines.append("* Notebooks\n")
    lines += notebook_pages()
    lines.append("* API reference\n")
    lines += api_pages()
    return lines


with mkdocs_gen_files.open("SUMMARY.md", "w") as fd:
    fd.writelines(site_nav())
