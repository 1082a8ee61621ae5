"""Builds the running system from settings: call log, speech, media worker and controller."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import gevent

from app.config import Settings
from app.control.controller import CallController
from app.control.resume import ResumingAgents
from app.control.sentences import split_sentences
from app.control.session import SessionPolicy
from app.dialog.factory import BrainKind, DialogBrain, build_brain
from app.dialog.flow_model import Flow
from app.esl.connection import OutboundServer
from app.media.meter import StreamReports
from app.media.server import MediaServer
from app.media.speech_setup import speech_worker_from
from app.store import CallLog
from app.store.buffered import BufferedCallLog
from app.store.live_calls import LiveCalls, live_calls_path
from app.store.outage import open_call_log
from app.store.spool import CallLogSpool
from app.tts.base import SpeechSpool
from app.tts.piper import PiperTTS

log = logging.getLogger(__name__)


def policy_from(settings: Settings, media_url: str | None = None) -> SessionPolicy:
    return SessionPolicy(
        media_url=media_url or settings.media_url,
        goodbye=settings.goodbye_text,
        stream_rate=settings.stream_rate,
        no_input_timeout=settings.no_input_timeout,
        max_no_input=settings.max_no_input,
        barge_in_min_words=settings.barge_in_min_words,
        barge_in_pause=settings.barge_in_pause,
        rehearse_replies=settings.rehearse_replies,
        playback_command=settings.playback_command,
        transfer_context=settings.transfer_context,
        transfer_sip_profile=settings.transfer_sip_profile,
    )


@dataclass
class Stack:
    """The controller and the media worker in one process, with their shared call log and voice."""

    settings: Settings
    call_log: CallLog
    speech: SpeechSpool
    media: MediaServer
    reports: StreamReports
    brain: DialogBrain
    # What the controller records through: the call log, or the local spool while the database is away.
    recorder: BufferedCallLog | None = None
    controller: CallController | None = None
    outbound: OutboundServer | None = None
    live: LiveCalls | None = None  # this node's calls started and not ended, kept across a crash
    _greenlets: list[gevent.Greenlet] = field(default_factory=list)

    @classmethod
    def build(
        cls, settings: Settings, brain: DialogBrain | None = None, *, live_calls: bool = False
    ) -> Stack:
        """``live_calls``: journal the calls in progress beside the spool, for the next start (serve)."""
        kind: BrainKind = "llm" if settings.brain == "llm" else "flow"
        brain = brain or build_brain(settings, kind)
        call_log, database_down = open_call_log(settings.database_url)
        speech = SpeechSpool(PiperTTS(settings.piper_voice), settings.spool_dir)
        reports = StreamReports()
        media = MediaServer(settings.media_host, settings.media_port, speech_worker_from(settings, reports))
        recorder = BufferedCallLog(
            call_log,
            CallLogSpool(settings.call_log_spool_path),
            write_timeout=settings.call_log_write_timeout,
            retry_min_delay=settings.call_log_retry_min_delay,
            retry_max_delay=settings.call_log_retry_max_delay,
            database_down=database_down,
            live=LiveCalls(live_calls_path(settings.call_log_spool_path)) if live_calls else None,
        )
        recorder.spool.check_writable()
        return cls(settings, call_log, speech, media, reports, brain, recorder, live=recorder.live)

    def start(self, *, advertise_bound_media: bool = False) -> None:
        """Start the media worker, then the controller.

        With ``advertise_bound_media`` the controller sends FreeSWITCH the worker's actual address (for
        port 0 in tests and the demo) instead of ``media_url`` from the settings.
        """
        self.media.start()
        self._greenlets.append(gevent.spawn(self._prune_spool_hourly))
        self.prerender()
        media_url = None
        if advertise_bound_media:
            host, port = self.media.address
            media_url = f"ws://{host}:{port}"
        policy = policy_from(self.settings, media_url)
        if self.recorder is not None:
            self.recorder.start()
        self.controller = CallController(
            policy,
            self.recorder or self.call_log,
            self.speech,
            # Each agent's inputs are recorded (agent_input), so a re-attached flow resumes exactly.
            ResumingAgents(self.brain, recorder=self.recorder or self.call_log, inputs=self.call_log),
            history=self.recorder or self.call_log,  # the spool's turns too, and a bounded wait
        )
        self.outbound = OutboundServer(
            self.settings.controller_host,
            self.settings.controller_port,
            self.controller,
            max_connections=self.settings.max_calls,
            command_timeout=self.settings.esl_command_timeout,
        )
        self._greenlets.append(gevent.spawn(self.outbound.listen))
        self.outbound.ready.wait(timeout=10)

    def _prune_spool_hourly(self) -> None:
        max_age_s = self.settings.spool_max_age_hours * 3600
        while True:
            try:
                self.speech.prune(max_age_s)
            except OSError:
                log.exception("pruning the speech spool %s failed", self.speech.directory)
            gevent.sleep(3600)

    def prerender(self) -> None:
        """Render the fixed prompts once, so the first caller does not wait for them."""
        texts = {self.settings.goodbye_text, *fixed_prompts(self.brain.flow)}
        for text in texts:
            for sentence in split_sentences(text):
                for rate in (8000, 16000):
                    self.speech.render(sentence, rate)

    def controller_finished(self, uuid: str, timeout: float) -> bool:
        """Wait until the controller has closed the call's session (its record is complete)."""
        assert self.controller is not None
        return self.controller.wait_finished(uuid, timeout)

    @property
    def controller_port(self) -> int:
        assert self.outbound is not None
        return self.outbound.port

    def stop(self, grace: float = 30.0) -> None:
        """Stop taking calls, give those in progress ``grace`` seconds to end, then shut down."""
        if self.outbound is not None:
            self.outbound.stop()
            cut = self.outbound.drain(grace)
            if cut:
                log.warning("shutdown: %d call(s) still in progress after %.0f s were cut off", cut, grace)
        self.media.stop()
        gevent.killall(self._greenlets, timeout=5)
        self.brain.close()
        if self.recorder is not None:
            self.recorder.stop()
        if self.live is not None:
            self.live.close()
        self.call_log.close()


def fixed_prompts(flow: Flow) -> list[str]:
    """The flow's prompts that do not depend on the call (no ``{variable}``): worth rendering at start-up."""
    texts = [flow.greeting or ""]
    for node in flow.nodes.values():
        texts += [node.say, node.reprompt or "", node.no_input or ""]
        texts += [route.say or "" for route in node.routes]
    return [text for text in dict.fromkeys(texts) if text and "{" not in text]
