"""The system under test for ``bench/calls.py``: controller, media worker, Piper and call log in one process.

Run as a child process so its CPU and memory are measured apart from the load generator (the stand-in).
Patches the standard library for gevent like ``callbridge serve``, starts the stack and a metrics
endpoint on free ports, prints them as one JSON line on stdout, and runs until SIGTERM.

    python bench/call_server.py --database-url URL --spool DIR --flow FILE --log FILE
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after the patch, like app/cli.py
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from psycogreen.gevent import patch_psycopg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import load_settings  # noqa: E402
from app.metrics import MetricsServer  # noqa: E402
from app.store import upgrade  # noqa: E402
from app.wiring import Stack  # noqa: E402


def main() -> None:
    patch_psycopg()
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--spool", required=True)
    parser.add_argument("--flow", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--stt-threads", default="2")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting, e.g. stt_speculate_ms=100",
    )
    parser.add_argument(
        "--whisper-short-window",
        type=float,
        help="WhisperRecognizer's opt-in short_window_s (seconds), for measuring it before it has a setting",
    )
    args = parser.parse_args()
    if args.whisper_short_window:
        from app.stt import whisper  # noqa: PLC0415

        defaults = whisper.WhisperRecognizer.__init__.__kwdefaults__ or {}
        defaults["short_window_s"] = args.whisper_short_window
    logging.basicConfig(
        filename=args.log, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(
        {
            "CALLBRIDGE_DATABASE_URL": args.database_url,
            "CALLBRIDGE_SPOOL_DIR": args.spool,
            "CALLBRIDGE_FLOW": args.flow,
            "CALLBRIDGE_NO_INPUT_TIMEOUT": "10",
            "CALLBRIDGE_MAX_NO_INPUT": "1",
            "CALLBRIDGE_STT_THREADS": args.stt_threads,
            **{
                f"CALLBRIDGE_{name.upper()}": value for name, _, value in (s.partition("=") for s in args.set)
            },
        }
    ).model_copy(update={"controller_port": 0, "media_port": 0})
    upgrade(settings.database_url)
    stack = Stack.build(settings)
    metrics = MetricsServer("127.0.0.1", 0)
    metrics.start()
    stack.start(advertise_bound_media=True)
    silence = {"sip": settings.vad_sip_silence_ms, "webrtc": settings.vad_webrtc_silence_ms}
    ready = {"controller_port": stack.controller_port, "metrics_port": metrics.port, "silence_ms": silence}
    print(json.dumps(ready), flush=True)
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    stopping.wait()
    stack.stop()
    metrics.stop()


if __name__ == "__main__":
    main()
