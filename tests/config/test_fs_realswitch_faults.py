"""Faults the real FreeSWITCH 1.10.12 showed in our configuration, kept fixed where no switch runs.

tests/realswitch checks the same on a running switch (no warning at start-up, every module loaded).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

from fsxml import REFERENCE_ENVIRONMENT, Preprocessed, configuration, params, section

Preprocess = Callable[[Mapping[str, str]], Preprocessed]


def _profiles(document: ET.Element) -> dict[str, ET.Element]:
    sofia = configuration(document, "sofia.conf")
    return {profile.get("name", ""): profile for profile in sofia.iter("profile")}


def test_no_profile_uses_the_deprecated_rtp_timeouts(loaded: Preprocessed) -> None:
    # 1.10.12 logs "rtp-timeout-sec deprecated use media_timeout variable" (and the hold variant).
    for name, profile in _profiles(loaded.parse()).items():
        settings = params(profile.find("settings"))  # type: ignore[arg-type]
        assert not {"rtp-timeout-sec", "rtp-hold-timeout-sec"} & set(settings), name


def test_media_timeouts_are_global_variables_every_channel_reads(loaded: Preprocessed) -> None:
    assert loaded.variables["media_timeout"] == "60000"  # ms: the old rtp-timeout-sec=60
    assert loaded.variables["media_hold_timeout"] == "1800000"  # the old rtp-hold-timeout-sec=1800


def test_mod_opus_has_its_configuration(loaded: Preprocessed) -> None:
    # Without opus.conf.xml mod_opus logs "Opening of opus.conf failed".
    document = loaded.parse()
    loads = {node.get("module") for node in configuration(document, "modules.conf").iter("load")}
    assert "mod_opus" in loads
    opus = params(configuration(document, "opus.conf").find("settings"))  # type: ignore[arg-type]
    assert opus["use-vbr"] == "1" and opus["keep-fec-enabled"] == "1"


def test_freeswitch_local_ip_moves_every_listener(preprocess: Preprocess) -> None:
    document = preprocess({**REFERENCE_ENVIRONMENT, "FREESWITCH_LOCAL_IP": "127.0.0.1"}).parse()
    for name, profile in _profiles(document).items():
        settings = params(profile.find("settings"))  # type: ignore[arg-type]
        assert (settings["sip-ip"], settings["rtp-ip"]) == ("127.0.0.1", "127.0.0.1"), name
    verto = configuration(document, "verto.conf")
    binds = [p.get("value") for p in verto.iter("param") if p.get("name") == "bind-local"]
    assert all(bind and bind.startswith("127.0.0.1:") for bind in binds), binds
    directory = section(document, "directory")
    assert directory.find("domain").get("name") == "127.0.0.1"  # type: ignore[union-attr]


def test_the_plain_websocket_port_is_an_environment_setting(preprocess: Preprocess) -> None:
    document = preprocess({**REFERENCE_ENVIRONMENT, "FREESWITCH_VERTO_WS_PORT": "18081"}).parse()
    binds = [
        p.get("value")
        for p in configuration(document, "verto.conf").iter("param")
        if p.get("name") == "bind-local"
    ]
    assert "127.0.0.1:18081" in binds


def test_the_sample_configuration_never_reaches_the_image() -> None:
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    # Only right in the classic layout (--disable-fhs) the recipe builds: the sample is $FS_PREFIX/conf.
    assert 'rm -rf "$FS_PREFIX/conf"' in dockerfile
