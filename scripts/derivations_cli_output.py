"""Regenerate the command-line output shown in docs/derivations.md (never paste it by hand).

    python scripts/derivations_cli_output.py          # rewrite the generated blocks in place
    python scripts/derivations_cli_output.py --check  # exit 1 (and say which) if a block is out of date

Each generated block sits between ``<!-- BEGIN generated: ID -->`` and ``<!-- END generated: ID -->`` and holds
the stdout of the ``meanfield`` command that BLOCKS gives for ID, run as ``python -m meanfield ...`` with this
interpreter (so the checkout's code, not another installed copy).  ``meanfield derive tanh`` runs sympy for
about 30-40 s on an idle 2-core machine; nothing is compiled.
"""
from __future__ import annotations

import argparse
import difflib
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "derivations.md"
# block id -> arguments of the meanfield command whose stdout the block shows
BLOCKS = {"derive-tanh": ["derive", "tanh"]}
FENCE = "````"  # four backticks: the output itself contains ``` fences


def command_output(args: list[str]) -> str:
    env = dict(os.environ, MEANFIELD_PROGRESS="0")
    done = subprocess.run([sys.executable, "-m", "meanfield", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"meanfield {' '.join(args)} failed (exit {done.returncode}): "
                           f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no message'}")
    return done.stdout.rstrip("\n") + "\n"


def block_pattern(block_id: str) -> re.Pattern:
    return re.compile(rf"(<!-- BEGIN generated: {re.escape(block_id)} -->\n)(.*?)(<!-- END generated: "
                      rf"{re.escape(block_id)} -->)", re.DOTALL)


def regenerate(text: str, outputs: dict[str, str]) -> str:
    for block_id, output in outputs.items():
        pattern = block_pattern(block_id)
        if not pattern.search(text):
            raise RuntimeError(f"{DOC.relative_to(ROOT)} has no block {block_id!r}: add the BEGIN/END markers")
        body = f"{FENCE}markdown\n{output}{FENCE}\n"
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(3), text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the doc is up to date")
    args = parser.parse_args(argv)
    old = DOC.read_text()
    try:
        new = regenerate(old, {bid: command_output(a) for bid, a in BLOCKS.items()})
    except RuntimeError as exc:
        print(f"derivations_cli_output: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != old:
            diff = difflib.unified_diff(old.splitlines(), new.splitlines(), "docs", "generated", lineterm="", n=0)
            print("\n".join(list(diff)[:40]))
            print(f"{DOC.relative_to(ROOT)} is out of date: run python scripts/derivations_cli_output.py")
            return 1
        print(f"{DOC.relative_to(ROOT)} is up to date")
        return 0
    if new != old:
        tmp = DOC.with_suffix(".md.tmp")
        tmp.write_text(new)
        tmp.replace(DOC)
    print(f"{DOC.relative_to(ROOT)}: {'rewritten' if new != old else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
