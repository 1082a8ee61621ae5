#!/usr/bin/env bash
# Fetch one exact commit of a git repository into a new directory, and refuse anything else.
#   fetch-source.sh <repository-url> <40-hex commit> <directory> [--submodules]
# Tags can move; commits cannot: the Dockerfile pins every source by its full commit hash.
set -Eeuo pipefail

if [[ $# -lt 3 || $# -gt 4 ]]; then
    echo "usage: $0 <repository-url> <commit> <directory> [--submodules]" >&2
    exit 2
fi
url=$1
commit=$2
directory=$3
submodules=${4:-}

if [[ ! $commit =~ ^[0-9a-f]{40}$ ]]; then
    echo "error: commit must be a full 40-character hash, got '$commit'" >&2
    exit 2
fi
if [[ -n $submodules && $submodules != --submodules ]]; then
    echo "error: unknown option '$submodules'" >&2
    exit 2
fi

git init --quiet "$directory"
cd "$directory"
git remote add origin "$url"
git fetch --quiet --depth 1 origin "$commit"
git checkout --quiet --detach FETCH_HEAD

actual=$(git rev-parse HEAD)
if [[ $actual != "$commit" ]]; then
    echo "error: $url gave $actual, expected $commit" >&2
    exit 1
fi
if [[ -n $submodules ]]; then
    # Submodule commits are pinned by the superproject's tree.
    git submodule update --quiet --init --recursive
fi
echo "fetched $url at $commit"
