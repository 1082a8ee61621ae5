"""docs/admin.md's install steps, run here: the conf installer, and the WSS certificate check.

The real-switch tier runs the same installer on the sample configuration of a real build; here it runs
on a sample-shaped tree with the pieces that caused trouble when ours was copied on top of it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install-freeswitch-conf.sh"
CHECK = REPO / "scripts" / "check-wss-certificate.sh"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
ADMIN = (REPO / "docs" / "admin.md").read_text()
EX_CONFIG = 78


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sample_conf(conf: Path) -> None:
    """What `make install` leaves, as far as it bit us: a public context that reaches nothing of ours,
    users 1000-1019 with $${default_password}, IPv6 profiles, and vars.xml with ClueCon's neighbours."""
    files = {
        "freeswitch.xml": "<document/>",
        "vars.xml": '<X-PRE-PROCESS cmd="set" data="default_password=1234"/>',
        "dialplan/public/00_inbound_did.xml": "<include/>",
        "dialplan/default/01_example.com.xml": "<include/>",
        "directory/default/1000.xml": '<param name="password" value="$${default_password}"/>',
        "directory/default/1019.xml": '<param name="password" value="$${default_password}"/>',
        "sip_profiles/internal-ipv6.xml": "<profile/>",
        "sip_profiles/external-ipv6.xml": "<profile/>",
        "autoload_configs/event_socket.conf.xml": '<param name="password" value="ClueCon"/>',
    }
    for name, text in files.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)


def expected_tree() -> dict[str, bytes]:
    files = tree(REPO / "freeswitch-conf")
    files.update({f"dialplan/{name}": data for name, data in tree(REPO / "dialplan").items()})
    return files


def test_the_installer_replaces_the_sample_with_exactly_our_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    sample_conf(conf)
    done = subprocess.run(["bash", str(INSTALL), str(conf)], capture_output=True, text=True, check=True)
    assert tree(conf) == expected_tree()
    assert not (conf / "dialplan" / "dialplan").exists()
    assert oct(conf.stat().st_mode & 0o777) == "0o750"
    (aside,) = tmp_path.glob("conf.before-callbridge-*")
    assert (aside / "directory" / "default" / "1000.xml").is_file()  # kept, out of FreeSWITCH's way
    assert str(aside) in done.stdout


def test_the_installer_fills_a_missing_or_empty_directory(tmp_path: Path) -> None:
    for conf in (tmp_path / "new", tmp_path / "empty"):
        if conf.name == "empty":
            conf.mkdir()
        subprocess.run(["bash", str(INSTALL), str(conf)], capture_output=True, check=True)
        assert tree(conf) == expected_tree()
    assert not list(tmp_path.glob("*.before-callbridge-*"))


def test_admin_md_tells_the_admin_to_run_the_installer_and_the_check() -> None:
    assert "scripts/install-freeswitch-conf.sh <conf dir>" in ADMIN
    assert "cp -r dialplan /etc/freeswitch/dialplan`" not in ADMIN  # the step that nested ours
    assert "scripts/check-wss-certificate.sh" in ADMIN
    for script in (INSTALL, CHECK):
        subprocess.run(["bash", "-n", str(script)], check=True)
        assert os.access(script, os.X_OK)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """self-signed.pem, a CA (ca.pem), signed.pem (key, certificate by that CA), mismatched.pem."""
    d = tmp_path_factory.mktemp("certs")
    rsa = ["-newkey", "rsa:2048", "-nodes"]
    openssl(
        "req",
        "-x509",
        *rsa,
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        cwd=d,
    )
    (d / "self-signed.pem").write_bytes((d / "k.pem").read_bytes() + (d / "c.pem").read_bytes())
    openssl(
        "req",
        "-x509",
        *rsa,
        "-days",
        "30",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=d,
    )
    openssl("req", *rsa, "-subj", "/CN=voice.example", "-keyout", "l.key", "-out", "l.csr", cwd=d)
    openssl("x509", "-req", "-in", "l.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "30", "-out", "l.pem", cwd=d)  # fmt: skip
    (d / "signed.pem").write_bytes((d / "l.key").read_bytes() + (d / "l.pem").read_bytes())
    (d / "mismatched.pem").write_bytes((d / "k.pem").read_bytes() + (d / "l.pem").read_bytes())
    return d


def check(pem: Path, ca: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"CALLBRIDGE_CA_FILE": str(ca)} if ca else {})}
    return subprocess.run(
        ["bash", str(CHECK), str(pem)], capture_output=True, text=True, env=env, check=False
    )


def test_a_certificate_from_a_trusted_ca_passes(certificates: Path) -> None:
    done = check(certificates / "signed.pem", certificates / "ca.pem")
    assert done.returncode == 0, done.stderr
    assert "CN=voice.example, issued by CN=Test CA" in done.stdout


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("self-signed.pem", "self-signed"),
        ("signed.pem", "does not verify"),  # against the system's CAs, which do not know the test CA
        ("mismatched.pem", "does not belong"),
        ("missing.pem", "missing"),
    ],
)
def test_an_unfit_certificate_is_refused(certificates: Path, name: str, why: str) -> None:
    done = check(certificates / name)
    assert done.returncode == 1
    assert why in done.stderr


def entrypoint(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "CALLBRIDGE_ESL_PASSWORD": "a-long-random-secret",
        "CALLBRIDGE_SPOOL_DIR": "/nonexistent",
    }
    return subprocess.run(
        ["bash", str(ENTRYPOINT)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_entrypoint_refuses_to_start_without_a_wss_certificate(tmp_path: Path) -> None:
    done = entrypoint({"FREESWITCH_VERTO_WSS_CERTIFICATE": str(tmp_path / "wss.pem")})
    assert done.returncode == EX_CONFIG
    assert "FREESWITCH_VERTO_ALLOW_SELF_SIGNED=true" in done.stderr


def test_the_entrypoint_refuses_a_self_signed_certificate(certificates: Path) -> None:
    done = entrypoint({"FREESWITCH_VERTO_WSS_CERTIFICATE": str(certificates / "self-signed.pem")})
    assert done.returncode == EX_CONFIG
    assert "self-signed" in done.stderr and "refusing to serve Verto WSS" in done.stderr


def test_the_entrypoint_wants_true_or_false_for_self_signed(tmp_path: Path) -> None:
    done = entrypoint(
        {
            "FREESWITCH_VERTO_WSS_CERTIFICATE": str(tmp_path / "wss.pem"),
            "FREESWITCH_VERTO_ALLOW_SELF_SIGNED": "yes",
        }
    )
    assert done.returncode == EX_CONFIG
    assert "must be true or false" in done.stderr
