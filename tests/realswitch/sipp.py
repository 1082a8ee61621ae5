"""Real SIP callers for the real-switch tier: SIPp (Debian ``sip-tester``) scenarios written per call.

A caller sends an INVITE with PCMU to a number on one of the switch's profiles, streams a WAV file as
RTP (SIPp's ``rtp_stream``, raw mu-law at 8 kHz), and then either waits for the switch to hang up
(``hangs_up_after_ms=None``) or sends BYE itself after that many milliseconds.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import gevent
import numpy as np

from tests.realswitch.harness import LOOPBACK, free_port
from tests.realswitch.rtp_pcap import rtp_packets, write_pcap

SIPP = shutil.which("sipp")

_INVITE = """\
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      User-Agent: callbridge-realswitch-sipp
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio {media_port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
"""

_ACK_ANSWER = """\
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

_ACK_FAILURE = """\
  <recv response="{final}"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

_RTP = """\
  <nop><action><exec rtp_stream="{audio},1,0"/></action></nop>
"""

_RTP_GAP = """\
  <nop><action><exec rtp_stream="{audio},-1,0"/></action></nop>
  <pause milliseconds="{start_ms}"/>
  <nop><action><exec rtp_stream="pause"/></action></nop>
  <pause milliseconds="{length_ms}"/>
  <nop><action><exec rtp_stream="resume"/></action></nop>
"""

# The caller's voice with a key press in it, one stream from the call's media port (rtp_pcap.py).
_PCAP = """\
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
"""

_WAIT_FOR_BYE = """\
  <recv request="BYE" timeout="{timeout_ms}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

_SEND_BYE = """\
  <pause milliseconds="{after_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""


def mulaw_encode(samples: np.ndarray) -> bytes:
    """G.711 mu-law of 16-bit linear samples (the reference 14-bit algorithm, as Python's audioop had it)."""
    value = samples.astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), 8159) + 33
    segment = np.floor(np.log2(magnitude)).astype(np.int32) - 5
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return bytes((code ^ mask).astype(np.uint8).tobytes())


def wav_to_mulaw(wav_path: Path, raw_path: Path) -> Path:
    """Write ``wav_path`` (16-bit mono at 8 kHz) as raw mu-law, the form SIPp's rtp_stream plays."""
    with wave.open(str(wav_path), "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, 8000):
            raise ValueError(f"{wav_path}: need 16-bit mono at 8000 Hz")
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    raw_path.write_bytes(mulaw_encode(samples))
    return raw_path


@dataclass(frozen=True)
class SippResult:
    """How SIPp ended (0: every call succeeded) and what it printed and logged."""

    returncode: int
    output: str
    scenario: Path
    messages: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def scenario_xml(
    *,
    caller: str,
    audio: Path | None,
    hangs_up_after_ms: int | None,
    final: int = 200,
    timeout_ms: int = 60000,
    rtp_gap: tuple[int, int] | None = None,
    pcap: Path | None = None,
) -> str:
    """One call's scenario: INVITE, the answer, ACK, RTP, then BYE either way; or a refusal (``final``).

    With ``pcap`` (the caller's stream with a key press in it, from rtp_pcap.py) SIPp replays that capture
    from its media port instead of streaming ``audio``.

    With ``rtp_gap=(start_ms, length_ms)`` the audio loops, and no packet at all is sent from ``start_ms``
    after the answer for ``length_ms``; ``hangs_up_after_ms`` then counts from the end of the gap.
    """
    media_port = "[media_port]" if pcap is not None else "[rtpstream_audio_port]"
    parts = [_INVITE.format(caller=caller, media_port=media_port)]
    if final != 200:
        parts.append(_ACK_FAILURE.format(caller=caller, final=final))
        return _document(parts)
    parts.append(_ACK_ANSWER.format(caller=caller))
    if pcap is not None:
        parts.append(_PCAP.format(pcap=pcap))
    elif audio is not None and rtp_gap is not None:
        parts.append(_RTP_GAP.format(audio=audio, start_ms=rtp_gap[0], length_ms=rtp_gap[1]))
    elif audio is not None:
        parts.append(_RTP.format(audio=audio))
    if hangs_up_after_ms is None:
        parts.append(_WAIT_FOR_BYE.format(timeout_ms=timeout_ms))
    else:
        parts.append(_SEND_BYE.format(after_ms=hangs_up_after_ms, caller=caller))
    return _document(parts)


def _document(parts: list[str]) -> str:
    body = "".join(parts)
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="callbridge realswitch call">\n{body}</scenario>\n'


def call(
    workdir: Path,
    *,
    number: str,
    port: int,
    caller: str = "15551230000",
    audio_wav: Path | None = None,
    hangs_up_after_ms: int | None = None,
    refused_with: int | None = None,
    rtp_gap: tuple[int, int] | None = None,
    dtmf: tuple[int, str] | None = None,
    timeout_s: float = 90.0,
) -> SippResult:
    """Place one call from 127.0.0.1 to ``number`` at the switch's SIP ``port`` and wait for it to end.

    It waits for SIPp in gevent's thread pool, so a Callbridge stack in this thread's greenlets keeps
    answering while the call goes on.
    """
    if SIPP is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    workdir.mkdir(parents=True, exist_ok=True)
    audio = wav_to_mulaw(audio_wav, workdir / "caller.ulaw") if audio_wav is not None else None
    pcap = None
    if dtmf is not None:
        if audio is None:
            raise ValueError("a key press needs the caller's audio around it")
        packets = rtp_packets(audio.read_bytes(), key_at_ms=dtmf[0], key=dtmf[1])
        pcap = write_pcap(workdir / "caller.pcap", packets)
    scenario = workdir / "scenario.xml"
    scenario.write_text(
        scenario_xml(
            caller=caller,
            audio=audio,
            hangs_up_after_ms=hangs_up_after_ms,
            final=refused_with or 200,
            rtp_gap=rtp_gap,
            pcap=pcap,
        )
    )
    messages = workdir / "messages.log"
    command = [
        SIPP, f"{LOOPBACK}:{port}",
        "-sf", str(scenario),
        "-s", number,
        "-i", LOOPBACK, "-p", str(free_port(socket.SOCK_DGRAM)),
        "-mi", LOOPBACK, "-mp", str(free_port(socket.SOCK_DGRAM)),
        "-m", "1", "-l", "1",
        "-timeout", f"{int(timeout_s)}s", "-timeout_error",
        "-trace_msg", "-message_file", str(messages),
        "-nostdin",
    ]  # fmt: skip
    # Waited for in a thread of gevent's pool, so the stack under test keeps running in this thread's
    # greenlets. Not gevent.subprocess: its child watcher reaps every child of the test process from then
    # on, and a test's own subprocess.Popen then reads exit status 0 for a process it SIGKILLed.
    completed = (
        gevent.get_hub()
        .threadpool.spawn(
            subprocess.run,
            command,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=timeout_s + 15,
            check=False,
        )
        .get()
    )
    return SippResult(
        returncode=completed.returncode,
        output=completed.stdout + completed.stderr,
        scenario=scenario,
        messages=messages.read_text(errors="replace") if messages.exists() else "",
    )
