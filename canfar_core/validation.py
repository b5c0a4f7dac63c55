"""Checks on user input, made before anything is sent. Each error names the bad value."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from canfar_core.errors import ValidationError
from canfar_core.models import SessionSpec
from canfar_core.public_names import canonical_status

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


#: A name pattern holding any of these is a regular expression, not a prefix.
REGEX_CHARACTERS = frozenset(".^$*+?{}[]\\|()")


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


def check_ids(ids: str | Sequence[str]) -> list[str]:
    """Checked ids, duplicates dropped, order kept; a bad id is refused before anything is sent."""
    listed = [ids] if isinstance(ids, str) else listed_values(ids, "ids", "a session id")
    if not listed:
        raise ValidationError("no session id given")
    return list(dict.fromkeys(check_session_id(session_id) for session_id in listed))


def name_matcher(pattern: str | None) -> Callable[[str], bool]:
    """Whether a session name matches ``pattern``: a prefix, or, when it holds one of
    :data:`REGEX_CHARACTERS`, a regular expression searched in the name. Case is ignored either
    way: the platform stores names in lower case. ``None`` or ``""`` matches every name."""
    import re

    if pattern is not None and not isinstance(pattern, str):
        raise ValidationError(f"a name pattern must be a string, not {type(pattern).__name__}")
    if not pattern:
        return lambda name: True
    if REGEX_CHARACTERS.isdisjoint(pattern):
        lowered = pattern.lower()
        return lambda name: name.lower().startswith(lowered)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(f"'{pattern}' is not a regular expression: {exc}") from None
    return lambda name: compiled.search(name) is not None


def listed_values(value: object, name: str, one: str) -> list[Any]:
    """``value`` as a list (not a mapping); anything else is a ValidationError naming it."""
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return list(value)
    raise ValidationError(f"{name} must be {one} or a list of them, not {type(value).__name__}")


def statuses(status: str | Sequence[str] | None) -> list[str] | None:
    """One status or several, each canonically spelt (the public client's ``Succeeded`` is
    ``Completed``); unknown ones refused."""
    if status is None:
        return None
    listed = [status] if isinstance(status, str) else listed_values(status, "status", "a status")
    return [canonical_status(item) for item in listed if item is not None]


def replica_list(only_replicas: Any) -> Any:
    """``only_replicas`` as a list, read no further than a launch goes (``range(1, 10**9)`` is
    refused before it fills the memory); anything else is left to :func:`check_spec`."""
    if isinstance(only_replicas, Iterable) and not isinstance(only_replicas, (str, bytes)):
        import itertools

        listed = list(itertools.islice(only_replicas, MAX_REPLICAS + 1))
        if len(listed) > MAX_REPLICAS:
            raise ValidationError(
                f"only_replicas names more than {MAX_REPLICAS} replicas, more than a launch has"
            )
        return listed
    return only_replicas


def words(args: object) -> list[str]:
    """``args`` as a list of words: a list as it is, a string split as a shell would."""
    import shlex

    if args is None:
        return []
    if not isinstance(args, str):
        return listed_values(args, "args", "a string")
    try:
        return shlex.split(args)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise ValidationError(
            f"args {args!r} cannot be split into words: {str(exc).lower()} "
            "(pass a list of words to keep quotes as they are)"
        ) from None


def check_types(kind: type | tuple[type, ...], what: str, **values: object) -> None:
    """Each of ``values`` is ``None`` or of ``kind``; anything else is named."""
    for name, value in values.items():
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if value is not None and wrong:
            raise ValidationError(f"{name} must be {what}, not {value!r}")


def check_errors(value: object, source: str = "errors") -> str:
    """``ignore`` or ``raise`` (in any case); anything else is named, with ``source``."""
    if isinstance(value, str) and value.strip().lower() in ("ignore", "raise"):
        return value.strip().lower()
    raise ValidationError(f"{source} must be 'ignore' or 'raise', not {value!r}")


def check_seconds(**values: object) -> None:
    for name, value in values.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or value < 0):  # type: ignore[operator]
            raise ValidationError(f"{name} must be a number of seconds, not {value!r}")


def default_name(image: str) -> str:
    """A readable name for a session that was given none: the image's name and a short tag."""
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    base = "".join(ch if ch.isalnum() else "-" for ch in base.lower()).strip("-")[:40] or "session"
    import secrets  # here: it imports hashlib and hmac, which only a launch needs

    return f"{base}-{secrets.token_hex(2)}"


def check_options(
    options: Mapping[str, Any],
    backend: str,
    used: Sequence[str] | None,
    registered: Sequence[str],
    *,
    prepared: bool = False,
) -> None:
    """Check a request's create options against what the backend ``used`` (``None``: any).

    Before the plugins are asked (``prepared`` false), a name that is neither the backend's
    nor a registered create option is a :class:`TypeError`, as an unknown keyword argument is.
    After (``prepared``), one the backend does not use is a warning naming it and the backend.
    """
    if used is None:
        return
    if not prepared:
        unknown = sorted(set(options) - set(used) - set(registered))
        if unknown:
            raise TypeError(
                f"create() got an unexpected keyword argument '{unknown[0]}' "
                f"(the {backend} backend's own options: {', '.join(used) or 'none'})"
            )
        return
    from canfar_core.output import warn_once

    for name in sorted(set(options) - set(used)):
        warn_once(f"the option '{name}' is not used by the {backend} backend; it is ignored")


def request(*fields: Any) -> SessionSpec:
    """:meth:`Session.create`'s arguments as a request (``name`` may be one already)."""
    name, image, cores, ram, kind, gpu, cmd, args, env, replicas, only, options = fields
    if isinstance(name, SessionSpec):
        given = (image, cores, ram, kind, gpu, cmd, args, env, only, *options.values())
        if replicas != 1 or any(value is not None for value in given):
            raise ValidationError("give the request's fields in the SessionSpec, not beside it")
        return name
    check_types(str, "a string", name=name, image=image, cmd=cmd)
    if env is not None and not isinstance(env, Mapping):
        raise ValidationError(f"env must be a mapping of names to values, not {env!r}")
    spec = SessionSpec(kind=kind or "", image=image or "", name=name or "", cmd=cmd)
    spec.args, spec.env, spec.replicas = words(args), dict(env or {}), replicas
    spec.cores, spec.ram, spec.gpus = cores, ram, gpu
    spec.only_replicas, spec.options = replica_list(only), dict(options)
    return spec
