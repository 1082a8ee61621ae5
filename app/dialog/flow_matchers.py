"""The ``match:`` of a flow route, from YAML to a :mod:`~app.dialog.matchers` object."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.dialog import matchers as m
from app.dialog.base import DTMF_DIGITS
from app.dialog.flow_yaml import YamlList, YamlMap, YamlText, YamlValue

Report = Callable[[int, str], None]
SIMPLE_MATCHERS: dict[str, Callable[[], m.Matcher]] = {
    "yes": lambda: m.YesNo(True),
    "no": lambda: m.YesNo(False),
    "number": m.Number,
    "digits": m.Digits,
    "date": lambda: m.When("date"),
    "time": lambda: m.When("time"),
    "datetime": lambda: m.When("datetime"),
    "dtmf": lambda: m.DtmfKeys(None),
    "anything": m.Anything,
}
MATCHER_KEYS = ("keywords", "regex", "number", "digits", "dtmf")


def parse_matcher(spec: YamlValue, line: int, where: str, problem: Report) -> m.Matcher | None:
    """The matcher a route's ``match`` describes; report what is wrong through ``problem``."""
    if isinstance(spec, YamlText):
        make = SIMPLE_MATCHERS.get(str(spec))
        if make is None:
            problem(line, f"unknown match {spec!r} in {where}; use one of {', '.join(SIMPLE_MATCHERS)}")
            return None
        return make()
    if not isinstance(spec, YamlMap) or len(spec) != 1:
        problem(line, f"'match' in {where} is a word ({', '.join(SIMPLE_MATCHERS)}) or one of "
                           f"{', '.join(MATCHER_KEYS)} with its argument")  # fmt: skip
        return None
    kind, argument = next(iter(spec.items()))
    line = spec.line_of(kind)
    if kind == "keywords":
        if isinstance(argument, YamlList) and argument and all(isinstance(v, YamlText) for v in argument):
            return m.Keywords(tuple(str(v).lower() for v in argument))
        problem(line, "'keywords' needs a non-empty list of words or phrases")
    elif kind == "regex":
        if isinstance(argument, YamlText):
            try:
                return m.Regex(re.compile(str(argument), re.IGNORECASE))
            except (re.error, OverflowError, RecursionError) as exc:  # 'a{99999999999}' overflows
                problem(line, f"bad regular expression {str(argument)!r}: {exc}")
        else:
            problem(line, "'regex' needs a pattern")
    elif kind in ("number", "digits"):
        return _range_matcher(kind, argument, line, problem)
    elif kind == "dtmf":
        if isinstance(argument, YamlText) and DTMF_DIGITS.fullmatch(argument):
            return m.DtmfKeys(str(argument))
        problem(line, "'dtmf' needs the keys to match, e.g. '1' or '0#'")
    else:
        problem(line, f"unknown match {kind!r} in {where}; use one of {', '.join(MATCHER_KEYS)}")
    return None


def _range_matcher(kind: str, argument: YamlValue, line: int, problem: Report) -> m.Matcher | None:
    if not isinstance(argument, YamlMap):
        problem(line, f"{kind!r} takes min and max, e.g. {{min: 1, max: 8}}")
        return None
    for key in argument:
        if key not in ("min", "max"):
            problem(argument.line_of(key), f"unknown key {key!r} in '{kind}'; allowed: min, max")
    low, high = _bound(argument, "min", kind, problem), _bound(argument, "max", kind, problem)
    if low is not None and high is not None and low > high:
        problem(line, f"{kind!r}: min is above max")
    if kind == "number":
        return m.Number(low, high)
    return m.Digits(low if low is not None else 1, high if high is not None else 32)


def _bound(argument: YamlMap, key: str, kind: str, problem: Report) -> int | None:
    value = argument.get(key)
    if value is None:
        return None
    # ASCII digits, at most 9: str.isdigit() also takes '²', which int() refuses.
    if not isinstance(value, YamlText) or not (value.isascii() and value.isdigit()) or len(value) > 9:
        problem(argument.line_of(key), f"{key!r} in {kind!r} must be a whole number")
        return None
    return int(value)
