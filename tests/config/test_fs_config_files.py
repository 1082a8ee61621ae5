"""The FreeSWITCH configuration parses, is complete, is hardened, and agrees with app.config.Settings."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from fsxml import REFERENCE_ENVIRONMENT, Preprocessed, configuration, params, section

from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILES = sorted((REPO / "freeswitch-conf").rglob("*.xml")) + sorted((REPO / "dialplan").rglob("*.xml"))
Preprocess = Callable[[Mapping[str, str]], Preprocessed]


def defaults() -> Settings:
    return Settings.model_validate({})


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_is_well_formed_xml_on_its_own(path: Path) -> None:
    ET.parse(path)


def test_the_preprocessed_document_parses(loaded: Preprocessed) -> None:
    document = loaded.parse()
    assert document.tag == "document"
    assert {s.get("name") for s in document.findall("section")} == {"configuration", "dialplan", "directory"}


def test_every_file_is_reached_by_an_include(loaded: Preprocessed, conf_dir: Path) -> None:
    reached = {p.resolve() for p in loaded.included_files}
    unreached = [p for p in conf_dir.rglob("*.xml") if p.resolve() not in reached]
    assert not unreached, f"files no include reaches: {unreached}"


def test_every_include_matches_a_file(loaded: Preprocessed) -> None:
    assert not loaded.missing_includes


@pytest.mark.parametrize("environ", [REFERENCE_ENVIRONMENT, {}], ids=["configured", "empty-environment"])
def test_every_variable_is_defined_before_use(preprocess: Preprocess, environ: Mapping[str, str]) -> None:
    assert not preprocess(environ).undefined


def test_environment_overrides_a_default(preprocess: Preprocess) -> None:
    changed = preprocess({**REFERENCE_ENVIRONMENT, "CALLBRIDGE_ESL_PORT": "18021"})
    esl = params(configuration(changed.parse(), "event_socket.conf").find("settings"))  # type: ignore[arg-type]
    assert esl["listen-port"] == "18021"


def _esl(result: Preprocessed) -> dict[str, str]:
    settings = configuration(result.parse(), "event_socket.conf").find("settings")
    assert settings is not None
    return params(settings)


def test_event_socket_listens_on_loopback_at_the_settings_port(loaded: Preprocessed) -> None:
    esl = _esl(loaded)
    assert esl["listen-ip"] == "127.0.0.1" == defaults().esl_host
    assert int(esl["listen-port"]) == defaults().esl_port


def test_event_socket_acl_admits_loopback_only(loaded: Preprocessed) -> None:
    document = loaded.parse()
    acl_name = _esl(loaded)["apply-inbound-acl"]
    lists = configuration(document, "acl.conf").find("network-lists")
    assert lists is not None
    acl = lists.find(f"list[@name='{acl_name}']")
    assert acl is not None, f"ACL {acl_name!r} is not defined"
    assert acl.get("default") == "deny"
    allowed = {node.get("cidr") for node in acl.findall("node") if node.get("type") == "allow"}
    assert allowed <= {"127.0.0.1/32", "::1/128"}


def test_event_socket_password_comes_from_the_shared_variable(preprocess: Preprocess) -> None:
    assert defaults().esl_password is None, "the Python side must not have a default password either"
    result = preprocess({"CALLBRIDGE_ESL_PASSWORD": "from-the-environment"})
    assert _esl(result)["password"] == "from-the-environment"


@pytest.mark.parametrize("environ", [{}, {"CALLBRIDGE_ESL_PASSWORD": ""}], ids=["unset", "empty"])
def test_event_socket_password_fails_closed(preprocess: Preprocess, environ: Mapping[str, str]) -> None:
    # mod_event_socket turns an empty password into ClueCon: without a value, nobody may know it.
    first, second = _esl(preprocess(environ))["password"], _esl(preprocess(environ))["password"]
    assert re.fullmatch(r"[0-9a-f]{48}", first), first
    assert first != second


def test_directory_password_fails_closed(preprocess: Preprocess) -> None:
    user = section(preprocess({}).parse(), "directory").find(".//user")
    assert user is not None
    password = params(user.find("params"))["password"]  # type: ignore[arg-type]
    assert re.fullmatch(r"[0-9a-f]{48}", password), password


def _all_values(element: ET.Element) -> list[str]:
    return [value for node in element.iter() for value in node.attrib.values()]


@pytest.mark.parametrize("environ", [REFERENCE_ENVIRONMENT, {}], ids=["configured", "empty-environment"])
def test_no_vanilla_password_is_accepted_anywhere(preprocess: Preprocess, environ: Mapping[str, str]) -> None:
    document = preprocess(environ).parse()
    assert not [v for v in _all_values(document) if "cluecon" in v.lower()]
    passwords = [p.get("value", "") for p in document.iter("param") if p.get("name") == "password"]
    assert len(passwords) >= 2, "expected the event socket and directory passwords"
    secrets = [p for p in passwords if p not in {"", "$${twilio_password}"}]
    assert "1234" not in passwords
    # An empty event socket password would become ClueCon inside mod_event_socket.
    assert _esl(preprocess(environ))["password"] != ""
    assert secrets


def test_verto_clients_may_not_run_api_commands(loaded: Preprocessed) -> None:
    domain = section(loaded.parse(), "directory").find("domain")
    assert domain is not None
    domain_params = params(domain.find("params"))  # type: ignore[arg-type]
    assert domain_params["jsonrpc-allowed-methods"] == "verto"
    assert "jsonrpc-allowed-fsapi" not in domain_params and "jsonrpc-allowed-jsapi" not in domain_params


def test_plain_websocket_verto_is_loopback_only_by_default(loaded: Preprocessed) -> None:
    profile = configuration(loaded.parse(), "verto.conf").find("profiles/profile")
    assert profile is not None
    bindings = [(p.get("value", ""), p.get("secure")) for p in profile.findall("param[@name='bind-local']")]
    plain = [value for value, secure in bindings if secure != "true"]
    assert plain and all(value.startswith("127.0.0.1:") for value in plain)
    assert any(secure == "true" for _, secure in bindings)
    assert params(profile)["context"] == "default"


def _profiles(document: ET.Element) -> dict[str, ET.Element]:
    profiles = configuration(document, "sofia.conf").find("profiles")
    assert profiles is not None
    return {p.get("name", ""): p for p in profiles.findall("profile")}


def test_trunk_gateways_are_the_settings_gateways(loaded: Preprocessed) -> None:
    external = _profiles(loaded.parse())["external"]
    gateways = {g.get("name"): params(g) for g in external.findall("gateways/gateway")}
    assert set(gateways) == set(defaults().gateway_names)
    for name, gateway in gateways.items():
        assert gateway["register"] == "false", name
        assert gateway["context"] == "public", name


def test_profiles_route_untrusted_calls_to_public_and_authenticate_users(loaded: Preprocessed) -> None:
    profiles = _profiles(loaded.parse())
    external = params(profiles["external"].find("settings"))  # type: ignore[arg-type]
    internal = params(profiles["internal"].find("settings"))  # type: ignore[arg-type]
    assert external["context"] == "public"
    assert external["disable-transfer"] == "true"
    assert internal["context"] == "default"
    assert internal["auth-calls"] == "true"
    assert internal["accept-blind-reg"] == "false"


def test_capacity_limits_cover_the_controller(loaded: Preprocessed) -> None:
    switch = params(configuration(loaded.parse(), "switch.conf").find("settings"))  # type: ignore[arg-type]
    assert int(switch["max-sessions"]) >= defaults().max_calls
    assert float(switch["sessions-per-second"]) >= defaults().max_cps
    assert int(switch["rtp-start-port"]) < int(switch["rtp-end-port"])
