"""A model of FreeSWITCH 1.10's XML preprocessor (src/switch_xml.c, ``preprocess()``), for the config tests.

It follows the C code line by line: every ``$${name}`` is replaced by a global variable (unknown names
become "" and are recorded), lines holding ``<include>``, ``</include>`` or ``<?`` are dropped, and an
``<X-PRE-PROCESS cmd=... data=.../>`` directive runs wherever it appears, inside XML comments too, with
only the text after its ``/>`` kept. ``set``, ``env-set`` (``name=$ENV``, applied only when ENV exists),
``exec-set`` (a ``/bin/sh`` command, trailing spaces and newlines removed) and ``include`` (a glob relative
to the including file) are modelled; anything else raises, so the model never silently diverges.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Globals the FreeSWITCH core sets before reading the configuration (switch_core.c, switch_core_init()).
CORE_VARIABLES: dict[str, str] = {
    "hostname": "callbridge-test",
    "local_ip_v4": "192.0.2.10",
    "local_mask_v4": "255.255.255.0",
    "local_ip_v6": "::1",
    "base_dir": "/usr/local/freeswitch",
    "recordings_dir": "/usr/local/freeswitch/recordings",
    "sound_prefix": "/usr/local/freeswitch/sounds",
    "sounds_dir": "/usr/local/freeswitch/sounds",
    "conf_dir": "/usr/local/freeswitch/conf",
    "log_dir": "/usr/local/freeswitch/log",
    "run_dir": "/usr/local/freeswitch/run",
    "db_dir": "/usr/local/freeswitch/db",
    "mod_dir": "/usr/local/freeswitch/mod",
    "script_dir": "/usr/local/freeswitch/scripts",
    "temp_dir": "/tmp",
    "certs_dir": "/usr/local/freeswitch/certs",
    "storage_dir": "/usr/local/freeswitch/storage",
    "cache_dir": "/usr/local/freeswitch/cache",
    "data_dir": "/usr/local/freeswitch",
    "core_uuid": "00000000-0000-4000-8000-000000000000",
}

# A complete, valid environment: what an administrator sets.
REFERENCE_ENVIRONMENT: dict[str, str] = {
    "CALLBRIDGE_ESL_PASSWORD": "test-esl-secret",
    "FREESWITCH_USER_PASSWORD": "test-user-secret",
    "FREESWITCH_DIDS": "15551230001|442071230002",
}

_VARIABLE = re.compile(r"\$\$\{([^}]*)\}")
_DIRECTIVE = re.compile(r"<X-PRE-PROCESS\b", re.IGNORECASE)
_CMD = re.compile(r'cmd\s*=\s*"([^"]*)"', re.IGNORECASE)
_DATA = re.compile(r'data\s*=\s*"([^"]*)"', re.IGNORECASE)


class UnsupportedDirective(ValueError):
    """The file uses a preprocessor feature this model does not implement."""


@dataclass
class Preprocessed:
    """The result of preprocessing one top-level file."""

    text: str
    variables: dict[str, str]
    undefined: list[tuple[Path, str]] = field(default_factory=list)
    missing_includes: list[tuple[Path, str]] = field(default_factory=list)
    included_files: list[Path] = field(default_factory=list)

    def parse(self) -> ET.Element:
        """Parse the preprocessed text as FreeSWITCH then does."""
        return ET.fromstring(self.text)


class Preprocessor:
    """Run the preprocessor over a file with a given process environment."""

    def __init__(self, environ: Mapping[str, str], core_variables: Mapping[str, str] | None = None) -> None:
        self.environ = dict(environ)
        self.variables: dict[str, str] = dict(CORE_VARIABLES if core_variables is None else core_variables)

    def run(self, path: Path) -> Preprocessed:
        out: list[str] = []
        result = Preprocessed(text="", variables=self.variables)
        self._file(path, out, result, depth=0)
        result.text = "".join(out)
        return result

    def _expand(self, path: Path, line: str, result: Preprocessed) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.variables:
                result.undefined.append((path, name))
                return ""
            return self.variables[name]

        return _VARIABLE.sub(value, line)

    def _file(self, path: Path, out: list[str], result: Preprocessed, depth: int) -> None:
        if depth > 100:
            raise UnsupportedDirective(f"{path}: include recursion deeper than FreeSWITCH allows")
        result.included_files.append(path)
        for raw in path.read_text(encoding="utf-8").splitlines(keepends=True):
            line = self._expand(path, raw, result)
            if "<include>" in raw or "</include>" in raw or "<?" in raw:
                continue
            if "<!--#" in line:
                raise UnsupportedDirective(f"{path}: <!--# directives are not modelled")
            directive = _DIRECTIVE.search(line)
            if directive is None:
                out.append(line)
                continue
            end = line.find("/>", directive.start())
            if end < 0:
                raise UnsupportedDirective(f"{path}: keep each X-PRE-PROCESS on one line: {raw.strip()}")
            out.append(line[end + 2 :])
            cmd_match = _CMD.search(line, directive.start())
            data_match = _DATA.search(line, directive.start())
            if cmd_match is None or data_match is None:
                raise UnsupportedDirective(f"{path}: X-PRE-PROCESS without cmd and data: {raw.strip()}")
            self._directive(path, cmd_match.group(1).lower(), data_match.group(1), out, result, depth)

    def _directive(
        self, path: Path, cmd: str, data: str, out: list[str], result: Preprocessed, depth: int
    ) -> None:
        if cmd == "include":
            pattern = data if data.startswith("/") else os.path.join(path.parent, data)
            matches = [Path(match) for match in sorted(glob.glob(pattern))]
            if not matches:
                result.missing_includes.append((path, data))
            for match in matches:
                self._file(match, out, result, depth + 1)
            return
        name, sep, value = data.partition("=")
        if not sep:
            raise UnsupportedDirective(f"{path}: {cmd} needs name=value, got {data!r}")
        name = name.rstrip(" ")
        value = value.lstrip(" ")
        if cmd == "set":
            self.variables[name] = value
        elif cmd == "env-set":
            if value.startswith("$") and value[1:] in self.environ:
                self.variables[name] = self.environ[value[1:]]
        elif cmd == "exec-set":
            output = run_shell(value, self.environ)
            if output:
                self.variables[name] = output
        else:
            raise UnsupportedDirective(f"{path}: cmd={cmd!r} is not modelled")


def run_shell(command: str, environ: Mapping[str, str]) -> str:
    """Run an exec-set command as FreeSWITCH does (popen: /bin/sh -c) and trim its output the same way."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **environ}
    completed = subprocess.run(
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, check=False, timeout=30
    )
    return completed.stdout.rstrip(" \n")


def section(document: ET.Element, name: str) -> ET.Element:
    """The ``<section name=...>`` of a preprocessed freeswitch.xml."""
    found = document.find(f"section[@name='{name}']")
    assert found is not None, f"no section {name!r}"
    return found


def configuration(document: ET.Element, name: str) -> ET.Element:
    """A ``<configuration name=...>`` element, e.g. ``event_socket.conf``."""
    found = section(document, "configuration").find(f"configuration[@name='{name}']")
    assert found is not None, f"no configuration {name!r}"
    return found


def params(element: ET.Element) -> dict[str, str]:
    """``<param name= value=>`` children (one level) as a dict; a repeated name keeps the last value."""
    return {p.get("name", ""): p.get("value", "") for p in element.findall("param")}
