"""A real HTTP server (stdlib, a thread, port 0) that speaks the OpenAI Chat Completions streaming format.

Each request takes the next scripted reply: SSE chunks written with chunked transfer encoding, HTTP
errors with an error JSON body, a stall (the server waits on an event), or a connection cut mid-stream.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Chunk:
    """One ``data: {json}`` event."""

    payload: dict[str, Any]


@dataclass
class Raw:
    data: bytes


@dataclass
class WaitFor:
    """Send nothing until ``event`` is set (the test sets it, or the server stops)."""

    event: threading.Event


@dataclass
class Cut:
    """Close the connection without ending the chunked body."""


@dataclass
class Reply:
    steps: list[Chunk | Raw | WaitFor | Cut] = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    stall_before_headers: threading.Event | None = None


def text_chunk(text: str, finish: str | None = None) -> Chunk:
    return Chunk(_chunk({"content": text}, finish))


def role_chunk() -> Chunk:
    return Chunk(_chunk({"role": "assistant", "content": ""}, None))


def tool_chunk(
    index: int, *, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> Chunk:
    function: dict[str, str] = {"arguments": arguments}
    piece: dict[str, Any] = {"index": index, "function": function}
    if call_id is not None:
        piece["id"] = call_id
        piece["type"] = "function"
    if name is not None:
        function["name"] = name
    return Chunk(_chunk({"tool_calls": [piece]}, None))


def finish_chunk(reason: str) -> Chunk:
    return Chunk(_chunk({}, reason))


DONE = Raw(b"data: [DONE]\n\n")


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def error_reply(status: int, message: str, kind: str) -> Reply:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return Reply(status=status, body=json.dumps(body).encode())


class FakeOpenAI:
    """Holds the scripted replies and what the client sent."""

    def __init__(self) -> None:
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.stopping = threading.Event()
        self.url = ""

    def add(self, reply: Reply) -> None:
        self.replies.put(reply)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        fake.requests.append(json.loads(body))
        fake.headers.append(dict(self.headers.items()))
        if self.path != "/v1/chat/completions":
            self._send_plain(404, b'{"error": {"message": "not found"}}')
            return
        reply = fake.replies.get_nowait()
        if reply.stall_before_headers is not None:
            reply.stall_before_headers.wait(30)
            self.close_connection = True
            return
        if reply.status != 200:
            self._send_plain(reply.status, reply.body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for step in reply.steps:
            if isinstance(step, WaitFor):
                step.event.wait(30)
                continue
            if isinstance(step, Cut):
                self.close_connection = True
                self.wfile.flush()
                return
            data = step.data if isinstance(step, Raw) else f"data: {json.dumps(step.payload)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a stalled reply is what the stall tests are about


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    server = _Server(("127.0.0.1", 0), _Handler)
    fake = FakeOpenAI()
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
