"""``callbridge`` / ``python -m app``: patch the standard library for gevent, then run the CLI.

The patching must happen before anything imports ``socket``, ``ssl``, ``selectors`` or ``threading``;
click alone pulls in ``subprocess`` and with it ``selectors``, so it happens here, ahead of every other
import. This is the only place that monkey-patches; tests import :mod:`app.cli` unpatched.
"""

import sys

from gevent import monkey

monkey.patch_all()
# httpcore (under httpx, the LLM client) imports trio when it is installed, and trio cannot even be
# imported once gevent has removed select.epoll. Nothing here runs trio: hide it so httpcore skips it.
sys.modules.setdefault("trio", None)  # type: ignore[arg-type]

from psycogreen.gevent import patch_psycopg  # noqa: E402 - must follow the patching

patch_psycopg()

from app.cli import cli  # noqa: E402


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
