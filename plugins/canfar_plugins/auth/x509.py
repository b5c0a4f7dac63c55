"""The ``x509`` auth provider: a proxy certificate (PEM with its key), such as CADC's.

The certificate's expiry is read from the file every time it is checked, never from a stored
copy, so a certificate renewed by another tool is accepted at once. The expiry is parsed with
``cryptography`` when it is installed, else with ``openssl x509 -enddate``; when neither is
available the check is skipped (and ``canfar auth status`` says so).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canfar_core.auth import Credentials
from canfar_core.errors import AuthError, ValidationError
from canfar_core.models import AuthStatus
from canfar_plugins._support.login import login_command
from canfar_plugins.auth.tokens import iso

if TYPE_CHECKING:
    from canfar_core.contexts import Context

DEFAULT_CERT = "~/.ssl/cadcproxy.pem"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


@dataclass
class CertificateInfo:
    """What could be read from a certificate file."""

    path: Path
    expires: datetime | None = None
    subject: str | None = None
    note: str = ""


def _with_cryptography(pem: bytes) -> tuple[datetime, str | None] | None:
    try:
        from cryptography import x509  # type: ignore[import-not-found,unused-ignore]
        from cryptography.x509.oid import NameOID  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    cert = x509.load_pem_x509_certificate(pem)
    expires = getattr(cert, "not_valid_after_utc", None)
    if expires is None:
        expires = cert.not_valid_after.replace(tzinfo=timezone.utc)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else None
    return expires, subject


def _with_openssl(pem: bytes) -> tuple[datetime, str | None] | None:
    import subprocess

    try:
        done = subprocess.run(
            ["openssl", "x509", "-noout", "-enddate", "-subject"],
            input=pem,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        raise ValueError(done.stderr.decode(errors="replace").strip() or "openssl failed")
    out = done.stdout.decode(errors="replace")
    match = re.search(r"notAfter=(.+)", out)
    if match is None:
        raise ValueError("openssl printed no end date")
    expires = datetime.strptime(" ".join(match.group(1).split()), "%b %d %H:%M:%S %Y %Z")
    # The first CN in certificate order: "subject=C = ca, ..., CN = jdoe" or "/C=ca/.../CN=jdoe".
    cn = re.search(r"CN\s*=\s*([^,/\n]+)", out.split("subject=", 1)[-1])
    return expires.replace(tzinfo=timezone.utc), cn.group(1).strip() if cn else None


def read_certificate(path: str | os.PathLike[str]) -> CertificateInfo:
    """The expiry and subject of the (first) certificate in a PEM file.

    Raises :class:`AuthError` when the file is missing, unreadable or holds no certificate.
    """
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise AuthError(f"certificate {file} does not exist") from None
    except OSError as exc:
        raise AuthError(f"cannot read certificate {file}: {exc.strerror}") from None
    match = _PEM.search(data.decode("ascii", errors="replace"))
    if match is None:
        raise AuthError(f"{file} holds no PEM certificate")
    pem = match.group(0).encode("ascii")
    info = CertificateInfo(path=file)
    for reader in (_with_cryptography, _with_openssl):
        try:
            found = reader(pem)
        except ValueError as exc:
            raise AuthError(f"certificate {file} cannot be read: {exc}") from None
        if found is not None:
            info.expires, info.subject = found
            return info
    from canfar_plugins._support.installer import installer

    info.note = (
        "expiry not checked: install the cryptography package or openssl to check it "
        f"({installer().command('cryptography')})"
    )
    return info


class X509Provider:
    """A client certificate on every request; its expiry checked from the file first."""

    name = "x509"

    def path(self, context: Context) -> Path:
        return Path(str(context.options.get("cert") or DEFAULT_CERT)).expanduser()

    def apply(self, http: Any, context: Context, credentials: Credentials) -> None:
        http.cert = str(self.path(context))

    def check(self, context: Context, credentials: Credentials) -> None:
        path = self.path(context)
        try:
            info = read_certificate(path)
        except AuthError as exc:
            command = login_command(context)
            raise AuthError(f"{exc}; get a certificate, then run: {command}") from None
        if info.expires is not None and info.expires <= datetime.now(timezone.utc):
            raise AuthError(
                f"certificate {path} expired on {iso(info.expires)}; renew it, "
                f"then run: {login_command(context)}"
            )

    def status(self, context: Context, credentials: Credentials) -> AuthStatus:
        result = AuthStatus(context=context.name, server=context.url or "", auth=self.name)
        try:
            info = read_certificate(self.path(context))
        except AuthError as exc:
            result.valid = False
            result.detail = str(exc)
            return result
        result.user = info.subject
        result.expires = iso(info.expires)
        result.detail = info.note or f"certificate {info.path}"
        if info.expires is not None and info.expires <= datetime.now(timezone.utc):
            result.valid = False
            result.detail = f"certificate {info.path} has expired"
        return result

    def login(self, context: Context, **options: Any) -> dict[str, Any]:
        """Use the certificate at ``cert=`` (default ``~/.ssl/cadcproxy.pem``); nothing secret
        is saved: the path goes in the context's options."""
        path = Path(str(options.get("cert") or context.options.get("cert") or DEFAULT_CERT))
        path = path.expanduser().resolve()
        try:
            info = read_certificate(path)
        except AuthError as exc:
            raise ValidationError(str(exc)) from None
        if info.expires is not None and info.expires <= datetime.now(timezone.utc):
            when = iso(info.expires)
            raise ValidationError(f"certificate {path} expired on {when}; renew it first")
        context.options["cert"] = str(path)
        return {}
