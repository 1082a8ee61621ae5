"""YAML read with the line of every value, so a flow's errors can say where they are.

Built on PyYAML's composer (the node graph, which keeps positions) instead of its constructor: mappings
and lists come back as :class:`YamlMap` and :class:`YamlList`, scalars as :class:`YamlText`, all with a
1-based ``line``. Scalars stay text as written: ``yes``, ``no`` and ``0800`` are not turned into booleans
or numbers behind the author's back; the flow loader converts the values it expects to be numbers.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_NULL_TAG = "tag:yaml.org,2002:null"
MAX_DEPTH = 50  # a flow nests five levels; PyYAML itself recurses and fails somewhere past ~300
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_VALUES = 100_000  # a flow of a thousand nodes has a few thousand values


class YamlText(str):
    """A scalar as written, with its line."""

    line: int

    def __new__(cls, value: str, line: int) -> YamlText:
        text = super().__new__(cls, value)
        text.line = line
        return text


class YamlList(list["YamlValue"]):
    line: int

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line


class YamlMap(dict[str, "YamlValue"]):
    """A mapping with its own line and the line of each key."""

    line: int
    key_lines: dict[str, int]

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


YamlValue = YamlMap | YamlList | YamlText | None


@dataclass(frozen=True)
class YamlProblem:
    line: int
    message: str


class YamlSyntaxError(ValueError):
    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_yaml(text: str) -> YamlValue:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with a line on bad syntax or a repeated key."""
    lines = _Lines(text)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = lines.at(mark) if mark is not None else 1
        raise YamlSyntaxError(YamlProblem(line, f"YAML syntax: {exc.problem or exc}")) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(1, f"YAML: {exc}")) from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise YamlSyntaxError(YamlProblem(1, "YAML nested too deeply for a flow")) from None
    return None if node is None else _Converter(lines).convert(node, 0)


class _Lines:
    """Line numbers as an editor shows them: PyYAML also breaks lines at NEL, U+2028 and U+2029, so its
    own ``mark.line`` can name a line the author's editor does not have; this counts \\n, \\r\\n and \\r."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def at(self, mark: Mark) -> int:
        return bisect.bisect_right(self.starts, mark.index)


class _Converter:
    """Turns the node graph into values, refusing what an alias can make of it: a loop (``&a [*a]``)
    or an exponential expansion ("billion laughs"), and nesting deeper than any flow needs."""

    def __init__(self, lines: _Lines) -> None:
        self.lines = lines
        self.values = 0
        self.open: set[int] = set()  # the nodes being converted, to catch an alias of an enclosing one

    def convert(self, node: Node, depth: int) -> YamlValue:
        line = self.lines.at(node.start_mark)
        self.values += 1
        if self.values > MAX_VALUES:
            raise YamlSyntaxError(YamlProblem(line, f"more than {MAX_VALUES} values (aliases expanding?)"))
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(YamlProblem(line, f"nested deeper than {MAX_DEPTH} levels"))
        if id(node) in self.open:
            raise YamlSyntaxError(YamlProblem(line, "an alias refers to the value that contains it"))
        self.open.add(id(node))
        try:
            return self._value(node, line, depth)
        finally:
            self.open.discard(id(node))

    def _value(self, node: Node, line: int, depth: int) -> YamlValue:
        if isinstance(node, ScalarNode):
            if node.tag == _NULL_TAG and node.value in ("", "~", "null", "Null", "NULL"):
                return None
            return YamlText(str(node.value), line)
        if isinstance(node, SequenceNode):
            items = YamlList(line)
            items.extend(self.convert(child, depth + 1) for child in node.value)
            return items
        if isinstance(node, MappingNode):
            mapping = YamlMap(line)
            for key_node, value_node in node.value:
                key_line = self.lines.at(key_node.start_mark)
                if not isinstance(key_node, ScalarNode):
                    raise YamlSyntaxError(YamlProblem(key_line, "a key must be plain text"))
                key = str(key_node.value)
                if key in mapping:
                    raise YamlSyntaxError(
                        YamlProblem(
                            key_line, f"key {key!r} repeated (first on line {mapping.key_lines[key]})"
                        )
                    )
                mapping[key] = self.convert(value_node, depth + 1)
                mapping.key_lines[key] = key_line
            return mapping
        raise YamlSyntaxError(YamlProblem(line, f"unsupported YAML node {type(node).__name__}"))
