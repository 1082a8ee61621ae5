"""The segmenter, driven by hand-made probabilities (no model, no sockets)."""

from __future__ import annotations

import numpy as np
import pytest

from app.media.segmenter import (
    Segmenter,
    SegmenterEvent,
    SegmenterProfile,
    SpeechCancelled,
    SpeechOnset,
    SpeechPaused,
    SpeechStarted,
    UtteranceEnded,
)

RATE = 8000
WINDOW = 256  # 32 ms at 8 kHz
WINDOW_MS = 32.0
SIP = SegmenterProfile(threshold=0.6, silence_ms=500)
WEBRTC = SegmenterProfile(threshold=0.5, silence_ms=300)


def run(segmenter: Segmenter, plan: list[tuple[float, float, int]]) -> list[SegmenterEvent]:
    """``plan``: (probability, sample amplitude, number of windows)."""
    events: list[SegmenterEvent] = []
    for probability, amplitude, count in plan:
        for _ in range(count):
            window = np.full(WINDOW, amplitude, dtype=np.int16)
            events.extend(segmenter.push(window, probability))
    return events


def of(kind: type, events: list[SegmenterEvent]) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def test_sip_utterance_ends_after_500_ms_of_silence() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.01, 10, 25), (0.95, 3000, 30), (0.02, 10, 40)])
    (started,) = of(SpeechStarted, events)
    (ended,) = of(UtteranceEnded, events)
    assert started.start_ms == 25 * WINDOW_MS
    assert ended.end_ms == 55 * WINDOW_MS
    assert ended.decided_ms - ended.end_ms == pytest.approx(512, abs=WINDOW_MS)
    assert ended.reason == "silence"
    assert events.index(started) < events.index(ended)


def test_webrtc_profile_ends_sooner() -> None:
    seg = Segmenter(WEBRTC, RATE)
    (ended,) = of(UtteranceEnded, run(seg, [(0.0, 0, 10), (0.9, 3000, 20), (0.0, 0, 20)]))
    assert ended.decided_ms - ended.end_ms == pytest.approx(300, abs=WINDOW_MS)


def test_preroll_and_a_short_tail_are_in_the_utterance_audio() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.0, 7, 30), (0.9, 3000, 20), (0.0, 0, 20)])
    (ended,) = of(UtteranceEnded, events)
    preroll = int(np.argmax(ended.audio == 3000))
    assert preroll == pytest.approx(SIP.preroll_ms * RATE / 1000, abs=WINDOW)
    assert np.all(ended.audio[:preroll] == 7)
    assert np.count_nonzero(ended.audio == 3000) == 20 * WINDOW
    tail = len(ended.audio) - preroll - 20 * WINDOW
    assert 0 < tail <= (SIP.tail_ms * RATE / 1000) + WINDOW


def test_a_click_shorter_than_the_minimum_speech_is_ignored() -> None:
    seg = Segmenter(SIP, RATE)
    assert run(seg, [(0.0, 0, 10), (0.95, 3000, 3), (0.0, 0, 40)]) == []
    assert not seg.speaking


def test_dips_above_the_hysteresis_threshold_do_not_end_speech() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.9, 3000, 10), (0.5, 3000, 30), (0.9, 3000, 10), (0.0, 0, 20)])
    assert len(of(UtteranceEnded, events)) == 1


def test_long_speech_is_cut_at_the_maximum_length() -> None:
    seg = Segmenter(SegmenterProfile(max_utterance_ms=2000), RATE)
    events = run(seg, [(0.95, 3000, 100)])
    cut = of(UtteranceEnded, events)
    assert cut and cut[0].reason == "max_length"
    assert cut[0].decided_ms <= 2000 + WINDOW_MS


def test_pause_hint_comes_once_before_the_end_with_the_same_end_time() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.9, 3000, 20), (0.0, 0, 20)])
    (paused,) = of(SpeechPaused, events)
    (ended,) = of(UtteranceEnded, events)
    assert events.index(paused) < events.index(ended)
    assert paused.end_ms == ended.end_ms
    assert np.array_equal(paused.audio, ended.audio)


def test_speech_resuming_after_the_pause_hint_changes_the_end() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.9, 3000, 20), (0.0, 0, 8), (0.9, 3000, 10), (0.0, 0, 20)])
    paused = of(SpeechPaused, events)
    (ended,) = of(UtteranceEnded, events)
    assert len(paused) == 2
    assert paused[0].end_ms < ended.end_ms == paused[1].end_ms


def test_echo_guard_needs_a_stricter_probability_and_longer_speech() -> None:
    guarded = Segmenter(SIP, RATE)
    guarded.set_playback(True)
    assert run(guarded, [(0.75, 3000, 30), (0.0, 0, 30)]) == []  # echo-like: counts without playback
    assert not of(SpeechStarted, run(guarded, [(0.95, 3000, 12), (0.0, 0, 30)]))  # 384 ms < 600 ms
    assert of(SpeechStarted, run(guarded, [(0.95, 3000, 25)]))  # a real barge-in
    plain = Segmenter(SIP, RATE)
    assert of(SpeechStarted, run(plain, [(0.75, 3000, 30)]))


def test_noise_floor_raises_the_threshold_on_a_noisy_line() -> None:
    seg = Segmenter(SIP, RATE)
    run(seg, [(0.45, 500, 200)])  # 6.4 s of noise that Silero half believes
    assert seg.start_threshold > SIP.threshold
    assert not of(SpeechStarted, run(seg, [(0.65, 3000, 20), (0.45, 500, 30)]))
    assert of(SpeechStarted, run(seg, [(0.97, 3000, 20)]))


def test_noise_adaptation_can_be_turned_off() -> None:
    seg = Segmenter(SegmenterProfile(noise_adapt=False), RATE)
    run(seg, [(0.45, 500, 200)])
    assert seg.start_threshold == pytest.approx(0.6)


def test_energy_gate_refuses_loud_probability_at_the_noise_level() -> None:
    seg = Segmenter(SIP, RATE)
    run(seg, [(0.1, 1000, 100)])
    assert not of(SpeechStarted, run(seg, [(0.9, 1000, 20), (0.1, 1000, 20)]))
    assert of(SpeechStarted, run(seg, [(0.9, 4000, 20)]))


def test_stream_end_closes_an_utterance_in_progress() -> None:
    seg = Segmenter(SIP, RATE)
    run(seg, [(0.9, 3000, 20)])
    (ended,) = seg.finish()
    assert isinstance(ended, UtteranceEnded) and ended.reason == "stream_end"
    assert seg.finish() == []


def test_consecutive_utterances_each_get_their_own_events() -> None:
    seg = Segmenter(WEBRTC, RATE)
    events = run(seg, [(0.9, 3000, 15), (0.0, 0, 20)] * 3)
    assert len(of(SpeechStarted, events)) == 3
    ends = of(UtteranceEnded, events)
    assert len(ends) == 3 and ends[0].end_ms < ends[1].start_ms < ends[2].start_ms


def test_over_the_agent_an_onset_comes_first_then_speech_or_a_cancel() -> None:
    seg = Segmenter(SIP, RATE)
    seg.set_playback(True)
    # A 200 ms "mm-hm": an onset at its first window, cancelled after the 400 ms gap allowed over the agent.
    events = run(seg, [(0.01, 10, 25), (0.95, 3000, 6), (0.02, 10, 14)])
    assert events == [SpeechOnset(25 * WINDOW_MS), SpeechCancelled(25 * WINDOW_MS)]
    # Real speech with a 300 ms pause inside ("Sorry, ... I wanted"): one onset, then confirmed speech.
    seg = Segmenter(SIP, RATE)
    seg.set_playback(True)
    events = run(seg, [(0.01, 10, 25), (0.95, 3000, 8), (0.02, 10, 9), (0.95, 3000, 15), (0.02, 10, 20)])
    assert [type(e) for e in events][:2] == [SpeechOnset, SpeechStarted]
    assert of(SpeechStarted, events)[0].start_ms == 25 * WINDOW_MS and not of(SpeechCancelled, events)


def test_no_onset_when_the_agent_is_silent_and_echo_windows_are_silence() -> None:
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.01, 10, 25), (0.95, 3000, 30), (0.02, 10, 20)])
    assert not of(SpeechOnset, events) and of(SpeechStarted, events)
    seg = Segmenter(SIP, RATE)
    seg.set_playback(True)
    for _ in range(25):
        seg.push(np.full(WINDOW, 10, dtype=np.int16), 0.01)
    floor = seg.noise_db
    echo = [seg.push(np.full(WINDOW, 3000, dtype=np.int16), 0.99, echo=True) for _ in range(40)]
    assert not any(echo) and seg.noise_db == floor  # echo neither starts speech nor raises the floor


def test_a_short_strong_burst_is_a_one_word_answer_but_a_weak_one_is_not() -> None:
    # 160 ms of speech: under min_speech_ms (250), over short_answer_ms (120).
    seg = Segmenter(SIP, RATE)
    events = run(seg, [(0.0, 0, 10), (0.97, 3000, 5), (0.0, 0, 30)])
    (started,) = of(SpeechStarted, events)
    (ended,) = of(UtteranceEnded, events)
    assert started.start_ms == ended.start_ms == 10 * WINDOW_MS
    assert ended.end_ms == 15 * WINDOW_MS
    weak = Segmenter(SIP, RATE)
    assert run(weak, [(0.0, 0, 10), (0.8, 3000, 5), (0.0, 0, 30)]) == []  # Silero unsure: a cough
    off = Segmenter(SegmenterProfile(threshold=0.6, silence_ms=500, short_answer_ms=0), RATE)
    assert run(off, [(0.0, 0, 10), (0.97, 3000, 5), (0.0, 0, 30)]) == []


def test_over_the_agent_a_short_burst_stays_a_backchannel() -> None:
    seg = Segmenter(SIP, RATE)
    seg.set_playback(True)
    events = run(seg, [(0.0, 0, 10), (0.97, 3000, 5), (0.0, 0, 30)])
    assert [type(e) for e in events] == [SpeechOnset, SpeechCancelled]
