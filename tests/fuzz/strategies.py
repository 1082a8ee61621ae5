"""Input generators shared by the fuzz tests: Event Socket bytes, JSON values, mod_audio_stream text frames."""

from __future__ import annotations

import json

from hypothesis import strategies as st

# Pieces that make the fuzzer reach past the first header line: real envelope lines, separators, escapes.
ESL_PIECES = st.sampled_from(
    [
        b"Content-Type: text/event-plain\n",
        b"Content-Type: text/event-json\n",
        b"Content-Type: command/reply\n",
        b"Content-Type: api/response\n",
        b"Content-Type: text/disconnect-notice\n",
        b"Content-Length: 0\n",
        b"Content-Length: 12\n",
        b"Content-Length: -1\n",
        b"Content-Length: 99999999999999999999\n",
        b"Content-Length: \xd9\xa1\n",  # an Arabic-Indic digit: isdigit() but not ASCII
        b"Event-Name: CHANNEL_HANGUP_COMPLETE\n",
        b"Reply-Text: +OK\n",
        b"variable_x: ARRAY::a|:b\n",
        b"\n",
        b"\n\n",
        b"\r\n",
        b": no name\n",
        b"%zz%41%\n",
        b'{"Event-Name":"CUSTOM","_body":[1,{"a":null}]}',
        b"[" * 64,
        b"\x00\xff\xfe",
    ]
)
ESL_BYTES = st.lists(st.one_of(ESL_PIECES, st.binary(max_size=64)), max_size=24).map(b"".join)

JSON_NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, 10**400]),
)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), JSON_NUMBER, st.text(max_size=30))
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
TYPES = st.sampled_from(["speech_onset", "speech_cancelled", "speech_started", "hypothesis", "partial",
                         "speech_stopped", "utterance", "stt_rejected", "playback", "playback_started",
                         "playback_paused", "playback_resumed", "", "x"])  # fmt: skip
FIELDS = st.sampled_from(["start_ms", "end_ms", "decided_ms", "stt_ms", "text", "confidence", "reason",
                          "engine", "chars", "speculative", "turn_silence_ms", "uuid", "rate",
                          "call_type", "caller", "direction", "on", "levels", "elapsed_ms", "id"])  # fmt: skip


@st.composite
def worker_like(draw: st.DrawFn) -> dict[str, object]:
    """An object shaped like a worker message (or stream metadata), with fuzzed field values."""
    message: dict[str, object] = {"type": draw(TYPES)}
    for name in draw(st.lists(FIELDS, max_size=8, unique=True)):
        message[name] = draw(st.one_of(JSON_VALUE, st.sampled_from(["silence", "loop", "Hello there."])))
    return message


def dumps(value: object) -> str:
    """JSON as any sender may write it: NaN and Infinity included (Python's json reads them back)."""
    return json.dumps(value)


TEXT_FRAMES = st.one_of(
    worker_like().map(dumps),
    JSON_VALUE.map(dumps),
    st.text(max_size=200),
    st.sampled_from(
        [
            "[" * 5000,
            '{"type":' * 1500,
            '{"type":"utterance","start_ms":1e999}',
            '{"type":"playback_started","id":"s1","elapsed_ms":Infinity}',
            '{"type":"playback","on":true,"id":"s1","levels":[NaN,1e999,-1,3]}',
        ]
    ),
)
