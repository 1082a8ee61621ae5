"""The page's WSGI app: static files under the configured path, config.json, the call transcript."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import gevent
from gevent import socket

from app.store.records import CallRow, TurnRow
from app.web.server import PageConfig, WebApp, WebServer, normalise_path

CONFIG = PageConfig("wss://fs.example.com:8082", "1000@fs.example.com", "8000")


class FakeCalls:
    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.call = CallRow(
            uuid="0b1c2d3e-aaaa-bbbb-cccc-000000000001",
            direction="inbound",
            call_type="webrtc",
            caller="1000",
            callee="8000",
            gateway=None,
            campaign_ref=None,
            state="answered",
            created_at=now,
            answered_at=now,
            ended_at=None,
            hangup_cause=None,
            billsec=None,
            duration=None,
        )
        self.turns_ = [
            TurnRow(self.call.uuid, 1, "caller", "hello", None, now, False, None, {}),
            TurnRow(
                self.call.uuid, 2, "agent", "hi there", now, now, False, 900, {"voice_to_voice_ms": 812.5}
            ),
        ]

    def get_call(self, uuid: str) -> CallRow | None:
        return self.call if uuid == self.call.uuid else None

    def turns(self, uuid: str) -> list[TurnRow]:
        return self.turns_ if uuid == self.call.uuid else []


def get(app: WebApp, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path}, start_response))
    return seen["status"], seen["headers"], body


def test_serves_the_page_and_its_scripts_under_the_configured_path() -> None:
    app = WebApp(CONFIG, None, "phone/")
    status, headers, body = get(app, "/phone/")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/html")
    assert b'src="phone.js"' in body
    status, headers, body = get(app, "/phone/verto.js")
    assert status == "200 OK" and "javascript" in headers["Content-Type"]
    assert b"verto.invite" in body
    assert get(app, "/phone")[0].startswith("301")
    assert get(app, "/verto.js")[0].startswith("404")
    assert get(app, "/phone/../setup.cfg")[0].startswith("404")


def test_config_json_points_the_page_at_mod_verto() -> None:
    status, _, body = get(WebApp(CONFIG, None), "/phone/config.json")
    assert status == "200 OK"
    assert json.loads(body) == {"vertoUrl": CONFIG.verto_url, "login": CONFIG.login, "extension": "8000"}


def test_transcript_endpoint_returns_the_turns_and_latency() -> None:
    calls = FakeCalls()
    status, _, body = get(WebApp(CONFIG, calls), f"/phone/api/calls/{calls.call.uuid}")
    assert status == "200 OK"
    data = json.loads(body)
    assert data["call"]["call_type"] == "webrtc"
    assert [(t["speaker"], t["text"]) for t in data["turns"]] == [("caller", "hello"), ("agent", "hi there")]
    assert data["turns"][1]["timings"]["voice_to_voice_ms"] == 812.5
    assert get(WebApp(CONFIG, calls), "/phone/api/calls/..%2f")[0].startswith("404")


def test_root_path_and_normalisation() -> None:
    assert normalise_path("/") == ""
    assert normalise_path("phone") == "/phone"
    assert get(WebApp(CONFIG, None, "/"), "/")[0] == "200 OK"


def test_web_server_answers_over_http_on_a_free_port() -> None:
    server = WebServer(WebApp(CONFIG, None, "/phone"), "127.0.0.1", 0)
    server.start()
    try:
        host, port = server.address
        conn = socket.create_connection((host, port), timeout=5)
        conn.sendall(b"GET /phone/config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        with gevent.Timeout(5):
            while chunk := conn.recv(65536):
                data += chunk
        conn.close()
        assert data.startswith(b"HTTP/1.1 200")
        assert CONFIG.verto_url.encode() in data
    finally:
        server.stop()
