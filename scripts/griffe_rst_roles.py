"""griffe extension for the docs build: the reStructuredText markup in the code's docstrings, as Markdown.

The docstrings use Sphinx roles and directives (``:math:`q^*```, ``.. math::``, ``:class:`~meanfield.X```)
that Markdown shows verbatim.  This rewrites them, in the docs build only (the code is untouched):
``:math:`x``` -> ``$x$``; a ``.. math::`` block -> a ``$$ ... $$`` block; ``:class:``, ``:func:``,
``:meth:``, ``:attr:``, ``:mod:``, ``:data:``, ``:exc:``, ``:obj:`` -> inline code of the target (its last
component with a leading ``~``, as Sphinx shows it).  Configured in mkdocs.yml (mkdocstrings ``extensions``).
"""
from __future__ import annotations

import re

import griffe

MATH_ROLE = re.compile(r":math:`([^`]+)`")
REF_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([^`]+)`")
MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")


def _ref(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _math_blocks(text: str) -> str:
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = MATH_DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, body = len(m.group(1)), [m.group(2)] if m.group(2).strip() else []
        i += 1
        while i < len(lines):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            if not line.strip() and (i + 1 >= len(lines) or (lines[i + 1].strip() and
                                     len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= indent)):
                break
            body.append(line.strip())
            i += 1
        pad = " " * indent
        out += [f"{pad}$$", *(f"{pad}{b}" for b in body if b), f"{pad}$$"]
    return "\n".join(out)


def to_markdown(text: str) -> str:
    if ":" not in text:
        return text
    text = _math_blocks(text) if ".. math::" in text else text
    text = MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    return REF_ROLE.sub(_ref, text)


class RstRoles(griffe.Extension):
    def on_instance(self, *, node, obj, agent, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
