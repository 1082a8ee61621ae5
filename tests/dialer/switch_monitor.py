"""Watches the stand-in over its own ESL connection: live channels and originate times, as a switch sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.esl.inbound import InboundClient
from app.esl.protocol import Event


@dataclass
class SwitchMonitor:
    """Counts +1 per CHANNEL_CREATE and -1 per CHANNEL_HANGUP_COMPLETE, in the order the switch sent them."""

    live: int = 0
    peak: int = 0
    created: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds, uuid, callee)

    def on_event(self, event: Event) -> None:
        if event.name == "CHANNEL_CREATE":
            self.live += 1
            self.peak = max(self.peak, self.live)
            stamp = int(event.get("Event-Date-Timestamp", "0") or "0") / 1_000_000
            callee = event.variable("callbridge_callee") or event.get("Caller-Destination-Number") or ""
            self.created.append((stamp, event.get("Unique-ID", "") or "", callee))
        elif event.name == "CHANNEL_HANGUP_COMPLETE":
            self.live -= 1

    def connect(self, port: int, password: str) -> InboundClient:
        client = InboundClient(
            "127.0.0.1",
            port,
            password,
            events=("CHANNEL_CREATE", "CHANNEL_HANGUP_COMPLETE"),
            on_event=self.on_event,
        )
        client.start()
        assert client.wait_connected(10)
        return client

    def first_legs(self, uuids: set[str]) -> list[tuple[float, str, str]]:
        """The first channel of each of our originates (the stand-in reuses origination_uuid on failover legs)."""
        seen: set[str] = set()
        legs = []
        for stamp, uuid, callee in self.created:
            if uuid in uuids and uuid not in seen:
                seen.add(uuid)
                legs.append((stamp, uuid, callee))
        return legs

    def max_per_second(self, uuids: set[str]) -> int:
        """The most originates (first legs, named by our uuids) that any one-second span [t, t+1) holds."""
        times = sorted(stamp for stamp, _, _ in self.first_legs(uuids))
        most, start = 0, 0
        for end, stamp in enumerate(times):
            while stamp - times[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most
