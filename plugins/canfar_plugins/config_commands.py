"""Built-in plugin: ``canfar config``, to show and change settings.

The known settings (``defaults.*``, ``active``) are typed: a value that does not fit is refused
before it is saved. Under ``plugins.NAME.`` and ``contexts.`` any key may be set, its value read
as JSON when it is JSON and kept as text otherwise.
"""

from __future__ import annotations

from typing import Any

import click

from canfar_core import hookimpl
from canfar_core.errors import ValidationError
from canfar_plugins._support.machine import output_option

#: Numeric settings that must be more than zero (the others may be zero).
POSITIVE = frozenset({"defaults.cores", "defaults.ram"})
#: Prefixes under which any key may be set (each plugin's own settings, saved contexts).
FREE_PREFIXES = ("plugins.", "contexts.")


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    cli.add_command(config)


@click.group(short_help="Show and change settings.")
def config() -> None:
    """Show and change settings (contexts are managed with `canfar auth`)."""


@config.command("show")
@output_option
def config_show(output: str | None) -> None:
    """Print the whole configuration (it holds no secrets)."""
    import json

    from canfar_core.config import config_file
    from canfar_core.output import echo
    from canfar_plugins._support.machine import emit

    data = config_file().read()
    if output:
        emit(data, output)
        return
    if not data:
        echo("# no settings yet: canfar uses the local backend and built-in defaults")
    for key, value in _flatten(data):
        echo(f"{key} = {value if isinstance(value, str) else json.dumps(value)}")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, dict) and value:
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


@config.command("get")
@click.argument("key")
@output_option
def config_get(key: str, output: str | None) -> None:
    """Print one setting (a dotted key such as defaults.image).

    Exits 1, printing nothing on stdout, when the setting is not set.
    """
    from canfar_core.config import config_file, get_path
    from canfar_core.errors import NotFound
    from canfar_core.output import echo, emit_json
    from canfar_plugins._support.machine import emit

    try:
        value = get_path(config_file().read(), key)
    except KeyError:
        raise NotFound(f"'{key}' is not set") from None
    if output:
        emit(value, output)
    elif isinstance(value, (dict, list, bool)) or value is None:
        emit_json(value)
    else:
        echo(str(value))


@config.command("set", context_settings={"ignore_unknown_options": True})  # a value "-1"
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Set one setting, for example: canfar config set defaults.image skaha/astroml:latest"""
    from canfar_core.config import config_file

    parsed = parse_setting(key, value)
    with config_file().update() as data:
        if key == "active":
            from canfar_core.contexts import LOCAL, saved_contexts

            known = saved_contexts(data)
            if parsed != LOCAL and parsed not in known:
                from canfar_core.errors import NotFound

                names = ", ".join([LOCAL, *known])
                raise NotFound(f"no context named '{parsed}' (known: {names})")
        set_path(data, key, parsed)


@config.command("unset")
@click.argument("key")
def config_unset(key: str) -> None:
    """Remove one setting."""
    from canfar_core.config import config_file
    from canfar_core.errors import NotFound

    with config_file().update() as data:
        if not unset_path(data, key):
            raise NotFound(f"'{key}' is not set")


@config.command("path")
def config_path() -> None:
    """Print where the configuration, credentials and local state live."""
    from canfar_core.config import CREDENTIALS_NAME, config_file, state_dir
    from canfar_core.output import echo

    path = config_file().path
    echo(f"config       {path}")
    echo(f"credentials  {path.with_name(CREDENTIALS_NAME)}")
    echo(f"state        {state_dir()}")


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set the value at a dotted ``key``, creating the sections on the way."""
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValidationError(f"cannot set '{key}': '{part}' holds a value, not a section")
        node = child
    node[parts[-1]] = value


def unset_path(data: dict[str, Any], key: str) -> bool:
    """Remove the value at a dotted ``key`` and the sections it leaves empty; ``False`` when
    there was nothing to remove."""
    parts = key.split(".")
    trail: list[dict[str, Any]] = []
    node: Any = data
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        trail.append(node)
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return False
    del node[parts[-1]]
    for parent, part in zip(reversed(trail), reversed(parts[:-1]), strict=True):
        if parent[part]:
            break
        del parent[part]
    return True


def parse_setting(key: str, raw: str) -> Any:
    """Check that ``key`` is a known setting and turn ``raw`` into the type it holds."""
    import json
    import math

    from canfar_core.config import SETTINGS

    if not key or any(not part.strip() for part in key.split(".")):
        raise ValidationError(f"'{key}' is not a setting name (use dotted words: defaults.image)")
    if key in SETTINGS:
        kind = SETTINGS[key]
        if kind is str:
            if not raw.strip():
                raise ValidationError(
                    f"{key} must not be empty (to remove it: canfar config unset)"
                )
            return raw
        what = "a whole number" if kind is int else "a number"
        try:
            value = kind(raw)
        except ValueError:
            raise ValidationError(f"{key} must be {what}, not '{raw}'") from None
        if not math.isfinite(value):
            raise ValidationError(f"{key} must be {what}, not '{raw}'")
        if key in POSITIVE and value <= 0:
            raise ValidationError(f"{key} must be more than 0, not '{raw}'")
        if value < 0:
            raise ValidationError(f"{key} must not be negative, not '{raw}'")
        if isinstance(value, float) and value.is_integer():
            return int(value)  # "2" stays 2, not 2.0, in the file and in `config get`
        return value
    if key.startswith(FREE_PREFIXES) and key.count(".") >= 2:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    known = ", ".join([*SETTINGS, *(prefix + "..." for prefix in FREE_PREFIXES)])
    raise ValidationError(f"unknown setting '{key}' (known: {known})")
