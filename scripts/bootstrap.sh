#!/usr/bin/env bash
# Install Callbridge into ./.venv with the pinned versions of constraints.txt, on any Python 3.11+
# (a stock Debian/Ubuntu python3 as well as pyenv or a distribution build).
#
#   scripts/bootstrap.sh          the application
#   scripts/bootstrap.sh --test   the application, the test tools, and Debian's Chromium for the
#                                 browser test and SIPp for the real-switch tier (installed with
#                                 apt-get when run as root)
#
# PYTHON=/path/to/python3 picks the interpreter (default: python3 on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
extras=""
with_tests=false
for arg in "$@"; do
    case "$arg" in
        --test) extras="[test]"; with_tests=true ;;
        *) echo "usage: scripts/bootstrap.sh [--test]" >&2; exit 2 ;;
    esac
done

need_root() {  # need_root WHAT: say what to run when we may not install Debian packages ourselves
    echo "bootstrap: $1 is missing; install it with: sudo apt-get install -y $2" >&2
    exit 1
}

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then need_root "$1" "$2"; fi
    echo "bootstrap: installing Debian's $2"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

if ! command -v "$python" >/dev/null; then
    echo "bootstrap: no $python on PATH (Callbridge needs Python 3.11 or newer)" >&2; exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: Callbridge needs Python 3.11 or newer; $python is $("$python" -V 2>&1)" >&2; exit 1
fi

# Debian and Ubuntu ship venv and ensurepip apart from python3 (package python3-venv); a system
# Python there refuses `pip install` outside a virtualenv (externally-managed-environment).
if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        apt_install "Python's venv module" python3-venv
        "$python" -m venv .venv
    fi
fi

.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".$extras"

if $with_tests; then
    # The browser test drives Debian's Chromium (WebRTC through the Verto page).
    command -v chromium >/dev/null || apt_install Chromium chromium
    # The real-switch tier (tests/realswitch, pytest --freeswitch PREFIX) calls with Debian's SIPp.
    command -v sipp >/dev/null || apt_install SIPp sip-tester
    # The PostgreSQL tests use the server on 127.0.0.1:5432; say so early rather than in 40 failures.
    if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
        echo "bootstrap: note: no PostgreSQL answers on 127.0.0.1:5432; the store tests need it" >&2
    fi
fi
echo "bootstrap: ready: .venv/bin/callbridge ($(.venv/bin/python -V))"
