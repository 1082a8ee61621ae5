"""Walk an XML dialplan context the way mod_dialplan_xml does, to list every action a call can reach.

Semantics modelled (mod_dialplan_xml.c, ``parse_exten()`` and the hunt loop): extensions are tried in
order; the conditions of an extension are evaluated in order, each a regex on a caller field; a true
condition adds its ``<action>``s, a false one adds its ``<anti-action>``s and (default ``break="on-false"``)
ends the extension. The hunt stops at the first extension whose last evaluated condition was true, unless
it has ``continue="true"``. Everything an extension added runs, even when it did not stop the hunt; the
walk therefore reports every action that would execute. Unmodelled attributes raise.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

_CONDITION_ATTRIBUTES = {"field", "expression"}
_EXTENSION_ATTRIBUTES = {"name", "continue"}


class UnmodelledDialplan(ValueError):
    """The dialplan uses a feature this walker does not model."""


@dataclass(frozen=True)
class Step:
    """One application the call would execute."""

    extension: str
    application: str
    data: str
    anti: bool


def _condition_matches(condition: ET.Element, fields: Mapping[str, str]) -> tuple[bool, re.Match[str] | None]:
    extra = set(condition.attrib) - _CONDITION_ATTRIBUTES
    if extra:
        raise UnmodelledDialplan(f"condition attributes {sorted(extra)} are not modelled")
    field_name = condition.get("field")
    expression = condition.get("expression")
    if field_name is None and expression is None:
        return True, None
    if field_name is None or expression is None:
        raise UnmodelledDialplan("a condition needs both field and expression")
    match = re.search(expression, fields.get(field_name, ""))
    return match is not None, match


def _steps(extension: str, condition: ET.Element, tag: str, match: re.Match[str] | None) -> list[Step]:
    steps = []
    for action in condition.findall(tag):
        data = action.get("data", "")
        if match is not None:
            data = re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))) or "", data)
        steps.append(Step(extension, action.get("application", ""), data, anti=(tag == "anti-action")))
    return steps


def walk(context: ET.Element, fields: Mapping[str, str]) -> list[Step]:
    """Every application a call with these caller fields executes in this context, in order."""
    reached: list[Step] = []
    for extension in context.findall("extension"):
        extra = set(extension.attrib) - _EXTENSION_ATTRIBUTES
        if extra:
            raise UnmodelledDialplan(f"extension attributes {sorted(extra)} are not modelled")
        name = extension.get("name", "?")
        last_result = True
        for condition in extension.findall("condition"):
            last_result, match = _condition_matches(condition, fields)
            if last_result:
                reached.extend(_steps(name, condition, "action", match))
            else:
                reached.extend(_steps(name, condition, "anti-action", match))
                break
        if last_result and extension.get("continue", "false") != "true":
            break
    return reached


def context(dialplan_section: ET.Element, name: str) -> ET.Element:
    """The ``<context name=...>`` of the dialplan section."""
    found = dialplan_section.find(f"context[@name='{name}']")
    if found is None:
        raise KeyError(f"no dialplan context {name!r}")
    return found
