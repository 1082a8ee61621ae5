"""A real SIP callee for outbound calls: a SIPp UAS that answers one INVITE and streams a WAV as RTP.

The UAS listens on 127.0.0.1 (a port of its own), answers the INVITE FreeSWITCH sends through a gateway
(100, 180, then 200 with a PCMU SDP after ``ring_ms``), streams the WAV from the ACK on (SIPp's
``rtp_stream``, sent to the address and port of the INVITE's SDP), and then either waits for FreeSWITCH's
BYE (``hangs_up_after_ms=None``) or sends its own BYE that many milliseconds after the ACK. With
``refuse_with`` it answers the INVITE with that final status instead (486 Busy Here, ...).

It runs in the background (waited for in gevent's thread pool) while the test originates the call; :meth:`Callee.result`
waits for SIPp to end.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import gevent

from tests.polling import until
from tests.realswitch.harness import LOOPBACK, free_port
from tests.realswitch.sipp import SIPP, SippResult, wav_to_mulaw

_RECV_INVITE = """\
  <recv request="INVITE" crlf="true" rrs="true">{capture}</recv>
  <send>
    <![CDATA[
      SIP/2.0 100 Trying
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

# The dialog's two ends, kept for a BYE of our own: FreeSWITCH's From (with its tag) and our To.
_CAPTURE = """
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="far"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="near"/>
    </action>
  """

_RING_ANSWER = """\
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="{ring_ms}"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      User-Agent: callbridge-realswitch-sipp-callee
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec rtp_stream="{audio},1,0"/></action></nop>
"""

_REFUSE = """\
  <send>
    <![CDATA[
      SIP/2.0 {status} {reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
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
      From:[$near];tag=[pid]SIPpTag01[call_number]
      To:[$far]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""

REASONS = {486: "Busy Here", 480: "Temporarily Unavailable", 404: "Not Found", 603: "Decline"}


def scenario_xml(
    *,
    audio: Path | None,
    hangs_up_after_ms: int | None,
    refuse_with: int | None = None,
    ring_ms: int = 200,
    timeout_ms: int = 60000,
) -> str:
    """The UAS scenario of one call: answer and stream, then BYE either way; or refuse with a status."""
    if refuse_with is not None:
        reason = REASONS.get(refuse_with, "Refused")
        body = _RECV_INVITE.format(capture="") + _REFUSE.format(status=refuse_with, reason=reason)
    else:
        if audio is None:
            raise ValueError("an answering callee streams a WAV")
        capture = _CAPTURE if hangs_up_after_ms is not None else ""
        body = _RECV_INVITE.format(capture=capture) + _RING_ANSWER.format(ring_ms=ring_ms, audio=audio)
        if hangs_up_after_ms is None:
            body += _WAIT_FOR_BYE.format(timeout_ms=timeout_ms)
        else:
            body += _SEND_BYE.format(after_ms=hangs_up_after_ms)
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        f'<scenario name="callbridge realswitch callee">\n{body}</scenario>\n'
    )


def _udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


@dataclass
class Callee:
    """One running SIPp UAS on ``LOOPBACK:port``."""

    port: int
    workdir: Path
    process: subprocess.Popen[str]
    timeout_s: float

    @property
    def address(self) -> str:
        """Where a gateway's ``proxy`` points to reach this callee."""
        return f"{LOOPBACK}:{self.port}"

    def result(self) -> SippResult:
        """Wait for SIPp to end (it takes one call) and say how it went."""
        # In gevent's thread pool, not gevent.subprocess (see sipp.call): the stack keeps running meanwhile.
        pool = gevent.get_hub().threadpool
        try:
            stdout, stderr = pool.spawn(self.process.communicate, timeout=self.timeout_s + 15).get()
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = pool.spawn(self.process.communicate).get()
        messages = self.workdir / "messages.log"
        return SippResult(
            returncode=self.process.returncode,
            output=stdout + stderr,
            scenario=self.workdir / "scenario.xml",
            messages=messages.read_text(errors="replace") if messages.exists() else "",
        )

    def stop(self) -> None:
        """Kill SIPp if it still runs (a test that failed before the call ended)."""
        if self.process.poll() is None:
            self.process.kill()
            gevent.get_hub().threadpool.spawn(self.process.wait, 5).get()


def answer(
    workdir: Path,
    *,
    audio_wav: Path | None = None,
    hangs_up_after_ms: int | None = None,
    refuse_with: int | None = None,
    ring_ms: int = 200,
    timeout_s: float = 60.0,
) -> Callee:
    """Start a SIPp UAS for one call and return once it listens (its port is in :attr:`Callee.port`)."""
    if SIPP is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    workdir.mkdir(parents=True, exist_ok=True)
    audio = wav_to_mulaw(audio_wav, workdir / "callee.ulaw") if audio_wav is not None else None
    scenario = workdir / "scenario.xml"
    scenario.write_text(
        scenario_xml(
            audio=audio,
            hangs_up_after_ms=hangs_up_after_ms,
            refuse_with=refuse_with,
            ring_ms=ring_ms,
            timeout_ms=int(timeout_s * 1000),
        )
    )
    port = free_port(socket.SOCK_DGRAM)
    command = [
        SIPP,
        "-sf", str(scenario),
        "-i", LOOPBACK, "-p", str(port),
        "-mi", LOOPBACK, "-mp", str(free_port(socket.SOCK_DGRAM)),
        "-m", "1",
        "-timeout", f"{int(timeout_s)}s", "-timeout_error",
        "-trace_msg", "-message_file", str(workdir / "messages.log"),
        "-nostdin",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    callee = Callee(port, workdir, process, timeout_s)
    until(lambda: _udp_port_taken(port) or process.poll() is not None, 10, "SIPp's UAS to listen")
    if process.poll() is not None:
        raise RuntimeError(f"SIPp's UAS exited at start-up:\n{callee.result().output}")
    return callee
