"""The faults: a seeded schedule (which, when, for how long) and how each one is played."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent

from bench.chaos_proxy import Relay
from bench.chaos_rig import Serve
from bench.chaos_tally import Fault
from bench.chaos_watch import SwitchWatch
from tests.scratch_postgres import ScratchPostgres

KINDS = ("controller", "worker", "esl_drop", "esl_listener", "postgres")
# How long each kind stays broken (seconds, uniform): a supervised worker is back in about a second, a
# FreeSWITCH restart or a database failover takes several.
DOWNTIME = {
    "controller": (0.0, 0.0),  # restarted at once (systemd's Restart=); its start-up time is the outage
    "worker": (0.5, 2.0),
    "esl_drop": (0.0, 0.0),
    "esl_listener": (2.0, 6.0),
    "postgres": (3.0, 8.0),
}


@dataclass(frozen=True)
class Planned:
    kind: str
    gap_s: float  # quiet time before it
    down_s: float


def schedule(
    seed: int, faults: int, gap: tuple[float, float], kinds_in_turn: tuple[str, ...] = KINDS
) -> list[Planned]:
    """``faults`` faults, the kinds as even as the count allows, in a seeded random order."""
    rng = random.Random(seed)
    kinds = [kinds_in_turn[i % len(kinds_in_turn)] for i in range(faults)]
    rng.shuffle(kinds)
    return [Planned(kind, rng.uniform(*gap), rng.uniform(*DOWNTIME[kind])) for kind in kinds]


class Injector:
    """Plays planned faults one after another on the running parts and records each one."""

    def __init__(
        self, serve: Serve, esl: Relay, media: Relay, postgres: ScratchPostgres, watch: SwitchWatch
    ) -> None:
        self.serve, self.esl, self.media, self.postgres, self.watch = serve, esl, media, postgres, watch
        self.t0 = time.monotonic()
        self.done: list[Fault] = []
        self.serve_ready_s: list[float] = []

    def play(self, plan: list[Planned], log: Callable[[str], None]) -> None:
        for number, fault in enumerate(plan, 1):
            gevent.sleep(fault.gap_s)
            in_progress = tuple(self.watch.live())
            started = time.monotonic()
            getattr(self, f"_{fault.kind}")(fault.down_s)
            ended = time.monotonic()
            self.done.append(Fault(fault.kind, started, ended, in_progress))
            log(
                f"fault {number}/{len(plan)}: {fault.kind} at +{started - self.t0:.1f} s, down"
                f" {ended - started:.1f} s, {len(in_progress)} calls up"
            )
            if fault.kind == "controller":
                ready = self.serve.wait_ready(120)
                if ready is not None:
                    self.serve_ready_s.append(ready)
                log(f"  serve ready again after {ready if ready is None else round(ready, 1)} s")

    def _controller(self, _down: float) -> None:
        self.serve.kill()
        self.serve.start()

    def _worker(self, down: float) -> None:
        self.media.close()
        gevent.sleep(down)
        self.media.open()

    def _esl_drop(self, _down: float) -> None:
        self.esl.cut()

    def _esl_listener(self, down: float) -> None:
        self.esl.close()
        gevent.sleep(down)
        self.esl.open()

    def _postgres(self, down: float) -> None:
        self.postgres.stop()
        gevent.sleep(down)
        self.postgres.start()
