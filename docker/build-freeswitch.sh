#!/usr/bin/env bash
# Build FreeSWITCH 1.10.12 for Callbridge from a directory of pinned source tarballs: the one recipe
# shared by the Dockerfile's build stage, the real-switch test tier and CI.
#
#   docker/build-freeswitch.sh SRC_DIR [PREFIX]
#   docker/build-freeswitch.sh --stamp SRC_DIR     print the build's stamp and exit
#
# SRC_DIR holds one `git archive` tarball per repository (freeswitch-*.tar.gz, sofia-sip-*, spandsp-*,
# libks-*, mod_audio_stream-*, libwsc-*; each unpacks into a directory named after the tarball) and a
# SHA256SUMS file listing them. Each tarball must carry the commit pinned below (git archive records it)
# and match its checksum. The script builds sofia-sip, spandsp, libks, FreeSWITCH with the modules of
# docker/modules.conf, and mod_audio_stream (libwsc linked in statically), all into PREFIX, in
# FreeSWITCH's classic single-directory layout (--disable-fhs): PREFIX/bin, lib, mod, conf, certs, log,
# db, run, sounds. Libraries carry an rpath to PREFIX/lib, so nothing needs LD_LIBRARY_PATH.
#
# PREFIX defaults to $CALLBRIDGE_FREESWITCH_CACHE/<stamp> (default ~/.cache/callbridge/freeswitch). The
# stamp is a hash of the tarballs' checksums, docker/modules.conf and this recipe's revision: a second run
# with the same stamp returns at once. stdout gets one line, the prefix; progress goes to stderr and each
# step's output to PREFIX/build-logs/ (kept in the work directory while building).
#
# Missing Debian build dependencies are installed with apt-get when run as root. The build runs under
# nice (CALLBRIDGE_BUILD_NICE, default 10) and idle I/O priority; CALLBRIDGE_BUILD_JOBS (default nproc)
# sets make's parallelism.
set -Eeuo pipefail

# Bump when the recipe changes what it produces (configure options, steps): it is part of the stamp.
readonly RECIPE_REVISION=1
readonly HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly MODULES_CONF=$HERE/modules.conf

# The pinned commits (the Dockerfile's *_COMMIT arguments must agree; tests/config checks it).
declare -rA PINS=(
    [freeswitch]=a88d069d6ffb74df797bcaf001f7e63181c07a09       # v1.10.12
    [sofia-sip]=6198851a610b7889c17e2d98fb84617bc1dd7aec        # v1.13.17
    [spandsp]=0c7bcebef4f057b99832a338aafab7e379ef1395          # master of 2026-06-16
    [libks]=bae185d56da5b36807b539af0388403e85379305            # v2.0.11
    [mod_audio_stream]=ec2a781026a1c09b0c3a6161b8b896f0b9305922 # the fixtures' commit
    [libwsc]=09d18e5db9243a996692261a7a0839c9c346bc47           # mod_audio_stream's libs/libwsc submodule
)
readonly SOURCES=(libks sofia-sip spandsp freeswitch mod_audio_stream libwsc)

# Debian 12 packages the build needs (the Dockerfile installs only git and ca-certificates itself).
readonly BUILD_DEPS=(
    autoconf automake build-essential ca-certificates cmake git libtool libtool-bin pkg-config nasm yasm
    libcurl4-openssl-dev libedit-dev libevent-dev libflac-dev libjpeg-dev libogg-dev libopus-dev
    libpcre3-dev libsndfile1-dev libspeex-dev libspeexdsp-dev libsqlite3-dev libssl-dev libtiff-dev
    libvorbis-dev uuid-dev zlib1g-dev
)

say() { echo "build-freeswitch: $*" >&2; }
die() { say "error: $*"; exit 1; }
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

declare -A TARBALL=() # source name -> tarball path

find_tarballs() { # find_tarballs SRC_DIR: one tarball per source, listed in SHA256SUMS
    local src=$1 name matches
    [[ -f $src/SHA256SUMS ]] || die "no SHA256SUMS in $src"
    for name in "${SOURCES[@]}"; do
        matches=("$src/$name"-*.tar.gz)
        [[ -f ${matches[0]} ]] || die "no $name-*.tar.gz in $src"
        (( ${#matches[@]} == 1 )) || die "more than one $name-*.tar.gz in $src: ${matches[*]}"
        grep -qE "^[0-9a-f]{64}  ${matches[0]##*/}\$" "$src/SHA256SUMS" \
            || die "${matches[0]##*/} is not listed in $src/SHA256SUMS"
        TARBALL[$name]=${matches[0]}
    done
}

compute_stamp() { # the hash of the checksums, modules.conf and the recipe revision (16 hex digits)
    local name
    {
        echo "recipe $RECIPE_REVISION"
        for name in "${SOURCES[@]}"; do grep -E "  ${TARBALL[$name]##*/}\$" "$(dirname "${TARBALL[$name]}")/SHA256SUMS"; done
        echo "modules.conf"
        grep -vE '^[[:space:]]*(#|$)' "$MODULES_CONF"
    } | sha256sum | cut -c1-16
}

step_dependencies() {
    local missing=() package
    for package in "${BUILD_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if (( ${#missing[@]} == 0 )); then echo "all build dependencies installed"; return; fi
    [[ $(id -u) == 0 ]] || { echo "missing: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})"; return 1; }
    echo "installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

step_verify() { # checksums, then the commit git archive recorded in each tarball
    local name commit
    for name in "${SOURCES[@]}"; do
        (cd "$(dirname "${TARBALL[$name]}")" && grep -E "  ${TARBALL[$name]##*/}\$" SHA256SUMS | sha256sum --check --strict)
        # What `git get-tar-commit-id` reads: git archive's first header, a pax "comment=<commit>" record.
        # (Process substitution, so gzip's SIGPIPE when head stops reading does not fail the pipeline.)
        commit=$(head -c 1024 < <(gzip -dc "${TARBALL[$name]}" 2>/dev/null) | grep -aoE 'comment=[0-9a-f]{40}' \
            | head -n 1 | cut -d= -f2) || commit=""
        [[ $commit == "${PINS[$name]}" ]] \
            || { echo "${TARBALL[$name]} holds commit '${commit:-none}', expected ${PINS[$name]}"; return 1; }
        echo "$name: ${PINS[$name]}"
    done
}

step_unpack() {
    local name dir
    rm -rf "$WORK/src" && mkdir -p "$WORK/src"
    for name in "${SOURCES[@]}"; do
        dir=$(basename "${TARBALL[$name]}" .tar.gz)
        tar -xzf "${TARBALL[$name]}" -C "$WORK/src"
        [[ -d $WORK/src/$dir ]] || { echo "${TARBALL[$name]} did not unpack into $dir/"; return 1; }
        ln -sfn "$dir" "$WORK/src/$name"
    done
    # mod_audio_stream's libs/libwsc is a submodule: an empty directory in its snapshot.
    rm -rf "$WORK/src/mod_audio_stream/libs/libwsc"
    cp -a "$WORK/src/libwsc/." "$WORK/src/mod_audio_stream/libs/libwsc/"
}

step_libks() {
    cd "$WORK/src/libks"
    # WITH_PACKAGING runs `git describe` for a Debian changelog: meaningless (and wrong) in a snapshot.
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DWITH_PACKAGING=OFF \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_RPATH="$PREFIX/lib"
    cmake --build build -j "$JOBS" --target ks2
    cmake --install build --component runtime
}

step_sofia_sip() {
    cd "$WORK/src/sofia-sip"
    ./bootstrap.sh
    ./configure --prefix="$PREFIX" --with-pic --with-glib=no --without-doxygen --disable-stun
    make -j "$JOBS"
    make install
}

step_spandsp() {
    cd "$WORK/src/spandsp"
    ./bootstrap.sh
    ./configure --prefix="$PREFIX" --with-pic
    make -j "$JOBS"
    make install
}

step_freeswitch() {
    cd "$WORK/src/freeswitch"
    cp "$MODULES_CONF" modules.conf
    ./bootstrap.sh -j
    # --disable-fhs: with an explicit prefix configure would otherwise scatter an FHS tree inside it
    # (PREFIX/lib/freeswitch/mod, PREFIX/etc/freeswitch, PREFIX/var/...). Ours is the classic layout.
    ./configure --prefix="$PREFIX" --disable-fhs
    make -j "$JOBS"
    make install
}

step_mod_audio_stream() {
    cd "$WORK/src/mod_audio_stream"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUSE_TLS=ON -DCMAKE_INSTALL_PREFIX="$PREFIX" \
        -DCMAKE_INSTALL_RPATH="$PREFIX/lib"
    cmake --build build -j "$JOBS"
    # Only the module: libwsc is linked in statically and its headers are not wanted anywhere.
    cmake --install build --component mod_audio_stream
}

step_check() { # the layout the Dockerfile, the harness and docs/admin.md rely on, and every library found
    local module missing=0 object
    for path in bin/freeswitch bin/fs_cli mod/mod_audio_stream.so conf/freeswitch.xml; do
        [[ -e $PREFIX/$path ]] || { echo "missing $PREFIX/$path"; missing=1; }
    done
    while read -r module; do
        module=${module##*/}
        [[ -f $PREFIX/mod/$module.so ]] || { echo "module $module was not built"; missing=1; }
    done < <(grep -vE '^[[:space:]]*(#|$)' "$MODULES_CONF")
    for object in "$PREFIX"/bin/freeswitch "$PREFIX"/bin/fs_cli "$PREFIX"/mod/*.so; do
        if ldd "$object" | grep -q 'not found'; then echo "$object: $(ldd "$object" | grep 'not found')"; missing=1; fi
    done
    "$PREFIX/bin/freeswitch" -version
    return "$missing"
}

run_step() { # run_step NAME FUNCTION: the function's output to its log, its time to stderr
    local name=$1 function=$2 log started status
    STEP=$((STEP + 1))
    log=$WORK/logs/$(printf '%02d' "$STEP")-$name.log
    started=$SECONDS
    say "$name ..."
    set +e
    (set -Eeuo pipefail; "$function") >"$log" 2>&1
    status=$?
    set -e
    if (( status != 0 )); then
        tail -n 40 "$log" >&2
        die "$name failed (status $status) after $(elapsed $((SECONDS - started))); the whole log: $log"
    fi
    say "$name done in $(elapsed $((SECONDS - started)))"
}

main() {
    local print_stamp=false
    if [[ ${1:-} == --stamp ]]; then print_stamp=true; shift; fi
    if [[ $# -lt 1 || $# -gt 2 || ($print_stamp == true && $# -ne 1) ]]; then
        echo "usage: $0 SRC_DIR [PREFIX] | $0 --stamp SRC_DIR" >&2
        exit 2
    fi
    local src
    src=$(cd "$1" && pwd) || die "no source directory $1"
    find_tarballs "$src"
    local stamp
    stamp=$(compute_stamp)
    if $print_stamp; then echo "$stamp"; return; fi

    PREFIX=${2:-${CALLBRIDGE_FREESWITCH_CACHE:-$HOME/.cache/callbridge/freeswitch}/$stamp}
    [[ $PREFIX == /* ]] || PREFIX=$PWD/$PREFIX
    readonly PREFIX
    local stamp_file=$PREFIX/.callbridge-build-stamp
    if [[ -f $stamp_file && $(<"$stamp_file") == "$stamp" ]]; then
        say "already built (stamp $stamp) in $PREFIX"
        echo "$PREFIX"
        return
    fi

    WORK=${CALLBRIDGE_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callbridge/freeswitch-build/$stamp}
    readonly WORK JOBS=${CALLBRIDGE_BUILD_JOBS:-$(nproc)}
    mkdir -p "$WORK/logs" "$(dirname "$PREFIX")"
    # One build per stamp at a time: a second caller waits, then finds the stamp.
    exec 9>"$WORK/.lock"
    flock 9
    if [[ -f $stamp_file && $(<"$stamp_file") == "$stamp" ]]; then
        say "built by another run meanwhile (stamp $stamp) in $PREFIX"
        echo "$PREFIX"
        return
    fi
    # A prefix we started (a failed or older build) is ours to clear; anything else is not.
    local marker=$PREFIX/.callbridge-building
    if [[ -d $PREFIX && -n $(ls -A "$PREFIX") ]]; then
        [[ -f $marker || -f $stamp_file ]] || die "$PREFIX exists and was not made by this script; refusing to build into it"
        say "clearing the unfinished or outdated build in $PREFIX"
        rm -rf "$PREFIX"
    fi
    mkdir -p "$PREFIX"
    echo "$stamp" >"$marker"
    rm -f "$WORK"/logs/*.log

    renice -n "${CALLBRIDGE_BUILD_NICE:-10}" -p $$ >/dev/null
    ionice -c 3 -p $$ 2>/dev/null || true
    export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig LDFLAGS="-Wl,-rpath,$PREFIX/lib ${LDFLAGS:-}"
    STEP=0
    local started=$SECONDS
    say "building stamp $stamp into $PREFIX (work $WORK, $JOBS jobs, logs in $WORK/logs)"
    run_step verify step_verify
    run_step dependencies step_dependencies
    run_step unpack step_unpack
    run_step libks step_libks
    run_step sofia-sip step_sofia_sip
    run_step spandsp step_spandsp
    run_step freeswitch step_freeswitch
    run_step mod_audio_stream step_mod_audio_stream
    run_step check step_check

    rm -rf "$PREFIX/build-logs" && cp -a "$WORK/logs" "$PREFIX/build-logs"
    rm -rf "$WORK/src"
    echo "$stamp" >"$stamp_file"
    rm -f "$marker"
    say "built FreeSWITCH (stamp $stamp) in $(elapsed $((SECONDS - started))) into $PREFIX"
    echo "$PREFIX"
}

main "$@"
