"""Answering-machine detection from speech timing and words, and what the campaign does with it."""

from __future__ import annotations

from app.control.amd import AmdAction, MachineDetector, Next, Verdict, next_step


def started(ms: float) -> dict[str, object]:
    return {"type": "speech_started", "start_ms": ms}


def stopped(start: float, end: float) -> dict[str, object]:
    return {"type": "speech_stopped", "start_ms": start, "end_ms": end, "decided_ms": end + 512, "reason": "silence"}


def utterance(text: str, start: float, end: float) -> dict[str, object]:
    return {"type": "utterance", "text": text, "start_ms": start, "end_ms": end, "decided_ms": end + 512}


def test_short_hello_then_silence_is_a_human() -> None:
    detector = MachineDetector()
    assert detector.feed(started(600), 0.85) is None
    assert detector.feed(stopped(600, 1100), 1.62) is None
    assert detector.tick(1.95) is None  # its words may still come
    decision = detector.tick(2.0)
    assert decision is not None and decision.verdict is Verdict.HUMAN and "silence" in decision.reason


def test_a_typical_answer_is_a_human_as_soon_as_its_words_are_in() -> None:
    detector = MachineDetector()
    detector.feed(started(500), 0.75)
    detector.feed(stopped(500, 1000), 1.52)
    assert detector.tick(1.6) is None
    decision = detector.feed(utterance("Hello?", 500, 1000), 1.7)
    assert decision is not None and decision.verdict is Verdict.HUMAN and "answer" in decision.reason


def test_long_greeting_is_a_machine_once_its_speech_is_proven_long() -> None:
    detector = MachineDetector()
    detector.feed(started(400), 0.65)
    # Still speaking 3.5 s in: the worker would have reported an end 0.8 s after it; 2.3 s is proven.
    assert detector.tick(3.5) is None
    decision = detector.tick(3.7)
    assert decision is not None and decision.verdict is Verdict.MACHINE and "greeting" in decision.reason


def test_a_two_second_answer_is_not_a_machine() -> None:
    detector = MachineDetector()
    detector.feed(started(500), 0.75)
    detector.feed(stopped(500, 2500), 3.0)
    detector.feed(utterance("Yeah, this is Sam, who's calling?", 500, 2500), 3.4)
    decision = detector.tick(3.5)
    assert decision is not None and decision.verdict is Verdict.HUMAN


def test_voicemail_phrase_is_a_machine_even_when_short() -> None:
    detector = MachineDetector()
    detector.feed(started(300), 0.55)
    decision = detector.feed({"type": "hypothesis", "text": "Please leave a message", "start_ms": 300, "end_ms": 900}, 1.0)
    assert decision is not None and decision.verdict is Verdict.MACHINE


def test_many_words_in_pieces_is_a_machine() -> None:
    detector = MachineDetector()
    for start, text in ((200, "Ann and Bob and"), (900, "the kids are at home today")):
        detector.feed(utterance(text, start, start + 500), (start + 1012) / 1000)
    assert detector.decision is not None and detector.decision.verdict is Verdict.MACHINE


def test_silence_is_not_sure() -> None:
    detector = MachineDetector()
    assert detector.tick(2.0) is None
    decision = detector.tick(2.6)
    assert decision is not None and decision.verdict is Verdict.UNKNOWN


def test_the_first_verdict_stays() -> None:
    detector = MachineDetector()
    detector.feed(started(200), 0.45)
    detector.feed(stopped(200, 700), 1.2)
    first = detector.tick(1.6)
    assert first is not None and first.verdict is Verdict.HUMAN
    detector.feed(utterance("leave a message after the tone", 2000, 3000), 3.5)
    assert detector.decision == first


def test_greeting_end_is_the_silence_after_the_last_speech_or_the_beep() -> None:
    detector = MachineDetector()
    detector.feed(started(200), 0.45)
    detector.feed(stopped(200, 4000), 4.5)
    assert not detector.greeting_over(4.5)
    detector.feed(started(4600), 4.85)  # "...after the tone"
    detector.feed(stopped(4600, 5000), 5.5)
    assert not detector.greeting_over(6.0)
    assert detector.greeting_over(6.2)
    beeped = MachineDetector()
    beeped.feed(started(200), 0.45)
    assert not beeped.greeting_over(5.0)
    decision = beeped.beep(5.0)
    assert decision is not None and decision.verdict is Verdict.MACHINE
    assert not beeped.greeting_over(5.4) and beeped.greeting_over(5.5)  # the rest of the beep


def test_campaign_action_decides_what_happens_next() -> None:
    assert next_step(Verdict.HUMAN, AmdAction.HANGUP, greeting_over=False) is Next.CONTINUE
    assert next_step(Verdict.MACHINE, AmdAction.CONTINUE, greeting_over=False) is Next.CONTINUE
    assert next_step(Verdict.MACHINE, AmdAction.HANGUP, greeting_over=False) is Next.HANGUP
    assert next_step(Verdict.MACHINE, AmdAction.VOICEMAIL, greeting_over=False) is Next.WAIT_FOR_GREETING_END
    assert next_step(Verdict.MACHINE, AmdAction.VOICEMAIL, greeting_over=True) is Next.LEAVE_VOICEMAIL
    assert next_step(Verdict.UNKNOWN, AmdAction.VOICEMAIL, greeting_over=True) is Next.CONTINUE
