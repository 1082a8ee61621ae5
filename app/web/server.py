"""A tiny gevent WSGI server for the browser client.

It serves the static page (``app/web/static``) under a configurable path, the page's settings as
``<path>/config.json``, and, for the live transcript, ``<path>/api/calls/<uuid>``: the call's state and
turns from the call log. Verto uses the browser's ``callID`` as the channel uuid, so the page can ask for
its own call without any extra signalling.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from gevent.pywsgi import WSGIServer

from app.config import Settings
from app.store.records import CallRow, TurnRow

logger = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]

_UUID = re.compile(r"^[0-9A-Za-z-]{8,64}$")
STATIC_FILES = ("index.html", "phone.js", "verto.js", "phone.css")


class CallReader(Protocol):
    """What the transcript endpoint reads from the call log."""

    def get_call(self, uuid: str) -> CallRow | None: ...

    def turns(self, uuid: str) -> list[TurnRow]: ...


@dataclass(frozen=True)
class PageConfig:
    """What the page needs to reach FreeSWITCH: the Verto WebSocket URL, a login and the number to dial."""

    verto_url: str
    login: str
    extension: str

    def to_json(self) -> bytes:
        return json.dumps(
            {"vertoUrl": self.verto_url, "login": self.login, "extension": self.extension}
        ).encode()


def normalise_path(path: str) -> str:
    """``phone``, ``/phone/`` -> ``/phone``; ``/`` stays the root (empty prefix)."""
    return "/" + path.strip("/") if path.strip("/") else ""


def call_json(call: CallRow | None, turns: list[TurnRow]) -> dict[str, object]:
    """The transcript endpoint's body: the call state and every turn with its latency breakdown."""
    return {
        "call": None
        if call is None
        else {
            "uuid": call.uuid,
            "state": call.state,
            "call_type": call.call_type,
            "hangup_cause": call.hangup_cause,
        },
        "turns": [
            {
                "seq": turn.seq,
                "speaker": turn.speaker,
                "text": turn.text,
                "interrupted": turn.interrupted,
                "timings": dict(turn.timings or {}),
            }
            for turn in turns
        ],
    }


class WebApp:
    """The WSGI application: static files, ``config.json`` and the per-call transcript."""

    def __init__(self, config: PageConfig, calls: CallReader | None, path: str = "/phone") -> None:
        self.config = config
        self.calls = calls
        self.prefix = normalise_path(path)
        static = resources.files("app.web") / "static"
        self._files = {name: (static / name).read_bytes() for name in STATIC_FILES}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = str(environ.get("PATH_INFO", "/"))
        if method not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", b"method not allowed\n", "text/plain")
        if self.prefix and path == self.prefix:
            start_response("301 Moved Permanently", [("Location", self.prefix + "/")])
            return [b""]
        if not path.startswith(self.prefix + "/"):
            return _reply(start_response, "404 Not Found", b"not found\n", "text/plain")
        name = path[len(self.prefix) + 1 :] or "index.html"
        if name == "config.json":
            return _reply(start_response, "200 OK", self.config.to_json(), "application/json")
        if name.startswith("api/calls/"):
            return self._call(name.removeprefix("api/calls/"), start_response)
        body = self._files.get(name)
        if body is None:
            return _reply(start_response, "404 Not Found", b"not found\n", "text/plain")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return _reply(start_response, "200 OK", body, kind)

    def _call(self, uuid: str, start_response: StartResponse) -> Iterable[bytes]:
        if self.calls is None or not _UUID.match(uuid):
            return _reply(start_response, "404 Not Found", b"not found\n", "text/plain")
        body = json.dumps(call_json(self.calls.get_call(uuid), self.calls.turns(uuid)), default=str)
        return _reply(start_response, "200 OK", body.encode(), "application/json")


def _reply(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", kind if kind.startswith(("application/json", "text/plain")) else _utf8(kind)),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [body]


def _utf8(kind: str) -> str:
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else kind


class WebServer:
    """Serves :class:`WebApp` on ``host:port`` (port 0: any free port) in the gevent loop."""

    def __init__(self, app: WebApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = WSGIServer((host, port), app, log=None, error_log=logger)

    def start(self) -> None:
        """Start listening (returns at once; requests are served by greenlets)."""
        self._server.start()
        logger.info("web client on http://%s:%d%s/", *self.address, self.app.prefix)

    def stop(self) -> None:
        """Stop listening."""
        self._server.stop(timeout=1)

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port."""
        host, port = self._server.address[:2]
        return str(host), int(self._server.server_port if port == 0 else port)

    @property
    def url(self) -> str:
        """The page's URL."""
        host, port = self.address
        return f"http://{host}:{port}{self.app.prefix}/"


def start_web_client(settings: Settings, calls: CallReader | None) -> WebServer | None:
    """Start the page's server as the settings say (``callbridge serve``); None when it is disabled."""
    if not settings.web_enabled:
        return None
    config = PageConfig(settings.web_verto_url, settings.web_verto_login, settings.web_agent_extension)
    server = WebServer(WebApp(config, calls, settings.web_path), settings.web_host, settings.web_port)
    server.start()
    return server
