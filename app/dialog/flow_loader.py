"""Load a flow from YAML and check it completely, reporting every problem as ``file:line: what``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from app.dialog.base import check_destination
from app.dialog.flow_matchers import parse_matcher
from app.dialog.flow_model import BUILTIN_VARIABLES, DtmfCollection, Flow, Node, Route
from app.dialog.flow_yaml import YamlList, YamlMap, YamlSyntaxError, YamlText, YamlValue, read_yaml
from app.dialog.templates import TemplateError, placeholders

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOP_KEYS = (
    "name",
    "description",
    "greeting",
    "start",
    "variables",
    "inputs",
    "llm_prompt",
    "voicemail",
    "defaults",
    "nodes",
)
DEFAULT_KEYS = ("retries", "reprompt", "no_input", "on_fail")
NODE_KEYS = ("say", "routes", "goto", "end", "transfer", "collect_dtmf", *DEFAULT_KEYS)
ROUTE_KEYS = ("match", "capture", "set", "say", "goto")


@dataclass(frozen=True)
class FlowProblem:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class FlowError(ValueError):
    """The flow is not valid; ``problems`` lists each with its file and line."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        super().__init__("invalid flow:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def load_flow(path: Path) -> Flow:
    """Read and validate the flow in ``path``; raise :class:`FlowError` listing every problem."""
    return parse_flow(path.read_text(encoding="utf-8"), str(path), path)


def parse_flow(text: str, source: str = "<flow>", path: Path | None = None) -> Flow:
    checker = _Checker(source)
    try:
        document = read_yaml(text)
    except YamlSyntaxError as exc:
        raise FlowError([FlowProblem(source, exc.problem.line, exc.problem.message)]) from None
    flow = checker.flow(document, path)
    if checker.problems or flow is None:
        raise FlowError(sorted(checker.problems, key=lambda p: p.line))
    return flow


def _line(value: YamlValue, fallback: int) -> int:
    return getattr(value, "line", fallback)


class _Checker:
    """Builds the model while collecting problems, so an author sees them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[FlowProblem] = []
        self.texts: list[tuple[str, int]] = []  # every template, to check its placeholders at the end
        self.known: set[str] = set(BUILTIN_VARIABLES)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(FlowProblem(self.source, line, message))

    def keys(self, mapping: YamlMap, allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else f"; allowed: {', '.join(allowed)}"
                self.problem(mapping.line_of(key), f"unknown key {key!r} in {where}{also}")

    def text(self, mapping: YamlMap, key: str, where: str, required: bool = False) -> str | None:
        value = mapping.get(key)
        if value is None:
            if required:
                self.problem(mapping.line, f"{where} needs {key!r}")
            return None
        if not isinstance(value, YamlText):
            self.problem(mapping.line_of(key), f"{key!r} in {where} must be text")
            return None
        return str(value)

    def template(self, mapping: YamlMap, key: str, where: str, required: bool = False) -> str | None:
        value = self.text(mapping, key, where, required)
        if value is not None:
            self.texts.append((value, mapping.line_of(key)))
        return value

    def integer(self, mapping: YamlMap, key: str, where: str, low: int, high: int) -> int | None:
        value = self.text(mapping, key, where)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.problem(mapping.line_of(key), f"{key!r} in {where} must be a whole number {low}..{high}")
            return None
        return number

    # --- the document ------------------------------------------------------------------------------

    def flow(self, document: YamlValue, path: Path | None) -> Flow | None:
        if not isinstance(document, YamlMap):
            self.problem(_line(document, 1), "a flow is a mapping with 'start' and 'nodes'")
            return None
        self.keys(document, TOP_KEYS, "the flow")
        defaults = self.variables(document)
        inputs = self.inputs(document)
        self.known.update(defaults, inputs)
        node_defaults = document.get("defaults")
        if node_defaults is not None and not isinstance(node_defaults, YamlMap):
            self.problem(document.line_of("defaults"), "'defaults' must be a mapping")
            node_defaults = None
        if node_defaults is not None:
            self.keys(node_defaults, DEFAULT_KEYS, "'defaults'")
        greeting = self.template(document, "greeting", "the flow")
        start = self.text(document, "start", "the flow", required=True)
        nodes = self.nodes(document, node_defaults or YamlMap(document.line))
        if start is not None and nodes and start not in nodes:
            self.problem(document.line_of("start"), f"'start' names no node: {start!r}")
        self.links(nodes)
        self.reachability(nodes, start)
        self.placeholders()
        if self.problems or start is None:
            return None
        return Flow(
            name=self.text(document, "name", "the flow") or (path.stem if path else "flow"),
            start=start,
            nodes=nodes,
            greeting=greeting,
            defaults=defaults,
            inputs=tuple(inputs),
            llm_prompt=self.template(document, "llm_prompt", "the flow"),
            voicemail=self.template(document, "voicemail", "the flow"),
            source=path,
        )

    def variables(self, document: YamlMap) -> dict[str, str]:
        raw = document.get("variables")
        if raw is None:
            return {}
        if not isinstance(raw, YamlMap):
            self.problem(document.line_of("variables"), "'variables' must map names to default values")
            return {}
        out: dict[str, str] = {}
        for name, value in raw.items():
            if not _NAME.fullmatch(name):
                self.problem(raw.line_of(name), f"variable name {name!r} is not a plain identifier")
            elif not isinstance(value, YamlText):
                self.problem(raw.line_of(name), f"variable {name!r} needs a text value")
            else:
                out[name] = str(value)
        return out

    def inputs(self, document: YamlMap) -> list[str]:
        raw = document.get("inputs")
        if raw is None:
            return []
        if not isinstance(raw, YamlList) or not all(isinstance(v, YamlText) for v in raw):
            self.problem(document.line_of("inputs"), "'inputs' must be a list of variable names")
            return []
        for value in raw:
            if not _NAME.fullmatch(str(value)):
                self.problem(_line(value, raw.line), f"input name {value!r} is not a plain identifier")
        return [str(v) for v in raw]

    def nodes(self, document: YamlMap, defaults: YamlMap) -> dict[str, Node]:
        raw = document.get("nodes")
        if not isinstance(raw, YamlMap) or not raw:
            self.problem(document.line_of("nodes"), "'nodes' must be a mapping of node names to nodes")
            return {}
        # Captures first: a node may speak a variable that a later node captures.
        for value in raw.values():
            for route in value.get("routes") or [] if isinstance(value, YamlMap) else []:
                if isinstance(route, YamlMap):
                    self.captured_names(route)
        out: dict[str, Node] = {}
        for name, value in raw.items():
            if not _NAME.fullmatch(name):
                self.problem(raw.line_of(name), f"node name {name!r} is not a plain identifier")
            elif not isinstance(value, YamlMap):
                self.problem(raw.line_of(name), f"node {name!r} must be a mapping")
            else:
                node = self.node(name, value, defaults, raw.line_of(name))
                if node is not None:
                    out[name] = node
        return out

    def captured_names(self, route: YamlMap) -> None:
        capture = route.get("capture")
        if isinstance(capture, YamlText) and _NAME.fullmatch(capture):
            self.known.update((str(capture), f"{capture}_iso"))
        assign = route.get("set")
        if isinstance(assign, YamlMap):
            self.known.update(assign)
        match = route.get("match")
        if isinstance(match, YamlMap) and isinstance(match.get("regex"), YamlText):
            try:
                self.known.update(re.compile(str(match["regex"])).groupindex)
            except (re.error, OverflowError, RecursionError):
                pass  # reported when the route itself is checked

    def node(self, name: str, raw: YamlMap, defaults: YamlMap, line: int) -> Node | None:
        where = f"node {name!r}"
        self.keys(raw, NODE_KEYS, where)
        say = self.template(raw, "say", where) or ""
        settled = YamlMap(raw.line)
        for key in DEFAULT_KEYS:
            source = raw if key in raw else defaults
            if key in source:
                settled[key] = source[key]
                settled.key_lines[key] = source.line_of(key)
        routes = self.routes(raw, where)
        endings = [k for k in ("routes", "goto", "end", "transfer") if k in raw]
        if len(endings) != 1:
            what = " and ".join(endings) if endings else "none"
            self.problem(line, f"{where} needs exactly one of routes, goto, end or transfer (has {what})")
        end = self.text(raw, "end", where)
        if end is not None and end != "hangup":
            self.problem(raw.line_of("end"), f"'end' in {where} must be 'hangup' (or use 'transfer')")
        transfer = self.text(raw, "transfer", where)
        if transfer is not None:
            try:
                check_destination(transfer)
            except ValueError as exc:
                self.problem(raw.line_of("transfer"), str(exc))
        on_fail = self.text(settled, "on_fail", where)
        if routes and on_fail is None:
            self.problem(line, f"{where} waits for an answer but has no 'on_fail' (nor does 'defaults')")
        return Node(
            name=name,
            say=say,
            routes=tuple(routes),
            goto=self.text(raw, "goto", where),
            hangup=end == "hangup",
            transfer=transfer,
            collect=self.collect(raw, where),
            reprompt=self.template(settled, "reprompt", where),
            no_input=self.template(settled, "no_input", where),
            retries=self.integer(settled, "retries", where, 0, 10) or (0 if "retries" in settled else 2),
            on_fail=on_fail,
            line=line,
        )

    def collect(self, raw: YamlMap, where: str) -> DtmfCollection | None:
        if "collect_dtmf" not in raw:
            return None
        spec = raw["collect_dtmf"]
        if not isinstance(spec, YamlMap):
            self.problem(raw.line_of("collect_dtmf"), "'collect_dtmf' needs max_digits, timeout, terminator")
            return None
        self.keys(spec, ("max_digits", "timeout", "terminator"), "'collect_dtmf'")
        timeout = self.integer(spec, "timeout", "'collect_dtmf'", 1, 60)
        terminator = self.text(spec, "terminator", "'collect_dtmf'")
        if terminator is not None and terminator not in ("#", "*", "none"):
            self.problem(spec.line_of("terminator"), "'terminator' must be '#', '*' or 'none'")
        return DtmfCollection(
            max_digits=self.integer(spec, "max_digits", "'collect_dtmf'", 1, 32) or 1,
            timeout=float(timeout or 5),
            terminator=None if terminator == "none" else (terminator or "#"),
        )

    def routes(self, raw: YamlMap, where: str) -> list[Route]:
        value = raw.get("routes")
        if value is None:
            return []
        if not isinstance(value, YamlList) or not value:
            self.problem(raw.line_of("routes"), f"'routes' in {where} must be a non-empty list")
            return []
        out = []
        for item in value:
            if not isinstance(item, YamlMap):
                self.problem(_line(item, value.line), f"a route in {where} must be a mapping")
                continue
            route = self.route(item, where)
            if route is not None:
                out.append(route)
        return out

    def route(self, raw: YamlMap, where: str) -> Route | None:
        self.keys(raw, ROUTE_KEYS, f"a route of {where}")
        matcher = (
            parse_matcher(raw.get("match"), raw.line_of("match"), where, self.problem)
            if "match" in raw
            else None
        )
        if "match" not in raw:
            self.problem(raw.line, f"a route of {where} needs 'match'")
        goto = self.text(raw, "goto", f"a route of {where}", required=True)
        capture = self.text(raw, "capture", f"a route of {where}")
        if capture is not None and not _NAME.fullmatch(capture):
            self.problem(raw.line_of("capture"), f"capture name {capture!r} is not a plain identifier")
        assign: dict[str, str] = {}
        raw_set = raw.get("set")
        if raw_set is not None:
            if isinstance(raw_set, YamlMap) and all(isinstance(v, YamlText) for v in raw_set.values()):
                assign = {k: str(v) for k, v in raw_set.items()}
            else:
                self.problem(raw.line_of("set"), "'set' must map variable names to text")
        say = self.template(raw, "say", f"a route of {where}")
        if matcher is None or goto is None:
            return None
        return Route(matcher, goto, capture, assign, say, raw.line)

    # --- whole-flow checks -------------------------------------------------------------------------

    def links(self, nodes: dict[str, Node]) -> None:
        for node in nodes.values():
            targets = [(node.goto, node.line), (node.on_fail, node.line)]
            targets += [(route.goto, route.line) for route in node.routes]
            for target, line in targets:
                if target is not None and target not in nodes:
                    hint = difflib.get_close_matches(target, list(nodes), n=1)
                    self.problem(line, f"node {node.name!r} goes to unknown node {target!r}"
                                       + (f" (did you mean {hint[0]!r}?)" if hint else ""))  # fmt: skip
        for node in nodes.values():  # a loop of nodes that never wait would talk forever
            seen, current = [node.name], node
            while current.goto is not None and current.goto in nodes:
                if current.goto in seen:
                    self.problem(
                        node.line, f"nodes {' -> '.join([*seen, current.goto])} loop without waiting"
                    )
                    break
                seen.append(current.goto)
                current = nodes[current.goto]

    def reachability(self, nodes: dict[str, Node], start: str | None) -> None:
        if start not in nodes:
            return
        reached, pending = set(), [start]
        while pending:
            name = pending.pop()
            if name in reached or name not in nodes:
                continue
            reached.add(name)
            node = nodes[name]
            pending += [t for t in (node.goto, node.on_fail) if t] + [r.goto for r in node.routes]
        for name, node in nodes.items():
            if name not in reached:
                self.problem(node.line, f"node {name!r} is never reached from {start!r}")

    def placeholders(self) -> None:
        for text, line in self.texts:
            try:
                names = placeholders(text)
            except TemplateError as exc:
                self.problem(line, str(exc))
                continue
            for name in names:
                if name not in self.known:
                    hint = difflib.get_close_matches(name, sorted(self.known), n=1)
                    self.problem(line, f"unknown variable {{{name}}}: declare it in 'variables' or 'inputs', "
                                       "or capture it in a route" + (f" (did you mean {{{hint[0]}}}?)" if hint else ""))  # fmt: skip
