"""Builds the media worker's speech pipeline from settings: VAD, segmenter profiles, end of turn, STT."""

from __future__ import annotations

import logging
from dataclasses import replace

from app.config import Settings
from app.domain import CallType
from app.media.echo import EchoConfig
from app.media.meter import StreamReports
from app.media.pipeline import SpeechWorker
from app.media.segmenter import SegmenterProfile
from app.media.turn_end import TurnEndConfig
from app.stt.base import SpeechRecognizer
from app.vad.batcher import VadBatcher
from app.vad.silero import shared_model

log = logging.getLogger(__name__)


def profiles_from(settings: Settings) -> dict[CallType, SegmenterProfile]:
    """The SIP and WebRTC segmenter profiles."""
    common = SegmenterProfile(
        min_speech_ms=settings.vad_min_speech_ms,
        short_answer_ms=settings.vad_short_answer_ms,
        preroll_ms=settings.vad_preroll_ms,
        max_utterance_ms=settings.vad_max_utterance_ms,
        echo_threshold=settings.vad_echo_threshold,
        echo_min_speech_ms=settings.vad_echo_min_speech_ms,
        noise_adapt=settings.vad_noise_adapt,
        speculate_ms=settings.stt_speculate_ms,
    )
    return {
        CallType.SIP: replace(
            common, threshold=settings.vad_sip_threshold, silence_ms=settings.vad_sip_silence_ms
        ),
        CallType.WEBRTC: replace(
            common, threshold=settings.vad_webrtc_threshold, silence_ms=settings.vad_webrtc_silence_ms
        ),
    }


def turn_ends_from(settings: Settings) -> dict[CallType, TurnEndConfig] | None:
    """The end-of-turn silences per call type, or None when the fixed silence alone ends a turn."""
    if settings.turn_detection == "silence":
        return None
    return {
        call_type: TurnEndConfig(
            finished_ms=getattr(settings, f"turn_{kind}_finished_ms"),
            doubtful_ms=getattr(settings, f"turn_{kind}_doubtful_ms"),
            unfinished_ms=getattr(settings, f"turn_{kind}_unfinished_ms"),
            finished_above=settings.turn_finished_above,
        )
        for call_type, kind in ((CallType.SIP, "sip"), (CallType.WEBRTC, "webrtc"))
    }


def echo_config_from(settings: Settings) -> EchoConfig | None:
    """The reference echo gate's tuning, or None when it is switched off."""
    if not settings.echo_gate:
        return None
    return EchoConfig(
        max_delay_ms=settings.echo_max_delay_ms,
        initial_return_loss_db=settings.echo_return_loss_db,
        margin_db=settings.echo_margin_db,
    )


def recognizer_from(settings: Settings) -> SpeechRecognizer:
    """The configured STT engine, loaded (once per process: call this once)."""
    if settings.stt_engine == "vosk":
        from app.stt.vosk import VoskRecognizer  # noqa: PLC0415 - optional engine

        if settings.stt_model_path is None:
            raise ValueError("CALLBRIDGE_STT_MODEL_PATH must name a Vosk model directory for stt_engine=vosk")
        phrases = [p.strip() for p in settings.stt_phrases.split(",") if p.strip()]
        return VoskRecognizer(settings.stt_model_path, phrases=phrases or None)
    from app.stt.models import resolve_model  # noqa: PLC0415
    from app.stt.whisper import WhisperRecognizer  # noqa: PLC0415 - heavy import

    return WhisperRecognizer(
        settings.stt_model_path or resolve_model(settings.whisper_model, settings.whisper_cache_dir),
        workers=settings.stt_threads,
        beam_size=settings.stt_beam_size,
        language=settings.stt_language,
        short_window_s=settings.stt_short_window_s,
    )


def speech_worker_from(settings: Settings, reports: StreamReports | None = None) -> SpeechWorker:
    """The listener factory for ``MediaServer``, with the models loaded."""
    vad = VadBatcher(shared_model(settings.vad_model_path), max_batch=settings.vad_max_batch)
    recognizer = recognizer_from(settings)
    profiles = profiles_from(settings)
    turn_ends = turn_ends_from(settings)
    turn_model = None
    if settings.turn_detection == "smart":
        from app.turn.batcher import TurnBatcher  # noqa: PLC0415 - loads the model

        # Its own inference thread, not the VAD's: a batch of Smart Turn takes 60-180 ms a prediction,
        # and the VAD of every call (barge-in, segmentation) must not wait behind it.
        turn_model = TurnBatcher()
    log.info("media worker: Silero VAD, %s STT, end of turn by %s", recognizer.name, settings.turn_detection)
    return SpeechWorker(
        vad,
        recognizer,
        profiles.__getitem__,
        stt_threads=settings.stt_threads,
        reports=reports,
        echo=echo_config_from(settings),
        turn_ends=None if turn_ends is None else turn_ends.get,
        turn_model=turn_model,
    )
