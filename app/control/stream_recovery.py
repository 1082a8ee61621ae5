"""Getting the caller's audio back to the worker when mod_audio_stream loses it mid-call. Pure.

mod_audio_stream does not reconnect by itself: after ``mod_audio_stream::error`` (the worker refused or
went away) or ``::disconnect`` (the worker closed the connection) the call's stream is gone and the agent
is deaf. The session then starts the stream again, ``uuid_audio_stream <uuid> start`` with the same URL,
after a short and growing delay, and gives up after the last one: it then tells the caller and ends the
call, rather than leaving them talking to nobody until the no-input rule hangs up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Seconds before each new start: the worker restarting under supervision takes about a second.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


@dataclass
class StreamRecovery:
    """Attempts to restart one call's stream; reset once a stream connects again."""

    delays: Sequence[float] = RETRY_DELAYS
    attempts: int = 0
    recovering: bool = False

    def lost(self) -> float | None:
        """The stream is gone: the delay before the next start, or None when every attempt is spent."""
        self.recovering = True
        if self.attempts >= len(self.delays):
            return None
        delay = self.delays[self.attempts]
        self.attempts += 1
        return delay

    def connected(self) -> bool:
        """A stream connected; True if it was a recovery (not the call's first stream)."""
        recovered = self.recovering
        self.recovering = False
        self.attempts = 0
        return recovered
