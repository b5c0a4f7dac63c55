"""Logging in to CANFAR with a username and password: a proxy certificate from the credential
service listed in the same registry as the platform (a fake of both, on loopback)."""

from __future__ import annotations

import base64
import os
import select
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canfar_core import config
from tests.fakeskaha import FakeSkaha
from tests.fakeskaha.cred import CRED_URI, FakeCredentialService, make_pem, openssl_available

pytestmark = pytest.mark.skipif(not openssl_available(), reason="the fake needs openssl")

PASSWORD = "s3cret-Pa55-word"
CANFAR = Path(sys.executable).with_name("canfar")


@pytest.fixture
def cred() -> Iterator[FakeCredentialService]:
    service = FakeCredentialService({"jdoe": PASSWORD}).start()
    yield service
    service.stop()


@pytest.fixture
def cadc(fake_skaha: FakeSkaha, cred: FakeCredentialService, monkeypatch) -> FakeSkaha:
    """The fake registry lists the fake platform as CADC's and the fake credential service."""
    fake_skaha.uri = "ivo://cadc.nrc.ca/skaha"
    fake_skaha.registry_records = [(CRED_URI, cred.capabilities_url)]
    monkeypatch.setenv("CANFAR_REGISTRY_URLS", f"x509={fake_skaha.registry_url}")
    return fake_skaha


def certificate() -> Path:
    return Path(os.environ["HOME"]) / ".ssl" / "cadcproxy.pem"


def leaked_in_files(root: Path) -> list[Path]:
    """Files under ``root`` holding the password or the Basic header made of it."""
    basic = base64.b64encode(f"jdoe:{PASSWORD}".encode())
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if PASSWORD.encode() in data or basic in data:
                found.append(path)
    return found


# -- the command without a terminal ---------------------------------------------------------


def test_username_and_password_stdin_save_a_private_certificate(run, cadc, cred):
    result = run(
        "login", "cadc", "--username", "jdoe", "--password-stdin", "--no-verify",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.code == 0, result.err
    path = certificate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "-----BEGIN CERTIFICATE-----" in path.read_text()
    assert "PRIVATE KEY-----" in path.read_text()
    sent = [r for r in cred.requests if r.path == "/cred/auth/priv"]
    assert len(sent) == 1
    assert (
        sent[0].authorization == "Basic " + base64.b64encode(f"jdoe:{PASSWORD}".encode()).decode()
    )
    assert sent[0].query["daysValid"] == ["30"]
    assert "Logged in to" in result.err
    assert "as jdoe" in result.err
    assert f"Certificate saved to {path} (mode 0600), valid until 20" in result.err
    saved = config.config_file().read()
    assert saved["active"] == "canfar"
    assert saved["contexts"]["canfar"]["auth"] == "x509"
    assert saved["contexts"]["canfar"]["options"]["username"] == "jdoe"
    assert PASSWORD not in result.out + result.err
    assert leaked_in_files(Path(os.environ["HOME"])) == []
    assert leaked_in_files(config.config_dir()) == []
    status = run("auth", "status")
    assert "jdoe" in status.out
    assert "expires  20" in status.out


def test_a_wrong_password_is_one_line_and_saves_nothing(run, cadc, cred):
    result = run("login", "cadc", "--username", "jdoe", "--password-stdin", stdin="wrong\n")
    assert result.code != 0
    assert result.err.count("\n") == 1
    line = result.err.strip()
    assert "refused the username 'jdoe' with that password" in line
    assert "canfar auth login -f" in line
    assert not certificate().exists()
    assert "contexts" not in config.config_file().read()


def test_a_credential_service_that_is_down_is_one_line(run, cadc, cred):
    cred.down = True
    result = run("login", "cadc", "--username", "jdoe", "--password-stdin", stdin=PASSWORD)
    assert result.code != 0
    assert result.err.count("\n") == 1
    assert "credential service" in result.err.strip()
    assert "answered 503; try again later" in result.err.strip()
    assert not certificate().exists()


def test_a_registry_without_the_credential_service_is_one_line(run, cadc):
    cadc.registry_records = []
    result = run("login", "cadc", "--username", "jdoe", "--password-stdin", stdin=PASSWORD)
    assert result.code == 2
    assert result.err.count("\n") == 1
    line = result.err.strip()
    assert f"lists no CADC credential service ({CRED_URI})" in line
    assert "--cert PEM" in line


def test_a_valid_certificate_is_used_without_asking_and_f_asks_again(run, cadc, cred):
    path = certificate()
    path.parent.mkdir()
    path.write_text(make_pem("jdoe", 5))
    kept = run("login", "cadc", "--no-verify", terminal=True)
    assert kept.code == 0, kept.err
    assert "Using the certificate" in kept.err
    assert cred.requests == []
    again = run(
        "login", "cadc", "-f", "--username", "jdoe", "--password-stdin", "--no-verify",
        stdin=PASSWORD,
    )  # fmt: skip
    assert again.code == 0, again.err
    assert len([r for r in cred.requests if r.path == "/cred/auth/priv"]) == 1


def test_an_expired_certificate_says_so_and_asks_for_the_password(run, cadc, cred):
    from tests.skaha.test_auth_providers import EXPIRED_PEM, KEY

    path = certificate()
    path.parent.mkdir()
    path.write_text(EXPIRED_PEM + KEY)
    asked = run("login", "cadc", "--no-verify", stdin="", terminal=False)
    assert asked.code == 2
    assert f"The certificate {path} expired on 2024-01-31T00:00:00Z" in asked.err
    assert "--password-stdin" in asked.err.strip()
    renewed = run(
        "login", "cadc", "--username", "jdoe", "--password-stdin", "--no-verify",
        stdin=PASSWORD,
    )  # fmt: skip
    assert renewed.code == 0, renewed.err
    assert "expired on 2024-01-31" in renewed.err
    assert "Certificate saved to" in renewed.err
    status = run("auth", "status").out
    assert "user     jdoe" in status
    assert "expires  20" in status
    assert "expires  2024" not in status


# -- the interactive login, through a pseudo-terminal ---------------------------------------


#: The password prompt, written once echo is off: a password typed on seeing it is neither echoed
#: nor flushed away (when the prompt came before echo was off, a fast answer was lost and the
#: login waited forever).
HIDDEN_PROMPT = "Password: "


class Terminal:
    """``canfar`` run with a pseudo-terminal as its controlling terminal."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        # The child makes the terminal its controlling one (getpass opens /dev/tty), then
        # becomes canfar.
        starter = (
            "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", starter, str(CANFAR), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; saw {self.seen.decode(errors='replace')!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"ended before {text!r}: {self.seen.decode(errors='replace')!r}"
                self.seen += chunk

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                self.seen += chunk
                if not chunk and self.process.poll() is not None:
                    break
            elif self.process.poll() is not None:
                break
        code = self.process.wait(timeout=60)  # a guard against a hang, not a speed target
        os.close(self.master)
        return code


@pytest.mark.slow
def test_interactive_password_login_through_a_terminal(cadc, cred, canfar_home, tmp_path):
    home = Path(os.environ["HOME"])
    log_file = tmp_path / "canfar.log"
    env = {**os.environ, "TERM": "dumb", "CANFAR_DISABLE_PLUGINS": os.environ.get(
        "CANFAR_DISABLE_PLUGINS", ""
    )}  # fmt: skip
    terminal = Terminal(
        ["-vv", "--log-file", str(log_file), "auth", "login", "cadc", "--no-verify"], env
    )
    terminal.expect("Username:")
    terminal.send("jdoe")
    terminal.expect(HIDDEN_PROMPT)
    terminal.send(PASSWORD)
    code = terminal.finish()
    shown = terminal.seen.decode(errors="replace")
    assert code == 0, shown
    assert "Log in with your CANFAR account" in shown
    assert "Certificate saved to" in shown
    assert "valid until 20" in shown
    path = home / ".ssl" / "cadcproxy.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in shown  # not echoed, not printed, not logged on stderr
    assert log_file.read_text()  # -vv did log
    assert leaked_in_files(home) == []
    assert leaked_in_files(tmp_path) == []
    assert [r.authorization is not None for r in cred.requests if r.path == "/cred/auth/priv"] == [
        True
    ]

    # The next login asks nothing: the certificate is still valid, and the username is offered.
    again = Terminal(["auth", "login", "cadc", "-f", "--no-verify"], env)
    again.expect("Username [jdoe]:")
    again.send("")
    again.expect(HIDDEN_PROMPT)
    again.send(PASSWORD)
    assert again.finish() == 0, again.seen.decode(errors="replace")


def test_python_login_without_a_terminal_names_the_scripted_form(cadc, cred, monkeypatch):
    import io

    import canfar
    from canfar.authentication import AuthenticationError

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(AuthenticationError, match="--username NAME --password-stdin"):
        canfar.login("cadc")
    assert cred.requests == []
