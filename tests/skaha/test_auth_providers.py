"""The built-in auth providers: bearer token, X.509 proxy certificate, OIDC device login."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from canfar_core import config
from canfar_core.auth import AuthProvider, get_provider
from canfar_core.contexts import Context
from canfar_core.errors import AuthError, ValidationError
from canfar_plugins.auth import x509
from canfar_plugins.auth.oidc import OIDCProvider
from canfar_plugins.auth.tokens import token_claims
from canfar_plugins.skaha.http import mask
from tests.skaha.fakeidp import FakeIdP, make_jwt

# Certificates for "CN=jdoe, O=hia": one that ended on 2024-01-31, one valid until 2099.
EXPIRED_PEM = """-----BEGIN CERTIFICATE-----
MIIBqTCCARICAQEwDQYJKoZIhvcNAQELBQAwHTENMAsGA1UEAwwEamRvZTEMMAoG
A1UECgwDaGlhMB4XDTI0MDEwMTAwMDAwMFoXDTI0MDEzMTAwMDAwMFowHTENMAsG
A1UEAwwEamRvZTEMMAoGA1UECgwDaGlhMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB
iQKBgQDUEIIXv0JccYueCN7nd/aAHmcpQZtQBlMQ9xBlRVkDs5JZJoR0/qoFSNXv
lnBvNzYzamam1R5wv/PF08kL8DvG/rRookDXxugQ30jXrq48nv7qNhEhWS+oW8IR
Geu1OJwJ+DMKY9G5a+IgHvMh3dF5WrGcF3HzVvBwOgCeMxcySwIDAQABMA0GCSqG
SIb3DQEBCwUAA4GBANGTxtTL+/RtjBoUTToPVc+dsqvTQhgzUT41qWDCAqn0nSMU
/mo5JrzFB/mrgfmLygrLR7TbM6ES+EqW4//q3IzjeECQdAlBKwxJ+dLW8tmdjpV9
dY3/0w1MXnq0KXm2QCuELEl6g+HePgAxJnbrsjvyAtO7N4u8jIqENmoZbEtI
-----END CERTIFICATE-----
"""
VALID_PEM = """-----BEGIN CERTIFICATE-----
MIIBqzCCARQCAQEwDQYJKoZIhvcNAQELBQAwHTENMAsGA1UEAwwEamRvZTEMMAoG
A1UECgwDaGlhMCAXDTI0MDEwMTAwMDAwMFoYDzIwOTkxMjMxMDAwMDAwWjAdMQ0w
CwYDVQQDDARqZG9lMQwwCgYDVQQKDANoaWEwgZ8wDQYJKoZIhvcNAQEBBQADgY0A
MIGJAoGBAM1pLxdgao6DmxcdWAj9YjhlzoLtlUeuOj0OtG0c5iolffY+I50pReNU
QnfSnQkWW21z6Yupjxd/9C9XLCbgfjd9lAUAuQUdU8HHgiJxWrJpOTFdq0MzSbBA
xk1rAGAnMBiDQ4BvaLzuLbuHSzO0swV5yGhyZ2ExZIacjuWdDyJhAgMBAAEwDQYJ
KoZIhvcNAQELBQADgYEAlmdaPN42nIisOQcA2ln0LRUMEr9TN0GcaaJ2vVRXjX4p
vFMzB579DaCgCY53w4eZV/rclzb1j5utv1ckH2tzs40YcsKWBSLX9uWe+S068FJ6
apGQ9V/JcLwWtRIFu5TGNqpcFqgcrlaOQX/eh3ThYN9hB0yXS9dTdkMKmdXE2UQ=
-----END CERTIFICATE-----
"""
KEY = "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"


def _cryptography_installed() -> bool:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


can_parse_certificates = pytest.mark.skipif(
    shutil.which("openssl") is None and not _cryptography_installed(),
    reason="needs openssl or cryptography",
)


def context(name: str = "site", auth: str = "token", **options) -> Context:
    return Context(
        name=name,
        backend="canfar",
        url="https://sp.example.org/skaha",
        auth=auth,
        options=dict(options),
    )


class FakeHttp:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.cert: str | None = None


def test_builtin_providers_follow_the_protocol():
    for name in ("token", "x509", "oidc"):
        provider = get_provider(name)
        assert isinstance(provider, AuthProvider)
        assert provider.name == name


def test_mask_never_shows_a_secret():
    secret = "eyJhbGciOiJSUzI1NiJ9.payload-of-a-long-token"
    shown = mask(secret)
    assert secret not in shown
    assert secret[8:] not in shown
    assert mask("short") == "…(5 characters)"


# -- token ----------------------------------------------------------------------------------


def test_token_is_sent_as_bearer():
    http = FakeHttp()
    get_provider("token").apply(http, context(), {"token": "abc"})
    assert http.headers["Authorization"] == "Bearer abc"


def test_expired_jwt_is_refused_before_sending_with_the_command_to_run():
    token = make_jwt({"preferred_username": "jdoe", "exp": int(time.time()) - 60})
    with pytest.raises(AuthError) as caught:
        get_provider("token").check(context(), {"token": token})
    message = str(caught.value)
    assert "expired" in message
    assert (
        "canfar auth login --url https://sp.example.org/skaha --token-stdin --name site" in message
    )
    assert token not in message


def test_token_status_reads_user_and_expiry_from_claims():
    exp = int(time.time()) + 3600
    status = get_provider("token").status(
        context(), {"token": make_jwt({"sub": "x", "preferred_username": "jdoe", "exp": exp})}
    )
    assert (status.user, status.valid) == ("jdoe", True)
    assert status.expires == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
    opaque = get_provider("token").status(context(), {"token": "opaque"})
    assert (opaque.user, opaque.expires, opaque.valid) == (None, None, True)
    missing = get_provider("token").status(context(), {})
    assert not missing.valid


def test_token_claims_of_non_jwts_are_empty():
    assert token_claims("abc") == {}
    assert token_claims("a.b.c") == {}


def test_token_login_refuses_empty_and_multi_word_input():
    provider = get_provider("token")
    with pytest.raises(ValidationError, match="empty"):
        provider.login(context(), token="  \n")
    with pytest.raises(ValidationError, match="spaces"):
        provider.login(context(), token="two words")
    assert provider.login(context(), token=" abc\n") == {"token": "abc"}


# -- x509 -----------------------------------------------------------------------------------


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    path = tmp_path / "proxy.pem"
    path.write_text(VALID_PEM + KEY)
    return path


@can_parse_certificates
def test_certificate_expiry_and_subject_are_read_from_the_file(cert):
    info = x509.read_certificate(cert)
    assert info.expires is not None
    assert info.expires.year == 2099
    assert info.subject == "jdoe"


@can_parse_certificates
def test_certificate_is_attached_and_checked(cert):
    provider = get_provider("x509")
    http = FakeHttp()
    provider.check(context(auth="x509", cert=str(cert)), {})
    provider.apply(http, context(auth="x509", cert=str(cert)), {})
    assert http.cert == str(cert)


@can_parse_certificates
def test_expired_certificate_is_refused_and_a_renewed_one_accepted(cert):
    provider = get_provider("x509")
    site = context(auth="x509", cert=str(cert))
    cert.write_text(EXPIRED_PEM + KEY)
    with pytest.raises(AuthError) as caught:
        provider.check(site, {})
    assert f"certificate {cert} expired on 2024-01-31T00:00:00Z" in str(caught.value)
    assert "canfar auth login site" in str(caught.value)
    # renewed by another tool: the file is read again, nothing stored is trusted
    cert.write_text(VALID_PEM + KEY)
    provider.check(site, {})
    assert provider.status(site, {}).valid


def test_missing_certificate_names_the_path(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(AuthError, match=f"certificate {missing} does not exist"):
        get_provider("x509").check(context(auth="x509", cert=str(missing)), {})


def test_without_cryptography_or_openssl_the_check_is_skipped_with_a_note(cert, monkeypatch):
    monkeypatch.setattr(x509, "_with_cryptography", lambda pem: None)
    monkeypatch.setenv("PATH", "")
    cert.write_text(EXPIRED_PEM + KEY)
    site = context(auth="x509", cert=str(cert))
    get_provider("x509").check(site, {})  # cannot tell: the server will
    status = get_provider("x509").status(site, {})
    assert status.valid
    assert "install the cryptography package or openssl" in status.detail
    assert f"({sys.executable} -m pip install cryptography)" in status.detail


@can_parse_certificates
def test_x509_login_records_the_path_and_no_secret(cert):
    site = context(auth="x509")
    assert get_provider("x509").login(site, cert=str(cert)) == {}
    assert site.options["cert"] == str(cert.resolve())


# -- oidc -----------------------------------------------------------------------------------


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    server = FakeIdP().start()
    yield server
    server.stop()


def oidc_context(idp: FakeIdP) -> Context:
    return context(name="src", auth="oidc", issuer=idp.issuer)


def saved(name: str) -> dict:
    return config.credentials_file().read()[name]


def test_device_login_and_saved_client_is_reused(canfar_home, idp):
    provider = OIDCProvider(sleep=lambda s: None)
    shown: list[str] = []
    site = oidc_context(idp)
    secrets = provider.login(site, echo=shown.append)
    assert any("WXYZ-1234" in line for line in shown)
    assert any(f"{idp.issuer}activate" in line for line in shown)
    assert token_claims(secrets["access_token"])["preferred_username"] == "jdoe"
    assert secrets["refresh_token"] in idp.refresh_tokens
    assert secrets["client_id"] == "client-1"
    site.save_credentials(secrets)
    # a second login, even to another context of the same issuer, registers no new client
    provider.login(site, echo=shown.append)
    other = context(name="other", auth="oidc", issuer=idp.issuer)
    assert provider.login(other, echo=shown.append)["client_id"] == "client-1"
    assert len(idp.registrations) == 1


def test_access_token_is_refreshed_near_expiry_and_saved(canfar_home, idp):
    provider = OIDCProvider(sleep=lambda s: None)
    site = oidc_context(idp)
    secrets = provider.login(site, echo=lambda m: None)
    secrets["expires_at"] = time.time() + 10  # within the refresh margin
    site.save_credentials(secrets)
    http = FakeHttp()
    provider.apply(http, site, site.credentials())
    assert idp.refreshes == 1
    fresh = saved("src")
    assert fresh["access_token"] != secrets["access_token"]
    assert fresh["expires_at"] > time.time() + 3000
    assert http.headers["Authorization"] == f"Bearer {fresh['access_token']}"
    # still fresh: no second refresh
    provider.apply(FakeHttp(), site, site.credentials())
    assert idp.refreshes == 1


def test_a_refused_refresh_says_to_log_in_again(canfar_home, idp):
    provider = OIDCProvider(sleep=lambda s: None)
    site = oidc_context(idp)
    secrets = provider.login(site, echo=lambda m: None)
    secrets.update(expires_at=time.time() - 5, refresh_token="revoked")
    with pytest.raises(AuthError) as caught:
        provider.apply(FakeHttp(), site, secrets)
    assert "refresh token expired" in str(caught.value)
    assert "canfar auth login src" in str(caught.value)


def test_a_denied_login(canfar_home, idp):
    idp.deny = True
    with pytest.raises(AuthError, match="refused"):
        OIDCProvider(sleep=lambda s: None).login(oidc_context(idp), echo=lambda m: None)


def test_not_an_issuer(canfar_home, fake_skaha):
    with pytest.raises(AuthError, match="not an OpenID issuer"):
        OIDCProvider().login(context(auth="oidc", issuer=fake_skaha.url), echo=lambda m: None)


def test_an_issuer_that_cannot_be_reached_is_said_to_be_unreachable(canfar_home):
    from canfar_core.errors import ConnectionFailed

    unreachable = "http://127.0.0.1:9/realms/x"  # the discard port: nothing listens
    with pytest.raises(
        ConnectionFailed, match=r"cannot reach the OpenID issuer http://127\.0\.0\.1:9/"
    ):
        OIDCProvider().login(context(auth="oidc", issuer=unreachable), echo=lambda m: None)


def test_environment_token_overrides_saved_oidc_tokens(canfar_home):
    http = FakeHttp()
    OIDCProvider().apply(http, context(auth="oidc"), {"token": "from-env", "access_token": "old"})
    assert http.headers["Authorization"] == "Bearer from-env"


def test_credentials_file_is_private(canfar_home, idp):
    site = oidc_context(idp)
    site.save_credentials(OIDCProvider(sleep=lambda s: None).login(site, echo=lambda m: None))
    path = config.credentials_file().path
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["src"]["issuer"] == idp.issuer
    assert requests.get(idp.issuer + ".well-known/openid-configuration", timeout=5).ok
