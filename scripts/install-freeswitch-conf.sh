#!/usr/bin/env bash
# Install Callbridge's FreeSWITCH configuration "as is": freeswitch-conf/ becomes the whole conf directory
# and dialplan/ its dialplan/ (docs/admin.md, "Installing into an existing FreeSWITCH").
#
#   scripts/install-freeswitch-conf.sh CONF_DIR
#
# CONF_DIR is FreeSWITCH's conf directory: /usr/local/freeswitch/conf for a source build (and the image),
# /etc/freeswitch for Debian's packages. Whatever is there (normally the sample configuration `make
# install` leaves) is moved aside to CONF_DIR.before-callbridge-<time>, never merged: copying ours on top
# of the sample would keep its public context (a DID reaches no socket), its users 1000-1019 (with an
# EMPTY password under our vars.xml, and 1000 shadowing ours), its IPv6 profiles and the rest. The
# directory ends up holding exactly freeswitch-conf/ plus dialplan/ (mode 750: it holds secrets'
# defaults; owned like the previous one). Then restart FreeSWITCH, or `fs_cli -x reloadxml` for a running one.
set -Eeuo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 CONF_DIR" >&2
    exit 2
fi
readonly REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
conf=${1%/}

[[ -f $REPO/freeswitch-conf/freeswitch.xml && -f $REPO/dialplan/public.xml ]] \
    || { echo "install-freeswitch-conf: $REPO has no freeswitch-conf/ and dialplan/" >&2; exit 1; }

aside=""
if [[ -e $conf ]]; then
    if [[ -n $(ls -A "$conf") ]]; then
        aside=$conf.before-callbridge-$(date -u +%Y%m%dT%H%M%SZ)
        mv "$conf" "$aside"
        echo "install-freeswitch-conf: moved the previous configuration to $aside"
    else
        rmdir "$conf"
    fi
fi
mkdir -m 750 "$conf"
cp -R "$REPO/freeswitch-conf/." "$conf/"
mkdir "$conf/dialplan"
cp -R "$REPO/dialplan/." "$conf/dialplan/"
# FreeSWITCH (often its own user) must read it: give the new tree the previous one's owner and group.
if [[ -n $aside && $(id -u) == 0 ]]; then chown -R --reference="$aside" "$conf"; fi
echo "install-freeswitch-conf: installed $REPO/freeswitch-conf and $REPO/dialplan into $conf"
