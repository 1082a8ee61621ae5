"""Every `callbridge ...` command line quoted in README.md and docs/*.md parses with the real CLI.

Each line is resolved subcommand by subcommand, and every ``--option`` it uses must be one that command
accepts. Placeholders (``<uuid>``, ``ID``) count as arguments; ``[--a x|--b]`` alternates are all checked.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from app.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
INLINE = re.compile(r"`(callbridge [^`]+)`")


def quoted_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) for inline code spans and code-block lines that start with ``callbridge``."""
    found: list[tuple[int, str]] = []
    in_block = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            stripped = line.strip().removeprefix("$ ")
            if pending is not None:
                pending = (pending[0], pending[1] + " " + stripped)
            elif stripped.startswith("callbridge "):
                pending = (number, stripped)
            if pending is not None and not pending[1].endswith("\\"):
                found.append(pending)
                pending = None
            elif pending is not None:
                pending = (pending[0], pending[1][:-1])
            continue
        found += [(number, match.group(1)) for match in INLINE.finditer(line.replace("\\|", "|"))]
    return found


def invocations(command: str) -> list[list[str]]:
    """The ``callbridge`` invocations in one quoted line, as words (after ``&&``/``;``, without comments)."""
    command = command.split(" #", maxsplit=1)[0]
    result = []
    for part in re.split(r"&&|;|\|\|", command):
        words = part.replace("[", " ").replace("]", " ").split()
        if words[:1] == ["callbridge"]:
            try:
                words = shlex.split(" ".join(words))
            except ValueError:
                pass
            result.append([alt for word in words[1:] for alt in word.split("|") if alt])
    return result


def problem(words: list[str]) -> str | None:
    """Why these words do not parse as a callbridge command line; None if they do."""
    command: click.Command = cli
    context = click.Context(cli, info_name="callbridge")
    skip_value = False
    for word in words:
        if skip_value:
            skip_value = False
            continue
        if word.startswith("-") and len(word) > 1:
            name = word.split("=", 1)[0]
            options = {opt: p for p in command.params for opt in (*p.opts, *p.secondary_opts)}
            if name in ("-h", "--help"):
                continue
            if name not in options:
                return f"`{command.name}` has no option {name}"
            param = options[name]
            skip_value = "=" not in word and isinstance(param, click.Option) and not param.is_flag
        elif isinstance(command, click.Group):
            if word.startswith("<"):
                return None  # `callbridge <command> --help`: any subcommand
            sub = command.get_command(context, word)
            if sub is None:
                return f"`{command.name}` has no subcommand {word!r}"
            command = sub
    if isinstance(command, click.Group) and words:
        return f"`{command.name}` needs a subcommand"
    return None


CASES = [
    pytest.param(doc, number, command, id=f"{doc.name}:{number}")
    for doc in DOCS
    for number, command in quoted_commands(doc.read_text(encoding="utf-8"))
]


def test_the_docs_quote_commands() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize(("doc", "number", "command"), CASES)
def test_quoted_command_parses(doc: Path, number: int, command: str) -> None:
    for words in invocations(command):
        why = problem(words)
        assert why is None, f"{doc.relative_to(ROOT)}:{number}: {command!r}: {why}"


def test_the_checker_catches_a_wrong_option() -> None:
    assert problem(["calls", "--events-of", "<uuid>"]) == "`calls` has no option --events-of"
    assert problem(["--log-level", "debug", "calls", "--limit", "5", "--json"]) is None
    assert problem(["nosuch"]) is not None
