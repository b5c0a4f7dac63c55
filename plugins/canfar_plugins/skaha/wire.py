"""What a session request looks like on the wire, and what the wire cannot carry.

The service pastes ``cmd``, each argument and each environment value into a YAML document
inside double quotes, without escaping; it splits ``args`` on single spaces and keeps an ``env``
item only when it splits on ``=`` into exactly two non-empty-ended pieces. Values those rules
would silently drop or change are refused here, with the reason, instead of launching something
other than what was asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from canfar_core.errors import ValidationError
from canfar_core.models import SessionSpec

#: Where ``project/name`` images live when no registry host is given.
DEFAULT_REGISTRY = "images.canfar.net"
#: The request header that carries a context's registry login (``canfar_core.auth.REGISTRY_LOGIN``),
#: on session launches only.
REGISTRY_HEADER = "X-Skaha-Registry-Auth"

_UNSAFE = re.compile(r'["\\\x00-\x08\x0a-\x1f\x7f]')
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PART = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def _is_host(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost"


def normalise_image(image: str, registry: str = DEFAULT_REGISTRY) -> str:
    """The full reference the service expects.

    ``skaha/astroml`` -> ``images.canfar.net/skaha/astroml:latest``; a reference with a
    registry host, a tag or a digest keeps them.
    """
    text = image.strip()
    if not text or any(ch.isspace() for ch in text):
        raise ValidationError(f"image '{image}' is not an image reference")
    name, digest = text, ""
    if "@" in name:
        name, _, digest = name.partition("@")
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise ValidationError(f"image '{image}' has a malformed digest")
    parts = name.split("/")
    if not _is_host(parts[0]):
        parts.insert(0, registry)
    if len(parts) < 3:
        raise ValidationError(
            f"image '{image}' must be PROJECT/NAME[:TAG] (for example skaha/astroml:latest) "
            "or a full reference with its registry host"
        )
    last = parts[-1]
    repo, colon, tag = last.partition(":")
    if colon and not _TAG.fullmatch(tag):
        raise ValidationError(f"image '{image}' has a malformed tag '{tag}'")
    for part in [*parts[1:-1], repo]:
        if not _PART.fullmatch(part):
            raise ValidationError(
                f"image '{image}': '{part}' is not a valid repository name "
                "(lower-case letters, digits, and . _ - between them)"
            )
    if not colon and not digest:
        last = f"{repo}:latest"
    parts[-1] = last
    reference = "/".join(parts)
    return f"{reference}@{digest}" if digest else reference


def _unsafe_reason(value: str) -> str | None:
    match = _UNSAFE.search(value)
    if match is None:
        return None
    char = match.group(0)
    names = {'"': "a double quote", "\\": "a backslash", "\n": "a line break", "\r": "a line break"}
    return names.get(char, f"the control character {char!r}")


def check_transport(spec: SessionSpec) -> None:
    """Refuse a command, arguments or environment the service would drop or mangle."""
    if spec.cmd is not None:
        reason = _unsafe_reason(spec.cmd)
        if reason:
            raise ValidationError(
                f"the command {spec.cmd!r} contains {reason}, which the platform cannot carry"
            )
        if " " in spec.cmd.strip():
            raise ValidationError(
                f"the command {spec.cmd!r} contains a space; give the program alone as the "
                "command and its arguments as arguments (canfar create ... -- PROGRAM ARG ...)"
            )
    for arg in spec.args:
        if arg == "":
            raise ValidationError(
                "an empty argument cannot be passed: the platform joins arguments with spaces "
                "and would lose it"
            )
        if " " in arg:
            words = len(arg.split(" "))
            raise ValidationError(
                f"the argument {arg!r} contains a space; the platform splits arguments at every "
                f"space, so it would arrive as {words} arguments. Put the command in a script "
                "and run the script instead"
            )
        reason = _unsafe_reason(arg)
        if reason:
            raise ValidationError(
                f"the argument {arg!r} contains {reason}, which the platform cannot carry"
            )
    for key, value in spec.env.items():
        if value == "":
            raise ValidationError(
                f"environment variable {key} is empty; the platform drops empty values "
                "(leave it out, or give it a value)"
            )
        if "=" in value:
            raise ValidationError(
                f"environment variable {key}={value} contains '=' in its value; the platform "
                "silently drops such variables. Pass the value another way (an argument or a "
                "file)"
            )
        reason = _unsafe_reason(value)
        if reason:
            raise ValidationError(
                f"environment variable {key} contains {reason}, which the platform cannot carry"
            )


def number(value: float) -> str:
    """A number as the service reads it: ``2`` rather than ``2.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def create_form(spec: SessionSpec, replica: int) -> list[tuple[str, str]]:
    """The form fields of the create request for replica ``replica`` (1-based).

    Only the fields the service reads: ``name``, ``image``, ``type``, ``cores``, ``ram``,
    ``gpus``, ``cmd``, ``args`` (joined with single spaces) and ``env`` (repeated ``KEY=value``,
    the user's first, then ``REPLICA_ID`` and ``REPLICA_COUNT``).
    """
    form: list[tuple[str, str]] = [
        ("name", spec.replica_name(replica)),
        ("image", spec.image),
        ("type", spec.kind),
    ]
    if spec.cores is not None:
        form.append(("cores", number(spec.cores)))
    if spec.ram is not None:
        form.append(("ram", number(spec.ram)))
    if spec.gpus:
        form.append(("gpus", str(int(spec.gpus))))
    if spec.cmd is not None:
        form.append(("cmd", spec.cmd))
    if spec.args:
        form.append(("args", " ".join(spec.args)))
    form.extend(("env", f"{key}={value}") for key, value in spec.replica_env(replica).items())
    return form


def registry_auth(login: object) -> str | None:
    """The ``X-Skaha-Registry-Auth`` value for a saved registry login (``{"username": ...,
    "secret": ...}`` under ``canfar_core.auth.REGISTRY_LOGIN`` in a context's credentials),
    or ``None`` when there is none."""
    if not isinstance(login, dict):
        return None
    username, secret = login.get("username"), login.get("secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not username or not secret:
        return None
    import base64

    return base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def ranges(options: Iterable[float]) -> str:
    """``1-16`` for a run of whole numbers, else the values listed."""
    values = sorted({float(v) for v in options})
    if not values:
        return "none"
    if (
        all(v.is_integer() for v in values)
        and values == [float(v) for v in range(int(values[0]), int(values[-1]) + 1)]
        and len(values) > 2
    ):
        return f"{int(values[0])}-{int(values[-1])}"
    return ", ".join(number(v) for v in values)
