"""A caller's whole RTP stream as a pcap file, for SIPp's ``play_pcap_audio``: mu-law audio with keys in it.

A phone sends its RFC 4733 telephone-events from the same socket and in the same stream (one SSRC, one
sequence) as its voice, and FreeSWITCH ignores packets from any other source address; SIPp's
``rtp_stream`` and its own DTMF captures are two sockets. So the test writes the stream it wants as one
capture: 20 ms PCMU packets, and at a given moment a key's event packets in place of the voice (the
first with the marker bit, the duration growing, the end sent three times), then the voice again.
SIPp replays the capture at its timestamps from the call's media port to the switch's.
"""

from __future__ import annotations

import struct
from pathlib import Path

PCMU = 0
TELEPHONE_EVENT = 101  # what the SIPp caller's INVITE offers
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
EVENT_PACKETS = 5  # 100 ms of key press
END_REPEATS = 3
SSRC = 0x43425452
KEYS = {str(digit): digit for digit in range(10)} | {"*": 10, "#": 11}


def rtp_packets(mulaw: bytes, key_at_ms: int | None = None, key: str = "1") -> list[bytes]:
    """The stream's RTP packets, one every 20 ms; ``key`` pressed ``key_at_ms`` after the first."""
    frames = [mulaw[i : i + SAMPLES_PER_PACKET] for i in range(0, len(mulaw), SAMPLES_PER_PACKET)]
    frames = [frame.ljust(SAMPLES_PER_PACKET, b"\xff") for frame in frames]
    key_frame = None if key_at_ms is None else key_at_ms // 20
    packets: list[bytes] = []
    index = 0
    while index < len(frames):
        timestamp = index * SAMPLES_PER_PACKET
        if index == key_frame:
            packets += _event_packets(len(packets), timestamp, KEYS[key])
            index += EVENT_PACKETS + END_REPEATS
            continue
        packets.append(_rtp(PCMU, len(packets), timestamp, frames[index]))
        index += 1
    return packets


def _event_packets(first_sequence: int, timestamp: int, code: int) -> list[bytes]:
    packets = []
    for n in range(EVENT_PACKETS + END_REPEATS):
        ended = n >= EVENT_PACKETS - 1
        duration = SAMPLES_PER_PACKET * min(n + 1, EVENT_PACKETS)
        payload = struct.pack("!BBH", code, (0x80 if ended else 0) | 10, duration)
        packets.append(_rtp(TELEPHONE_EVENT, first_sequence + n, timestamp, payload, marker=n == 0))
    return packets


def _rtp(payload_type: int, sequence: int, timestamp: int, payload: bytes, marker: bool = False) -> bytes:
    second = (0x80 if marker else 0) | payload_type
    return struct.pack("!BBHII", 0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, SSRC) + payload


def write_pcap(path: Path, packets: list[bytes], interval_ms: int = 20) -> Path:
    """Write the packets as Ethernet/IPv4/UDP frames ``interval_ms`` apart (SIPp rewrites the addresses)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n, rtp in enumerate(packets):
        frame = _ethernet(_ipv4(_udp(rtp)))
        micros = n * interval_ms * 1000
        out.append(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


def _udp(payload: bytes, source: int = 6000, destination: int = 7000) -> bytes:
    return struct.pack("!HHHH", source, destination, 8 + len(payload), 0) + payload


def _ipv4(payload: bytes) -> bytes:
    loopback = bytes([127, 0, 0, 1])
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 17, 0, loopback, loopback)
    checksum = _checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def _ethernet(payload: bytes) -> bytes:
    return b"\x00" * 12 + b"\x08\x00" + payload


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
