"""The OpenAI Chat Completions streaming format, without any I/O: the request body, server-sent events,
and the assembly of ``delta`` chunks (text and tool calls split across chunks) into results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


def chat_request(
    model: str, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]], max_tokens: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True}
    if tools:
        body["tools"] = list(tools)
        body["tool_choice"] = "auto"
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def function_tool(
    name: str, description: str, properties: Mapping[str, Any], required: Sequence[str]
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": dict(properties), "required": list(required)},
        },
    }


class SseDecoder:
    """Server-sent events, line by line: returns the ``data`` of each event when its blank line arrives."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed_line(self, line: str) -> str | None:
        line = line.rstrip("\r")
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def end(self) -> str | None:
        """The stream closed; an event without its blank line still counts."""
        return self.feed_line("")


@dataclass
class ToolCall:
    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a JSON object; raises ValueError if the model wrote something else."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError(f"tool {self.name} arguments are not a JSON object: {self.arguments!r}")
        return value


class WireError(ValueError):
    """A chunk that is not the Chat Completions format (or an error object sent mid-stream)."""


@dataclass
class ChunkAssembler:
    """Accumulates ``chat.completion.chunk`` objects; ``add()`` returns the text the chunk carried."""

    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    done: bool = False

    def add(self, data: str) -> str:
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise WireError(f"chunk is not JSON: {data[:200]!r}") from exc
        if not isinstance(chunk, dict):
            raise WireError(f"chunk is not an object: {data[:200]!r}")
        if "error" in chunk:
            raise WireError(f"error in stream: {error_text(chunk)}")
        text = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text += content
            for piece in delta.get("tool_calls") or []:
                self._add_tool_piece(piece)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return text

    def _add_tool_piece(self, piece: Mapping[str, Any]) -> None:
        index = piece.get("index")
        if not isinstance(index, int):
            index = len(self.tool_calls)  # some servers omit it for a single call
        call = self.tool_calls.setdefault(index, ToolCall(index))
        call.id = call.id or str(piece.get("id") or "")
        function = piece.get("function") or {}
        call.name += str(function.get("name") or "")
        call.arguments += str(function.get("arguments") or "")

    @property
    def has_tool_piece(self) -> bool:
        return bool(self.tool_calls)

    def finished_calls(self) -> list[ToolCall]:
        return [self.tool_calls[i] for i in sorted(self.tool_calls)]


def error_text(body: object) -> str:
    """The message of an OpenAI-style ``{"error": {"message": ...}}`` body, or the body itself, short."""
    if isinstance(body, (bytes, str)):
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(raw)
        except ValueError:
            return raw.strip()[:300]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or error)[:300]
        if error is not None:
            return str(error)[:300]
    return str(body)[:300]
