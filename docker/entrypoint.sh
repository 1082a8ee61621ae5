#!/usr/bin/env bash
# Container start-up: check the secrets, migrate the call log, then run FreeSWITCH and `callbridge serve`
# side by side; when either stops, stop the other and exit with its status.
# With arguments, run them instead (e.g. `docker compose run callbridge callbridge calls`).
set -Eeuo pipefail

readonly FS_PREFIX=${FS_PREFIX:-/usr/local/freeswitch}
readonly EX_CONFIG=78 # sysexits.h EX_CONFIG: the configuration is unusable

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
    log "no WSS certificate at $certificate: generating a self-signed one (development only)"
    workdir=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${FREESWITCH_DOMAIN:-localhost}" \
        -keyout "$workdir/key.pem" -out "$workdir/cert.pem" 2>/dev/null
    mkdir -p "$(dirname "$certificate")"
    cat "$workdir/key.pem" "$workdir/cert.pem" >"$certificate"
    chmod 600 "$certificate"
    rm -rf "$workdir"
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

    local certificate=${FREESWITCH_VERTO_WSS_CERTIFICATE:-$FS_PREFIX/certs/wss.pem}
    [[ -s $certificate ]] || make_development_certificate "$certificate"
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
