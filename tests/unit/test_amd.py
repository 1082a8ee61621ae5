"""Answering-machine detection: transcript rules, audio-time stamps, and independence of message order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from app.control.amd import AmdAction, MachineDetector, Next, Verdict
from app.control.amd_phrases import classify_transcript
from app.control.screening import MachineScreen, avmd_command
from app.media import messages


@pytest.mark.parametrize(
    "text",
    [
        "Hi, you've reached Ann. Please leave a message after the tone.",
        "The person you are calling is not available.",
        "Sorry I can't take your call right now",
        "Welcome to the voicemail of",
        "The mailbox is full",
        "Please record your message",
        "At the beep, leave your name and number",
    ],
)
def test_voicemail_phrases_are_a_machine(text: str) -> None:
    assert classify_transcript(text) is Verdict.MACHINE


@pytest.mark.parametrize(
    "text",
    ["Hello?", "Yeah?", "Yeah, this is Sam, who's calling?", "Speaking.", "What are you talking about?", "Do you hear me?", "Hi, this is Sam."],
)
def test_typical_answers_are_a_human(text: str) -> None:
    assert classify_transcript(text) is Verdict.HUMAN


@pytest.mark.parametrize("text", ["", "The quick brown fox", "hello this is a long story about my day and the weather today"])
def test_other_text_settles_nothing(text: str) -> None:
    assert classify_transcript(text) is Verdict.UNKNOWN


def segment(text: str, start: float, end: float, stt_ms: float = 300.0) -> list[dict[str, object]]:
    """The worker's messages about one utterance, each validated against the schema."""
    out = [
        messages.speech_started(start),
        messages.speech_stopped(start, end, end + 512, "silence"),
        messages.utterance(
            text=text, confidence=0.9, start_ms=start, end_ms=end, decided_ms=end + 512, stt_ms=stt_ms,
            engine="whisper", reason="silence",
        ),
    ]
    for message in out:
        messages.validate(message)
    return out


CALLS = {
    "hello": (segment("Hello?", 600, 1100), Verdict.HUMAN),
    "two-second answer": (segment("Yeah, this is Sam, who's calling?", 500, 2500), Verdict.HUMAN),
    "noisy question": (segment("", 700, 2300), Verdict.HUMAN),
    "hello twice": (segment("Hello?", 400, 900) + segment("Hello?", 1500, 1900), Verdict.HUMAN),
    "greeting": (segment("Hi, this is Ann and Bob, we are out right now", 500, 3600), Verdict.MACHINE),
    "voicemail phrase": (segment("You've reached Ann.", 500, 1500), Verdict.MACHINE),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_the_verdict_does_not_depend_on_the_order_of_the_messages(name: str) -> None:
    calls, expected = CALLS[name]
    arrived = max(float(m.get("decided_ms", m["start_ms"])) for m in calls) / 1000 + 0.35  # type: ignore[arg-type]
    verdicts = set()
    for order in itertools.permutations(calls):
        detector = MachineDetector()
        for message in order:
            detector.feed(message, arrived)
        decision = detector.tick(arrived + 0.8)
        verdicts.add(decision.verdict if decision else None)
    assert verdicts == {expected}


def test_the_greeting_is_timed_by_its_own_stamps_not_by_arrival() -> None:
    # A 1.8 s answer whose speech_started is late (its min-speech wait) and whose end is reported after
    # the end silence: arrival times span 2.6 s, the speech itself 1.8 s.
    detector = MachineDetector()
    detector.feed(messages.speech_started(500), 0.75)
    detector.feed(messages.speech_stopped(500, 2300, 2812, "silence"), 3.35)
    decision = detector.tick(3.4)
    assert decision is not None and decision.verdict is Verdict.HUMAN
    assert detector.speech_seconds(3.4) == pytest.approx(1.8)


def test_the_screen_counts_audio_time_from_the_stream_connection() -> None:
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    screen = MachineScreen(AmdAction.HANGUP, answered)
    screen.stream_connected(answered + timedelta(seconds=0.5))
    screen.feed(messages.speech_started(200), answered + timedelta(seconds=0.95))
    # 3.6 s after the answer is 3.1 s of audio: 2.1 s of speech proven, not yet a machine.
    assert screen.tick(answered + timedelta(seconds=3.6)) is None
    result = screen.tick(answered + timedelta(seconds=4.0))
    assert result is not None and result.next is Next.HANGUP
    assert result.decision is not None and result.decision.verdict is Verdict.MACHINE


def test_the_voicemail_waits_for_the_beep() -> None:
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    screen = MachineScreen(AmdAction.VOICEMAIL, answered)
    for message in segment("Please leave a message after the tone", 300, 2500):
        screen.feed(message, answered + timedelta(seconds=3.0))
    assert screen.tick(answered + timedelta(seconds=3.1)) is None  # machine, greeting may go on
    # mod_avmd fires while the beep sounds: the message waits for the rest of it
    assert screen.beep(answered + timedelta(seconds=3.2)) is None
    assert screen.tick(answered + timedelta(seconds=3.6)) is None
    result = screen.tick(answered + timedelta(seconds=3.7))
    assert result is not None and result.next is Next.LEAVE_VOICEMAIL


def test_avmd_commands() -> None:
    uuid = "3f0e3b52-5a3c-4a4e-9d1b-1f1d2e3c4b5a"
    assert avmd_command(uuid, "start") == f"avmd {uuid} start"
    with pytest.raises(ValueError):
        avmd_command(uuid, "show")
