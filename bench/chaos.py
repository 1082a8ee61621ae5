"""Chaos: calls and a campaign going on while the controller, the worker, the event socket and
PostgreSQL are killed and brought back at random (seeded) times; what survived, what was lost.

Real parts: ``python -m app serve`` (controller and its in-process media worker, Piper, the call log) and
``python -m app campaign dial`` as child processes, each started again when it exits (systemd's
``Restart=``), and a scratch PostgreSQL cluster of the bench's own (tests/scratch_postgres.py; never the
shared server). The stand-in FreeSWITCH (``app/sim``) runs here, with the shipped DID extension's shape
(mark, ``socket``, ``park_timeout=30``, ``park``), and is the witness: it knows every channel, every
originate, every playback and stream connect, and the bench compares that with the call log and the
campaign store. The faults, one at a time with quiet gaps between them:

- controller: ``serve`` SIGKILLed and started again at once;
- worker: the media worker's connections cut and refused for 0.5-2 s (a relay in front of it: what a
  crashed worker under a supervisor looks like to mod_audio_stream);
- esl_drop: every inbound event-socket connection closed at once (the listener stays);
- esl_listener: the event socket's listener gone for 2-6 s (connections closed, new ones refused);
- postgres: ``pg_ctl stop -m immediate``, started again 3-8 s later.

    python bench/chaos.py                # 50 inbound calls, 200 contacts, 20 faults (~5 min)
    python bench/chaos.py --quick        # 20 calls, 60 contacts, 10 faults
    python bench/chaos.py --seed 1234    # the same schedule again
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after the patch, like app/cli.py
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from psycogreen.gevent import patch_psycopg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.sim.shipped_dialplan import route_originated_calls  # noqa: E402
from app.sim.switch import Endpoint, FakeSwitch  # noqa: E402
from bench.chaos_faults import KINDS, Injector, schedule  # noqa: E402
from bench.chaos_proxy import Relay  # noqa: E402
from bench.chaos_rig import DID, REPO, Serve, SupervisedDialer, clean_env, free_port  # noqa: E402
from bench.chaos_run import Campaign, collect, place_callers, settle  # noqa: E402
from bench.chaos_watch import SwitchWatch  # noqa: E402
from tests.scratch_postgres import ScratchPostgres  # noqa: E402

FLOW = REPO / "tests" / "integration" / "data" / "short.yaml"  # greet, ask, wait: the caller stays silent
PARK_TIMEOUT_S = 30  # as dialplan/public/10_callbridge_dids.xml ships it
CAMPAIGN_CALL_S = 5.0  # the callee hangs up this long after answering
CALL_S = (15.0, 30.0)  # how long an inbound caller stays once answered


@dataclass(frozen=True)
class Size:
    calls: int
    contacts: int
    faults: int
    gap: tuple[float, float]


SIZES = {"default": Size(50, 200, 20, (4.0, 8.0)), "quick": Size(20, 60, 10, (3.0, 6.0))}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, help="schedule seed (default: random, printed)")
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run: 20 calls, 60 contacts, 10 faults"
    )
    parser.add_argument("--calls", type=int, help="inbound calls over the run")
    parser.add_argument("--contacts", type=int, help="campaign contacts")
    parser.add_argument("--faults", type=int, help="faults in the run (kinds in turn)")
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=KINDS,
        help=f"the fault kinds to play, in turn (default: all of {','.join(KINDS)})",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    size = _size(args)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    plan = schedule(seed, size.faults, size.gap, args.kinds)
    print(
        f"chaos: seed {seed}; {size.calls} inbound calls, {size.contacts} contacts, {size.faults} faults"
        f" ({','.join(args.kinds)});"
        f" load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    patch_psycopg()
    directory = Path(tempfile.mkdtemp(prefix="callbridge-chaos-"))
    postgres = ScratchPostgres()
    switch = FakeSwitch(password=secrets.token_hex(8))
    serve: Serve | None = None
    dialer: SupervisedDialer | None = None
    started = time.monotonic()
    try:
        postgres.start()
        switch.start()
        controller_port, metrics_port = free_port(), free_port()
        watch = _dialplan_and_far_ends(switch, controller_port)
        esl, media, worker_port = _relays(switch)
        env = _env(switch, postgres, directory, esl, media, worker_port, controller_port, metrics_port)
        serve = Serve(env, directory, metrics_port)
        serve.start()
        first_ready = serve.wait_ready(180)
        if first_ready is None:
            print(f"serve did not become ready; see {directory}/serve-1.log", file=sys.stderr)
            return 1
        print(f"serve ready in {first_ready:.1f} s (cold start); logs in {directory}", flush=True)
        campaign = Campaign.create(postgres.url, size.contacts)
        dialer = SupervisedDialer(env, directory, campaign.campaign_id)
        dialer.start()
        rng = random.Random(seed + 1)
        fault_phase_s = sum(p.gap_s + p.down_s + 8.0 for p in plan)
        callers = gevent.spawn(place_callers, switch, watch, size.calls, fault_phase_s, CALL_S, rng)
        injector = Injector(serve, esl, media, postgres, watch)
        injector.play(plan, lambda line: print(line, flush=True))
        callers.join()
        drained = settle(watch, dialer, serve, timeout=420)
        run_end = time.monotonic()
        serve.stop()
        serve = None
        figures = collect(watch, injector, postgres.url, campaign, run_end)
        figures.print(
            seed=seed,
            elapsed_s=run_end - started,
            dialer_exits=dialer.exits,
            drained=drained,
            serve_ready_s=[first_ready, *injector.serve_ready_s],
        )
        if args.json is not None:
            args.json.write_text(figures.to_json())
        return 0
    finally:
        if dialer is not None:
            dialer.stop()
        if serve is not None:
            serve.kill()
        switch.stop()
        postgres.destroy()


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(kind for kind in text.split(",") if kind)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {','.join(KINDS)}")
    return kinds


def _size(args: argparse.Namespace) -> Size:
    base = SIZES["quick" if args.quick else "default"]
    return Size(
        args.calls or base.calls, args.contacts or base.contacts, args.faults or base.faults, base.gap
    )


def _relays(switch: FakeSwitch) -> tuple[Relay, Relay, int]:
    """The event socket's and the media worker's relays (the faults cut these); the worker's own port."""
    esl = Relay(free_port(), ("127.0.0.1", switch.esl_port))
    worker_port = free_port()
    media = Relay(free_port(), ("127.0.0.1", worker_port))
    esl.open()
    media.open()
    return esl, media, worker_port


def _dialplan_and_far_ends(switch: FakeSwitch, controller_port: int) -> SwitchWatch:
    switch.dialplan.add(
        "public",
        rf"^\+?{DID}$",
        [
            ("set", "callbridge_direction=inbound"),
            ("set", "callbridge_owned=true"),
            ("socket", f"127.0.0.1:{controller_port} async full"),
            ("set", f"park_timeout={PARK_TIMEOUT_S}:NORMAL_TEMPORARY_FAILURE"),
            ("park", ""),
            ("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ],
    )
    route_originated_calls(switch.dialplan, "127.0.0.1", controller_port)
    switch.add_endpoint(r".", Endpoint(result="answer", answer_delay=0.5, hangup_after=CAMPAIGN_CALL_S))
    watch = SwitchWatch(switch)
    watch.outbound_planned_s = CAMPAIGN_CALL_S
    return watch


def _env(
    switch: FakeSwitch,
    postgres: ScratchPostgres,
    directory: Path,
    esl: Relay,
    media: Relay,
    worker_port: int,
    controller_port: int,
    metrics_port: int,
) -> dict[str, str]:
    env = clean_env()
    env.update(
        {
            "CALLBRIDGE_ESL_PORT": str(esl.port),
            "CALLBRIDGE_ESL_PASSWORD": switch.password,
            "CALLBRIDGE_DATABASE_URL": postgres.url,
            "CALLBRIDGE_CONTROLLER_PORT": str(controller_port),
            "CALLBRIDGE_MEDIA_PORT": str(worker_port),
            "CALLBRIDGE_MEDIA_URL": f"ws://127.0.0.1:{media.port}",
            "CALLBRIDGE_METRICS_PORT": str(metrics_port),
            "CALLBRIDGE_WEB_ENABLED": "false",
            "CALLBRIDGE_FLOW": str(FLOW),
            "CALLBRIDGE_SPOOL_DIR": str(directory / "spool"),
            "CALLBRIDGE_CALL_LOG_SPOOL_PATH": str(directory / "call-log-spool.db"),
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "300",  # the callers are silent; they hang up themselves
            "CALLBRIDGE_MAX_NO_INPUT": "1",
            "CALLBRIDGE_LOG_LEVEL": "info",
        }
    )
    return env


if __name__ == "__main__":
    sys.exit(main())
