"""Dialplan applications of the stand-in (mod_dptools and the ``socket`` app of mod_event_socket)."""

from __future__ import annotations

import logging
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import gevent

from app.sim.avmd import avmd_start_app, avmd_stop_app
from app.sim.events import Origin
from app.sim.outbound import run_socket_app

if TYPE_CHECKING:
    from app.sim.session import Application, Session

logger = logging.getLogger(__name__)

ORIGIN_PLAYBACK_START: Origin = ("switch_ivr_play_say.c", "switch_ivr_play_file", 1646)
ORIGIN_PLAYBACK_STOP: Origin = ("switch_ivr_play_say.c", "switch_ivr_play_file", 2020)


def answer_app(session: Session, _arg: str) -> None:
    """``answer``."""
    session.channel.answer()


def pre_answer_app(session: Session, _arg: str) -> None:
    """``pre_answer``: early media."""
    session.channel.pre_answer()


def ring_ready_app(session: Session, _arg: str) -> None:
    """``ring_ready``: 180 Ringing."""
    session.channel.ring()


def park_app(session: Session, _arg: str) -> None:
    """``park``: wait for commands until hangup, transfer or ``park_timeout``.

    A park of its own (CF_CONTROLLED set afresh): an earlier socket's release does not end it.
    """
    session.park_released = False
    session.park()


def hangup_app(session: Session, arg: str) -> None:
    """``hangup [cause]``."""
    session.channel.hangup(arg.strip() or "NORMAL_CLEARING")


def sleep_app(session: Session, arg: str) -> None:
    """``sleep <ms>``: wait, or return early on hangup."""
    try:
        milliseconds = int(arg.strip() or "0")
    except ValueError:
        milliseconds = 0
    session.channel.hung_up.wait(milliseconds / 1000)


def set_app(session: Session, arg: str) -> None:
    """``set name=value`` (an empty value unsets)."""
    name, _, value = arg.partition("=")
    if name.strip():
        session.channel.set_var(name.strip(), value or None)


def unset_app(session: Session, arg: str) -> None:
    """``unset name``."""
    if arg.strip():
        session.channel.set_var(arg.strip(), None)


def export_app(session: Session, arg: str) -> None:
    """``export name=value``: set it and list it in ``export_vars``."""
    name, _, value = arg.partition("=")
    name = name.strip()
    if not name:
        return
    channel = session.channel
    channel.set_var(name, value or None)
    exported = [item for item in (channel.get_var("export_vars") or "").split(",") if item]
    if name not in exported:
        exported.append(name)
    channel.set_var("export_vars", ",".join(exported))


def log_app(session: Session, arg: str) -> None:
    """``log [level] message``."""
    logger.info("%s dialplan log: %s", session.channel.uuid, arg)


def playback_app(session: Session, arg: str) -> None:
    """``playback <path>``: real-time playback through the channel's media.

    Sets ``playback_*`` variables and fires PLAYBACK_START/STOP like switch_ivr_play_file;
    the application response is ``FILE PLAYED`` (also after uuid_break), ``FILE NOT FOUND``
    or ``PLAYBACK ERROR``. ``playback_samples``/``playback_ms`` count what was read from the
    file (fh->samples_in: whole read-ahead chunks, see ``Playback``), not what was heard. The
    file handle is the channel's (``__fh``, what ``uuid_fileman`` finds) from just before
    PLAYBACK_START until just after PLAYBACK_STOP.
    """
    channel = session.channel
    path_text = arg.strip()
    if channel.answer_state not in ("early", "answered"):
        if channel.profile.direction == "inbound":
            channel.pre_answer()
        else:
            logger.warning("%s playback needs media on an outbound channel", channel.uuid)
            channel.set_var("current_application_response", "PLAYBACK ERROR")
            return
    path = Path(path_text)
    try:
        with wave.open(str(path), "rb") as wav:
            native_rate = wav.getframerate()
            total_native = wav.getnframes()
    except FileNotFoundError:
        logger.warning("%s playback: file not found %s", channel.uuid, path_text)
        channel.set_var("current_application_response", "FILE NOT FOUND")
        return
    except (OSError, EOFError, wave.Error):
        logger.warning("%s playback: cannot open %s", channel.uuid, path_text)
        channel.set_var("current_application_response", "PLAYBACK ERROR")
        return
    media = channel.media
    if media is None or media.stopped:
        channel.set_var("current_application_response", "PLAYBACK ERROR")
        return
    channel.played_files.append(path_text)
    playback = media.play(path)
    channel.playback = playback
    channel.fire("PLAYBACK_START", ORIGIN_PLAYBACK_START, after=[("Playback-File-Path", path_text)])
    gevent.wait([playback.finished, channel.hung_up], count=1)
    broken = playback.status == "break" and channel.is_up
    if not playback.finished.is_set():
        playback.stop()
    if playback.samples_in == playback.total_samples:
        samples_in = total_native
    else:
        samples_in = playback.samples_in * native_rate // channel.rate
    channel.set_var("playback_last_offset_pos", str(playback.offset_pos))
    if native_rate >= 1000:
        channel.set_var("playback_seconds", str(samples_in // native_rate))
        channel.set_var("playback_ms", str(samples_in // (native_rate // 1000)))
    channel.set_var("playback_samples", str(samples_in))
    channel.fire(
        "PLAYBACK_STOP",
        ORIGIN_PLAYBACK_STOP,
        after=[("Playback-File-Path", path_text), ("Playback-Status", "break" if broken else "done")],
    )
    channel.playback = None
    channel.set_var("current_application_response", "FILE PLAYED")


def socket_app(session: Session, arg: str) -> None:
    """``socket <host[:port]> [async] [full]``: hand the call to an outbound ESL controller."""
    run_socket_app(session, arg)


APPLICATIONS: dict[str, Application] = {
    "answer": answer_app,
    "pre_answer": pre_answer_app,
    "ring_ready": ring_ready_app,
    "park": park_app,
    "hangup": hangup_app,
    "sleep": sleep_app,
    "set": set_app,
    "unset": unset_app,
    "export": export_app,
    "log": log_app,
    "playback": playback_app,
    "socket": socket_app,
    "avmd_start": avmd_start_app,
    "avmd_stop": avmd_stop_app,
}
