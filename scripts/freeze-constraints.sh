#!/usr/bin/env bash
# Re-pin constraints.txt: install the newest versions setup.cfg allows (all extras) into a scratch
# virtualenv, run the tests against it yourself, then commit the new pins.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install -q --upgrade pip
"$scratch/venv/bin/python" -m pip install -q -e ".[test,base]"
{
    echo "# Tested versions of every package Callbridge installs (scripts/bootstrap.sh and CI install with -c)."
    echo "# Regenerate after changing setup.cfg: scripts/freeze-constraints.sh"
    echo "pip==$("$scratch/venv/bin/python" -m pip --version | cut -d' ' -f2)"
    "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -v '^callbridge'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pins"
