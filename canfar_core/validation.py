"""Checks on user input, made before anything is sent. Each error names the bad value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from canfar_core.errors import ValidationError
from canfar_core.models import SessionSpec

# Matched whole with fullmatch: ``$`` would also match before a trailing line break.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
ENV_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: The longest name a replica may get: the platform uses it as a DNS label (63 characters),
#: and ``-N`` is appended for replicas.
MAX_NAME_LENGTH = 58
MAX_REPLICAS = 256
MAX_CORES = 256.0
MAX_RAM_GB = 512.0
MAX_GPUS = 28
#: Longer values are cut in error messages (a 10,000-character name is not echoed whole).
MAX_SHOWN = 80


def shown(value: str, limit: int = MAX_SHOWN) -> str:
    """``value`` as an error message quotes it: cut after ``limit`` characters."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def check_name(name: str) -> str:
    if not name:
        raise ValidationError("session name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"session name '{shown(name)}' is {len(name)} characters; at most {MAX_NAME_LENGTH} fit"
        )
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationError(
            f"session name '{shown(name)}' may hold only letters, digits and '-', "
            "and must start and end with a letter or digit"
        )
    return name


def check_image(image: str) -> str:
    if not image or not image.strip():
        raise ValidationError("an image is required (for example skaha/astroml:latest)")
    if any(ch.isspace() or ch == "\x00" for ch in image) or image.startswith(("-", "/")):
        raise ValidationError(f"image {image!r} is not an image reference")
    return image


def check_replicas(replicas: int, limit: int = MAX_REPLICAS) -> int:
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise ValidationError(f"replicas must be a whole number, not {replicas!r}")
    if not 1 <= replicas <= limit:
        raise ValidationError(f"replicas must be between 1 and {limit}, not {replicas}")
    return replicas


def check_only_replicas(only: object, replicas: int) -> list[int]:
    """The chosen replica numbers: a non-empty list of distinct whole numbers in 1..replicas."""
    if isinstance(only, (str, bytes)) or not isinstance(only, Iterable):
        raise ValidationError(f"only_replicas must be a list of replica numbers, not {only!r}")
    chosen = list(only)
    if not chosen:
        raise ValidationError("only_replicas must name at least one replica")
    seen: set[int] = set()
    for number in chosen:
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValidationError(f"replica {number!r} is not a whole number")
        if not 1 <= number <= replicas:
            raise ValidationError(f"replica {number} is not between 1 and {replicas}")
        if number in seen:
            raise ValidationError(f"replica {number} is chosen twice")
        seen.add(number)
    return chosen


def check_number(label: str, value: float | None, high: float, whole: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{label} must be a number, not {value!r}")
    if whole and value != int(value):
        raise ValidationError(f"{label} must be a whole number, not {value}")
    low = 0 if label == "gpus" else 0.001
    if not low <= value <= high or value != value:  # value != value catches NaN
        raise ValidationError(f"{label} must be between {low:g} and {high:g}, not {value:g}")


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` as a dict; the value may itself contain ``=``."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValidationError(f"environment variable '{pair}' must be written KEY=VALUE")
        if not key:
            raise ValidationError(f"--env '{pair}' names no variable: write NAME=VALUE")
        if not ENV_KEY_PATTERN.fullmatch(key):
            raise ValidationError(
                f"environment variable name '{key}' in --env '{pair}' is not valid "
                "(letters, digits and _, not starting with a digit)"
            )
        env[key] = value
    check_env(env)
    return env


def check_env(env: Mapping[str, str]) -> None:
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_KEY_PATTERN.fullmatch(key):
            raise ValidationError(f"environment variable name '{key}' is not valid")
        if not isinstance(value, str):
            raise ValidationError(f"environment variable {key} must be a string, not {value!r}")
        if "\x00" in value:
            raise ValidationError(f"environment variable {key} contains a NUL character")


def check_session_id(session_id: str) -> str:
    if not isinstance(session_id, str) or not SESSION_ID_PATTERN.fullmatch(session_id):
        raise ValidationError(f"'{session_id}' is not a session id")
    return session_id


def check_utf8(label: str, value: str) -> str:
    """Refuse text that is not UTF-8: the bytes of another encoding, as Python keeps them from
    a command line (``os.fsdecode``). It could not be saved or sent."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ValidationError(f"{label} '{shown}' is not UTF-8 text") from None
    return value


def check_spec(spec: SessionSpec, *, accepts_command: bool, max_replicas: int | None) -> None:
    """Everything about a request that does not depend on the backend.

    Only the local backend passes command words and variable values that are not UTF-8 (a
    file name in another encoding) to the replica byte for byte; the others refuse them.
    """
    if isinstance(spec.image, str):
        check_utf8("image", spec.image)
    check_image(spec.image)
    check_name(spec.name)
    check_replicas(spec.replicas, max_replicas or MAX_REPLICAS)
    if spec.only_replicas is not None:
        check_only_replicas(spec.only_replicas, spec.replicas)
    check_number("cores", spec.cores, MAX_CORES)
    check_number("ram", spec.ram, MAX_RAM_GB)
    check_number("gpus", spec.gpus, MAX_GPUS, whole=True)
    check_env(spec.env)
    if not accepts_command and (spec.cmd or spec.args or spec.env):
        raise ValidationError(
            f"a {spec.kind} session takes no command, arguments or environment; "
            "only headless sessions do"
        )
    if spec.cmd is not None and not spec.cmd.strip():
        raise ValidationError("the command must not be empty")
    if not all(isinstance(arg, str) for arg in spec.args):
        raise ValidationError("arguments must be strings")
    for word in [spec.cmd or "", *spec.args]:
        if "\x00" in word:  # no operating system can pass it to a program
            raise ValidationError(f"the command word {word!r} contains a NUL character")
        if spec.backend != "local":
            check_utf8("the command word", word)
    if spec.backend != "local":
        for key, value in spec.env.items():
            check_utf8(f"environment variable {key}", value)
