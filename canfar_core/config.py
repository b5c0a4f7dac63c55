"""The configuration and credentials files, where platformdirs puts them.

Both are JSON documents written atomically (a temporary file in the same folder, flushed, then
renamed over the old one), so an interrupted write leaves the old file whole. Credentials live in a
file of their own with mode 0600. A file that cannot be read or parsed is an error naming it, and
is never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from canfar_core.errors import ConfigError, ValidationError

APP_NAME = "canfar"
CONFIG_NAME = "config.json"
CREDENTIALS_NAME = "credentials.json"

#: Settings ``canfar config set`` accepts, with the type each one holds.
SETTINGS: dict[str, type] = {
    "active": str,
    "defaults.kind": str,
    "defaults.image": str,
    "defaults.cores": float,
    "defaults.ram": float,
    "defaults.gpus": int,
    "defaults.backend": str,
}
#: Prefixes under which any key may be set (each plugin's own settings, saved contexts).
FREE_PREFIXES = ("plugins.", "contexts.")


def config_dir() -> Path:
    """The folder of ``config.json`` and ``credentials.json``."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The folder for state kept between runs (the local backend's database and logs)."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class JsonFile:
    """A JSON object stored in one file."""

    def __init__(self, path: Path, mode: int = 0o644) -> None:
        self.path = path
        self.mode = mode

    def read(self) -> dict[str, Any]:
        """The file's object; ``{}`` when the file does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"cannot read {self.path}: {reason}") from None
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{self.path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "fix or remove it, nothing was changed"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path} must hold a JSON object; nothing was changed")
        return data

    def write(self, data: dict[str, Any]) -> None:
        try:
            atomic_write(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n", self.mode)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from None


def config_file() -> JsonFile:
    return JsonFile(config_dir() / CONFIG_NAME)


def credentials_file() -> JsonFile:
    return JsonFile(config_dir() / CREDENTIALS_NAME, mode=0o600)


def get_path(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted ``key``; :class:`KeyError` when absent."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValidationError(f"cannot set '{key}': '{part}' holds a value, not a section")
        node = child
    node[parts[-1]] = value


def unset_path(data: dict[str, Any], key: str) -> bool:
    parts = key.split(".")
    node: Any = data
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict) and node.pop(parts[-1], None) is not None


def parse_setting(key: str, raw: str) -> Any:
    """Check that ``key`` is a known setting and turn ``raw`` into the type it holds."""
    if key in SETTINGS:
        kind = SETTINGS[key]
        if kind is str:
            return raw
        try:
            value = kind(raw)
        except ValueError:
            raise ValidationError(f"{key} must be a number, not '{raw}'") from None
        if value < 0:
            raise ValidationError(f"{key} must not be negative, not '{raw}'")
        return value
    if key.startswith(FREE_PREFIXES) and key.count(".") >= 2:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    known = ", ".join([*SETTINGS, *(prefix + "..." for prefix in FREE_PREFIXES)])
    raise ValidationError(f"unknown setting '{key}' (known: {known})")
