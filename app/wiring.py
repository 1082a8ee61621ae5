"""Builds the running system from settings: call log, speech, media worker and controller."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import gevent

from app.config import Settings
from app.control.controller import CallController
from app.control.session import SessionPolicy
from app.esl.connection import OutboundServer
from app.media.meter import StreamReports
from app.media.server import MediaServer
from app.media.speech_setup import speech_worker_from
from app.store import CallLog
from app.tts.base import SpeechSpool
from app.tts.piper import PiperTTS

log = logging.getLogger(__name__)


def policy_from(settings: Settings, media_url: str | None = None) -> SessionPolicy:
    return SessionPolicy(
        media_url=media_url or settings.media_url,
        greeting=settings.greeting_text,
        goodbye=settings.goodbye_text,
        stream_rate=settings.stream_rate,
        no_input_timeout=settings.no_input_timeout,
        max_no_input=settings.max_no_input,
    )


@dataclass
class Stack:
    """The controller and the media worker in one process, with their shared call log and voice."""

    settings: Settings
    call_log: CallLog
    speech: SpeechSpool
    media: MediaServer
    reports: StreamReports
    controller: CallController | None = None
    outbound: OutboundServer | None = None
    _greenlets: list[gevent.Greenlet] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Stack:
        call_log = CallLog.open(settings.database_url)
        speech = SpeechSpool(PiperTTS(settings.piper_voice), settings.spool_dir)
        reports = StreamReports()
        media = MediaServer(settings.media_host, settings.media_port, speech_worker_from(settings, reports))
        return cls(settings, call_log, speech, media, reports)

    def start(self, *, advertise_bound_media: bool = False) -> None:
        """Start the media worker, then the controller.

        With ``advertise_bound_media`` the controller sends FreeSWITCH the worker's actual address (for
        port 0 in tests and the demo) instead of ``media_url`` from the settings.
        """
        self.media.start()
        self.prerender()
        media_url = None
        if advertise_bound_media:
            host, port = self.media.address
            media_url = f"ws://{host}:{port}"
        policy = policy_from(self.settings, media_url)
        self.controller = CallController(policy, self.call_log, self.speech)
        self.outbound = OutboundServer(
            self.settings.controller_host,
            self.settings.controller_port,
            self.controller,
            max_connections=self.settings.max_calls,
            command_timeout=self.settings.esl_command_timeout,
        )
        self._greenlets.append(gevent.spawn(self.outbound.listen))
        self.outbound.ready.wait(timeout=10)

    def prerender(self) -> None:
        """Render the fixed prompts once, so the first caller does not wait for them."""
        for text in (self.settings.greeting_text, self.settings.goodbye_text):
            for rate in (8000, 16000):
                self.speech.render(text, rate)

    def controller_finished(self, uuid: str, timeout: float) -> bool:
        """Wait until the controller has closed the call's session (its record is complete)."""
        assert self.controller is not None
        return self.controller.wait_finished(uuid, timeout)

    @property
    def controller_port(self) -> int:
        assert self.outbound is not None
        return self.outbound.port

    def stop(self) -> None:
        if self.outbound is not None:
            self.outbound.stop()
        self.media.stop()
        gevent.killall(self._greenlets, timeout=5)
        self.call_log.close()
