"""A streaming client for any OpenAI-compatible Chat Completions endpoint, over ``httpx``.

Blocking I/O on purpose: in the running system gevent has patched the socket module, so a greenlet that
iterates :meth:`ChatClient.stream` yields to the others while it waits for tokens. Every way the API can
fail becomes one :class:`LlmFailure` with a ``kind`` the call log can record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from app.dialog.openai_wire import (
    ChunkAssembler,
    Message,
    SseDecoder,
    ToolCall,
    WireError,
    chat_request,
    error_text,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LlmConfig:
    base_url: str  # ``https://api.openai.com/v1``, or a full ``.../chat/completions`` URL
    model: str
    api_key: str | None = None
    connect_timeout: float = 3.0
    first_token_timeout: float = 4.0  # also the longest silence allowed between two chunks
    total_timeout: float = 20.0
    max_tokens: int | None = 300

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


class LlmFailure(Exception):
    """The API did not deliver a complete answer. ``kind``: connect, first_token, stall, timeout,
    http_<status>, stream_cut, bad_response."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class TextPiece:
    text: str


@dataclass(frozen=True)
class Completed:
    """The answer is complete: its tool calls (assembled from their pieces) and why it stopped."""

    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None


StreamItem = TextPiece | Completed


class ChatClient:
    """One HTTP connection pool, shared by all calls of the process."""

    def __init__(self, config: LlmConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.first_token_timeout,
            write=config.connect_timeout,
            pool=config.connect_timeout,
        )
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def stream(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]], call: str = ""
    ) -> Iterator[StreamItem]:
        """Yield text pieces as they arrive, then one :class:`Completed`; raise :class:`LlmFailure`."""
        config = self.config
        body = chat_request(config.model, messages, tools, config.max_tokens)
        headers = {"Accept": "text/event-stream"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        started = time.monotonic()
        state = _StreamState(started)
        try:
            with self._http.stream("POST", config.url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    detail = error_text(response.read())
                    raise LlmFailure(f"http_{response.status_code}", detail)
                yield from self._events(response, state, started)
        except httpx.ConnectTimeout as exc:
            raise LlmFailure("connect", f"no connection within {config.connect_timeout:g}s: {exc}") from None
        except httpx.ConnectError as exc:
            raise LlmFailure("connect", str(exc) or type(exc).__name__) from None
        except httpx.ReadTimeout:
            if state.first_token_at is None:
                raise LlmFailure("first_token", f"nothing within {config.first_token_timeout:g}s") from None
            raise LlmFailure("stall", f"stream silent for {config.first_token_timeout:g}s") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise LlmFailure("stream_cut", str(exc) or type(exc).__name__) from None
        except httpx.HTTPError as exc:
            raise LlmFailure("bad_response", f"{type(exc).__name__}: {exc}") from None
        finally:
            log.debug("call %s: LLM request took %.3fs", call, time.monotonic() - started)

    def _events(self, response: httpx.Response, state: _StreamState, started: float) -> Iterator[StreamItem]:
        config = self.config
        decoder = SseDecoder()
        assembler = ChunkAssembler()
        for line in response.iter_lines():
            now = time.monotonic()
            if now - started > config.total_timeout:
                raise LlmFailure("timeout", f"answer not complete after {config.total_timeout:g}s")
            if state.first_token_at is None and now - started > config.first_token_timeout:
                raise LlmFailure("first_token", f"no token within {config.first_token_timeout:g}s")
            data = decoder.feed_line(line)
            if data is None:
                continue
            text = _add(assembler, data)
            if text or assembler.has_tool_piece:
                state.first_token_at = state.first_token_at or now
            if text:
                yield TextPiece(text)
            if assembler.done:
                break
        else:
            data = decoder.end()
            if data is not None:
                text = _add(assembler, data)
                if text:
                    yield TextPiece(text)
        if not assembler.done and assembler.finish_reason is None:
            raise LlmFailure("stream_cut", "the stream ended before finish_reason or [DONE]")
        yield Completed(tuple(assembler.finished_calls()), assembler.finish_reason)


@dataclass
class _StreamState:
    started: float
    first_token_at: float | None = None


def _add(assembler: ChunkAssembler, data: str) -> str:
    try:
        return assembler.add(data)
    except WireError as exc:
        raise LlmFailure("bad_response", str(exc)) from None
