"""The WebSocket opening handshake exactly as mod_audio_stream's client (libwsc) writes and reads it.

Pure functions: URL parsing, the upgrade request bytes, the response check.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFLATE_OFFER = (
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=9"
)
HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class WsTarget:
    """Where a ``ws://`` / ``wss://`` URL points."""

    secure: bool
    host: str
    port: int
    resource: str
    """Path and query sent in the request line (``/`` when the URL has no path)."""


def parse_ws_url(url: str) -> WsTarget:
    """Parse a WebSocket URL the way mod_audio_stream validates it; ValueError when it would refuse it.

    The host may only hold letters, digits, ``-`` and ``.`` (no IPv6 literals, no userinfo), and
    the port only digits.
    """
    if url.startswith("ws://"):
        secure, rest = False, url[len("ws://") :]
    elif url.startswith("wss://"):
        secure, rest = True, url[len("wss://") :]
    else:
        raise ValueError(f"not a ws:// or wss:// URL: {url!r}")
    slash = rest.find("/")
    hostport = rest if slash < 0 else rest[:slash]
    resource = "/" if slash < 0 else rest[slash:]
    host, _, port_text = hostport.partition(":")
    if not host or not all(c.isascii() and (c.isalnum() or c in "-.") for c in host):
        raise ValueError(f"invalid host in {url!r}")
    if ":" in hostport and not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"invalid port in {url!r}")
    port = int(port_text) if port_text else (443 if secure else 80)
    return WsTarget(secure=secure, host=host, port=port, resource=resource)


def is_valid_ws_url(url: str) -> bool:
    """True when mod_audio_stream would accept ``url`` for ``start``."""
    try:
        parse_ws_url(url)
    except ValueError:
        return False
    return True


def new_websocket_key() -> str:
    """A fresh random ``Sec-WebSocket-Key`` (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def extra_headers_from_json(text: str | None) -> dict[str, str]:
    """``STREAM_EXTRA_HEADERS``: the string members of a JSON object, in byte order of their names.

    Anything that is not a JSON object gives no headers (the module ignores it).
    """
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    strings = {str(k): v for k, v in parsed.items() if isinstance(v, str)}
    return dict(sorted(strings.items(), key=lambda item: item[0].encode()))


def build_upgrade_request(
    target: WsTarget, key: str, *, offer_deflate: bool, extra_headers: Mapping[str, str]
) -> bytes:
    """The HTTP upgrade request, byte for byte as libwsc sends it (no space after the colons)."""
    lines = [
        f"GET {target.resource} HTTP/1.1",
        f"Host:{target.host}:{target.port}",
        "Upgrade:websocket",
        "Connection:upgrade",
        f"Sec-WebSocket-Key:{key}",
        "Sec-WebSocket-Version:13",
    ]
    if offer_deflate:
        lines.append(f"Sec-WebSocket-Extensions:{DEFLATE_OFFER}")
    lines.append(f"Origin:http://{target.host}:{target.port}")
    lines.extend(f"{name}:{value}" for name, value in extra_headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@dataclass(frozen=True)
class UpgradeResponse:
    """What the client takes from the server's handshake response."""

    accepted: bool
    deflate: str | None
    """The server's ``permessage-deflate; ...`` parameters when it accepted compression."""


def parse_upgrade_response(head: bytes, *, offered_deflate: bool) -> UpgradeResponse:
    """Check the response head (up to and including the blank line) the way libwsc does.

    It needs ``HTTP/1.1 101`` and a ``Sec-WebSocket-Accept`` header; it does not verify the
    accept value.
    """
    text = head.decode("latin-1")
    accepted = "HTTP/1.1 101" in text and "sec-websocket-accept:" in text.lower()
    deflate = None
    if accepted and offered_deflate:
        for line in text.split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() != "sec-websocket-extensions":
                continue
            for extension in value.split(","):
                if extension.strip().lower().startswith("permessage-deflate"):
                    deflate = extension.strip()
    return UpgradeResponse(accepted=accepted, deflate=deflate)
