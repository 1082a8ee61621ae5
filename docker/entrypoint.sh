#!/usr/bin/env bash
# Container start-up: check the secrets, migrate the call log, then run FreeSWITCH and `callbridge serve`
# side by side; when either stops, stop the other and exit with its status.
# With arguments, run them instead (e.g. `docker compose run callbridge callbridge calls`).
set -Eeuo pipefail

readonly FS_PREFIX=${FS_PREFIX:-/usr/local/freeswitch}
readonly EX_CONFIG=78 # sysexits.h EX_CONFIG: the configuration is unusable
# In the image it is on PATH; from a checkout, next to us in scripts/.
CHECK_CERTIFICATE=$(command -v check-wss-certificate || echo "$(dirname "${BASH_SOURCE[0]}")/../scripts/check-wss-certificate.sh")
readonly CHECK_CERTIFICATE

log() { echo "entrypoint: $*" >&2; }

# A password goes into FreeSWITCH's XML (vars.xml -> event_socket.conf.xml): refuse what would break
# it, and the vanilla password.
check_secret() {
    local name=$1 value=${!1:-}
    local unsafe='[[:space:]"&<>]'
    if [[ -z $value ]]; then
        log "$name is not set; refusing to start (FreeSWITCH and Callbridge both read it)"
        return 1
    fi
    if [[ $value == ClueCon ]]; then
        log "$name is the well-known vanilla password ClueCon; choose another"
        return 1
    fi
    if [[ $value =~ $unsafe ]]; then
        log "$name contains whitespace or one of \" & < >; use letters, digits and - _ . ~ ! @ # % ^ * + ="
        return 1
    fi
}

make_development_certificate() {
    local certificate=$1 workdir
    log "WARNING: no WSS certificate at $certificate: generating a SELF-SIGNED one" \
        "(FREESWITCH_VERTO_ALLOW_SELF_SIGNED=true; development only, browsers refuse it until trusted by hand)"
    workdir=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${FREESWITCH_DOMAIN:-localhost}" \
        -keyout "$workdir/key.pem" -out "$workdir/cert.pem" 2>/dev/null
    mkdir -p "$(dirname "$certificate")"
    cat "$workdir/key.pem" "$workdir/cert.pem" >"$certificate"
    chmod 600 "$certificate"
    rm -rf "$workdir"
}

# Verto's WSS needs a real certificate (docs/admin.md, security checklist). FreeSWITCH itself never
# refuses one: with no wss.pem in its certificates directory it generates a self-signed one at start-up
# and serves WSS on it silently. So the check is made here, before FreeSWITCH starts.
check_certificate() {
    local certificate=$1 allow=${FREESWITCH_VERTO_ALLOW_SELF_SIGNED:-false}
    if [[ $allow != true && $allow != false ]]; then
        log "FREESWITCH_VERTO_ALLOW_SELF_SIGNED must be true or false, not '$allow'"
        return 1
    fi
    if [[ ! -s $certificate ]]; then
        if [[ $allow == true ]]; then make_development_certificate "$certificate"; return; fi
        log "no WSS certificate at $certificate: put the key, certificate and chain there (docs/admin.md," \
            "Verto and TLS), or set FREESWITCH_VERTO_ALLOW_SELF_SIGNED=true for development"
        return 1
    fi
    if ! "$CHECK_CERTIFICATE" "$certificate"; then
        if [[ $allow == true ]]; then
            log "WARNING: serving Verto WSS on a certificate browsers will refuse (FREESWITCH_VERTO_ALLOW_SELF_SIGNED=true)"
            return
        fi
        log "refusing to serve Verto WSS on it; install a real certificate or set FREESWITCH_VERTO_ALLOW_SELF_SIGNED=true"
        return 1
    fi
}

main() {
    if [[ $# -gt 0 ]]; then
        exec "$@"
    fi

    check_secret CALLBRIDGE_ESL_PASSWORD || exit "$EX_CONFIG"
    if [[ -n ${FREESWITCH_USER_PASSWORD:-} ]]; then
        check_secret FREESWITCH_USER_PASSWORD || exit "$EX_CONFIG"
    else
        log "FREESWITCH_USER_PASSWORD is not set: no SIP or Verto user can log in"
    fi

    # FreeSWITCH's certificates directory in the classic layout docker/build-freeswitch.sh builds.
    check_certificate "${FREESWITCH_VERTO_WSS_CERTIFICATE:-$FS_PREFIX/certs/wss.pem}" || exit "$EX_CONFIG"
    mkdir -p "${CALLBRIDGE_SPOOL_DIR:?CALLBRIDGE_SPOOL_DIR must name the TTS spool FreeSWITCH reads}"

    callbridge db upgrade

    # -nf: stay in the foreground; -nonat: no UPnP/NAT-PMP port mapping from inside a container.
    "$FS_PREFIX/bin/freeswitch" -nf -nonat &
    local freeswitch_pid=$!
    callbridge serve &
    local callbridge_pid=$!
    log "started FreeSWITCH (pid $freeswitch_pid) and callbridge serve (pid $callbridge_pid)"

    trap 'kill -TERM "$freeswitch_pid" "$callbridge_pid" 2>/dev/null || true' TERM INT
    local status=0
    wait -n "$freeswitch_pid" "$callbridge_pid" || status=$?
    log "a process stopped (status $status); stopping the other"
    kill -TERM "$freeswitch_pid" "$callbridge_pid" 2>/dev/null || true
    wait || true
    exit "$status"
}

main "$@"
