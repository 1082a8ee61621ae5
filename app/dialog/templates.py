"""``{name}`` placeholders in what a flow says, filled from the call's variables."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A placeholder is not ``{name}`` with a plain variable name."""


def placeholders(template: str) -> list[str]:
    """The variable names ``template`` uses, in order; raises TemplateError on a malformed placeholder."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        if match[0] in ("{{", "}}"):
            continue
        name = match[1].strip()
        if not _NAME.fullmatch(name):
            raise TemplateError(f"placeholder {match[0]!r} is not {{variable_name}}")
        names.append(name)
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        raise TemplateError("unbalanced '{' or '}' (write '{{' or '}}' for a literal brace)")
    return names


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill ``template``; a variable with no value is spoken as nothing rather than as its name."""

    def fill(match: re.Match[str]) -> str:
        if match[0] == "{{":
            return "{"
        if match[0] == "}}":
            return "}"
        return variables.get(match[1].strip(), "")

    return " ".join(_PLACEHOLDER.sub(fill, template).split())
