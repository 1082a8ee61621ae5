"""Answering-machine detection from speech timing and words, and what the campaign does with it."""

from __future__ import annotations

from app.control.amd import AmdAction, MachineDetector, Next, Verdict, next_step


def test_short_hello_then_silence_is_a_human() -> None:
    detector = MachineDetector()
    assert detector.feed({"type": "speech_started"}, 0.6) is None
    assert detector.feed({"type": "utterance", "text": "hello?"}, 1.1) is None
    assert detector.tick(1.5) is None
    decision = detector.tick(1.95)
    assert decision is not None and decision.verdict is Verdict.HUMAN


def test_long_greeting_is_a_machine() -> None:
    detector = MachineDetector()
    detector.speech_started(0.4)
    assert detector.tick(1.8) is None
    decision = detector.tick(2.0)
    assert decision is not None and decision.verdict is Verdict.MACHINE
    assert "greeting" in decision.reason


def test_voicemail_phrase_is_a_machine_even_when_short() -> None:
    detector = MachineDetector()
    detector.speech_started(0.3)
    decision = detector.feed({"type": "partial", "text": "Please leave a message"}, 0.9)
    assert decision is not None and decision.verdict is Verdict.MACHINE


def test_many_words_in_pieces_is_a_machine() -> None:
    detector = MachineDetector()
    for start, text in ((0.2, "hi this is"), (0.9, "Ann and Bob")):
        detector.speech_started(start)
        detector.feed({"type": "utterance", "text": text}, start + 0.5)
    assert detector.decision is not None and detector.decision.verdict is Verdict.MACHINE


def test_silence_is_not_sure() -> None:
    detector = MachineDetector()
    assert detector.tick(2.0) is None
    decision = detector.tick(2.6)
    assert decision is not None and decision.verdict is Verdict.UNKNOWN


def test_the_first_verdict_stays() -> None:
    detector = MachineDetector()
    detector.speech_started(0.2)
    detector.speech_ended(0.7)
    first = detector.tick(1.6)
    assert first is not None and first.verdict is Verdict.HUMAN
    detector.words("leave a message after the tone", 3.0)
    assert detector.decision == first


def test_greeting_end_is_the_silence_after_the_last_speech() -> None:
    detector = MachineDetector()
    detector.speech_started(0.2)
    detector.tick(2.0)
    detector.speech_ended(4.0)
    assert not detector.greeting_over(4.5)
    detector.speech_started(4.6)  # "...after the tone"
    detector.speech_ended(5.0)
    assert not detector.greeting_over(6.0)
    assert detector.greeting_over(6.3)


def test_campaign_actions() -> None:
    assert next_step(Verdict.HUMAN, AmdAction.HANGUP, greeting_over=False) is Next.CONTINUE
    assert next_step(Verdict.MACHINE, AmdAction.CONTINUE, greeting_over=False) is Next.CONTINUE
    assert next_step(Verdict.MACHINE, AmdAction.HANGUP, greeting_over=False) is Next.HANGUP
    assert next_step(Verdict.MACHINE, AmdAction.VOICEMAIL, greeting_over=False) is Next.WAIT_FOR_GREETING_END
    assert next_step(Verdict.MACHINE, AmdAction.VOICEMAIL, greeting_over=True) is Next.LEAVE_VOICEMAIL
    assert next_step(Verdict.UNKNOWN, AmdAction.VOICEMAIL, greeting_over=True) is Next.CONTINUE
