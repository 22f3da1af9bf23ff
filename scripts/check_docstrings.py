"""List public functions, methods and classes whose docstrings miss the numpy sections the API reference shows.

    python scripts/check_docstrings.py            # one line per problem, exit 1 if any
    python scripts/check_docstrings.py --summary  # counts per module only

Reads the source statically with griffe (the parser the docs build uses; nothing is imported).  Reported:
no docstring; parameters but no ``Parameters`` section; a return annotation other than None but no
``Returns`` (or ``Yields``) section; and what griffe's numpy parser warns about (a documented parameter that the
signature lacks, a parameter with neither type nor annotation).  The docs build itself tolerates the last two
(mkdocs.yml says why), so this script is where they are seen.  Public means: no part of the dotted path starts
with ``_``.  Needs the ``docs`` extra.
"""
from __future__ import annotations

import argparse
import collections
import logging
import pathlib
import sys

import griffe

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("meanfield", "sim")


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def public_objects(obj):
    for member in obj.members.values():
        if member.is_alias or member.name.startswith("_"):
            continue
        if member.is_module:
            yield from public_objects(member)
        elif member.is_function or member.is_class:
            yield member
            if member.is_class:
                for sub in member.members.values():
                    if not sub.is_alias and sub.is_function and not sub.name.startswith("_"):
                        yield sub


def problems_of(obj, collect: _Collect) -> list[str]:
    where = f"{obj.relative_filepath}:{obj.lineno}: {obj.path}"
    if obj.docstring is None:
        return [f"{where}: no docstring"]
    collect.messages.clear()
    sections = {s.kind for s in obj.docstring.parse("numpy")}
    found = [f"{where}: {m.split(': ', 1)[-1]}" for m in collect.messages]
    kinds = griffe.DocstringSectionKind
    if obj.is_function:
        params = [p for p in obj.parameters if p.name not in ("self", "cls")]
        if params and kinds.parameters not in sections and kinds.other_parameters not in sections:
            found.append(f"{where}: no Parameters section ({', '.join(p.name for p in params)})")
        returns = str(obj.returns) if obj.returns is not None else ""
        if returns and returns != "None" and not sections & {kinds.returns, kinds.yields}:
            found.append(f"{where}: no Returns section (returns {returns})")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true", help="counts per module instead of every problem")
    args = parser.parse_args(argv)
    collect = _Collect()
    logging.getLogger("griffe").addHandler(collect)
    logging.getLogger("griffe").propagate = False
    problems = []
    for package in PACKAGES:
        module = griffe.load(package, search_paths=[str(ROOT)], docstring_parser="numpy")
        for obj in public_objects(module):
            problems += problems_of(obj, collect)
    if args.summary:
        per_module = collections.Counter(p.split(":", 1)[0] for p in problems)
        for path, n in sorted(per_module.items()):
            print(f"{n:4d}  {path}")
    else:
        print("\n".join(problems))
    print(f"{len(problems)} docstring problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
