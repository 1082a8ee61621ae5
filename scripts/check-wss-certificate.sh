#!/usr/bin/env bash
# Is a Verto WSS certificate one a browser will accept? The admin checklist asks for a real certificate,
# and FreeSWITCH never says when it is not: with no wss.pem in its certificates directory the core
# generates a self-signed one at start-up and mod_verto serves WSS on it without a word.
#
#   scripts/check-wss-certificate.sh PEM
#
# PEM is the file mod_verto reads (secure-combined): the private key, the certificate, then its chain.
# Exit 0 when the key matches the certificate, the certificate is valid for at least 7 more days and it
# verifies against the system's certificate authorities (CALLBRIDGE_CA_FILE names another CA bundle)
# through the chain in the file; exit 1, saying why, otherwise (missing, self-signed, unverifiable,
# expired, key mismatch). The container's entrypoint runs it before FreeSWITCH starts.
set -Eeuo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 PEM" >&2
    exit 2
fi
pem=$1
fail() { echo "check-wss-certificate: $pem: $*" >&2; exit 1; }

[[ -s $pem ]] || fail "missing or empty"
grep -q -- '-----BEGIN CERTIFICATE-----' "$pem" || fail "holds no certificate"
grep -qE -- '-----BEGIN (RSA |EC )?PRIVATE KEY-----' "$pem" || fail "holds no private key (key first, then certificate and chain)"

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
# The first certificate is the server's; the rest are its chain.
awk -v dir="$workdir" '
    /-----BEGIN CERTIFICATE-----/ { n++; file = (n == 1 ? dir "/leaf.pem" : dir "/chain.pem") }
    file { print >> file }
    /-----END CERTIFICATE-----/ { file = "" }
' "$pem"

leaf_key=$(openssl x509 -in "$workdir/leaf.pem" -noout -pubkey 2>/dev/null) || fail "the certificate does not parse"
file_key=$(openssl pkey -in "$pem" -pubout 2>/dev/null) || fail "the private key does not parse (or is encrypted)"
[[ $leaf_key == "$file_key" ]] || fail "the private key does not belong to the certificate"

subject=$(openssl x509 -in "$workdir/leaf.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
issuer=$(openssl x509 -in "$workdir/leaf.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
openssl x509 -in "$workdir/leaf.pem" -noout -checkend $((7 * 24 * 3600)) >/dev/null \
    || fail "expired or expiring within 7 days ($(openssl x509 -in "$workdir/leaf.pem" -noout -enddate))"
[[ $subject != "$issuer" ]] || fail "self-signed ($subject): browsers refuse it; install a certificate from a CA"

verify_args=()
if [[ -n ${CALLBRIDGE_CA_FILE:-} ]]; then verify_args+=(-CAfile "$CALLBRIDGE_CA_FILE"); fi
if [[ -f $workdir/chain.pem ]]; then verify_args+=(-untrusted "$workdir/chain.pem"); fi
if ! result=$(openssl verify "${verify_args[@]}" "$workdir/leaf.pem" 2>&1); then
    fail "does not verify against the certificate authorities (issuer $issuer): ${result//$'\n'/; }"
fi
echo "check-wss-certificate: $pem: $subject, issued by $issuer, $(openssl x509 -in "$workdir/leaf.pem" -noout -enddate)"
