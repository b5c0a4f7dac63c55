"""The configuration and credentials files (mode 0600), where platformdirs puts them.

Both are JSON, written atomically (a temporary file renamed over the old one), each change a
read-modify-write under an ``flock`` on the folder (:meth:`JsonFile.update`), as
docs/configuration.md tells users. Readers take no lock: the rename makes each read see one whole
version. A file that cannot be read or parsed is an error naming it, and is never overwritten.

A command asks for the configuration in several places (the context, the defaults of a
launch, ...) but the file is read and parsed once per process: :meth:`JsonFile.read` keeps what
it parsed while the file's identity (inode, size, modification time) stays the same, and a
write here forgets it. A change always reads the file afresh, under the lock.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from canfar_core.errors import ConfigError

APP_NAME = "canfar"
CONFIG_NAME = "config.json"
CREDENTIALS_NAME = "credentials.json"
#: Seconds a change waits for another command's change to the same folder before giving up.
LOCK_TIMEOUT = 10.0

#: The known settings, with the type each one holds.
SETTINGS: dict[str, type] = {
    "active": str,
    "defaults.kind": str,
    "defaults.image": str,
    "defaults.cores": float,
    "defaults.ram": float,
    "defaults.gpus": int,
    "defaults.backend": str,
}


def config_dir() -> Path:
    """The folder of ``config.json`` and ``credentials.json``."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The folder for state kept between runs (the local backend's database and logs)."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as private folders (0700), whatever the umask.

    ``Path.mkdir(parents=True)`` gives the parents it creates the default mode, which is
    0777 under a umask of 000; folders that already exist are left as they are.
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another command made it meanwhile
            folder.mkdir(mode=0o700)
    if not path.is_dir():
        path.mkdir(mode=0o700)  # raises the error that says why (a file in the way)
    return path


def atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new, never half.

    The new file gets ``mode``, or the old file's mode where that is stricter, so a file the
    user made private stays private. A symbolic link (a dotfiles checkout) is followed, not
    replaced.
    """
    if path.is_symlink():
        path = path.resolve()
    with contextlib.suppress(OSError):
        mode &= stat.S_IMODE(path.stat().st_mode)
    private_dir(path.parent)
    import tempfile  # here: it imports shutil and random, which only a write needs

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


_held: dict[Path, int] = {}
_held_lock = threading.RLock()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the lock on ``folder`` (re-entrant within this process) for one change.

    Waits up to :data:`LOCK_TIMEOUT` seconds for another command to finish, then raises
    :class:`ConfigError`. Where the system has no ``flock`` the change is made unlocked.
    """
    folder = folder.resolve()
    with _held_lock:
        if folder in _held:
            _held[folder] += 1
            try:
                yield
            finally:
                _held[folder] -= 1
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        try:
            fd = os.open(private_dir(folder), os.O_RDONLY)
        except OSError as exc:
            raise ConfigError(f"cannot write in {folder}: {exc.strerror or exc}") from None
        try:
            _acquire(fd, folder, fcntl)
            _held[folder] = 1
            try:
                yield
            finally:
                del _held[folder]
        finally:
            os.close(fd)  # releases the lock


def _acquire(fd: int, folder: Path, fcntl: Any) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"{folder} is locked by another canfar command (waited "
                    f"{LOCK_TIMEOUT:g} s); try again when it has finished, nothing was changed"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _remove_leftovers(path: Path) -> None:
    """Remove temporary files a killed writer of ``path`` left (they may hold secrets).

    Only called under the folder lock, when no other writer can be half-way.
    """
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name.startswith(f".{path.name}.") and entry.name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


#: What each file held when last parsed in this process: path -> (identity, object).
_parsed: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


class JsonFile:
    """A JSON object stored in one file."""

    def __init__(self, path: Path, mode: int = 0o644) -> None:
        self.path = path
        self.mode = mode

    def read(self) -> dict[str, Any]:
        """The file's object (a copy the caller may change); ``{}`` when there is no file yet.

        Parsed once while the file stays the same (see the module's docstring)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return self._load()  # missing: {}; unreadable: the error that says why
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = _parsed.get(self.path)
        if cached is None or cached[0] != identity:
            cached = (identity, self._load())
            _parsed[self.path] = cached
        return copy.deepcopy(cached[1])

    def _load(self) -> dict[str, Any]:
        """Read and parse the file."""
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
                f"{self.path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}); fix or remove it, nothing was changed"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path} must hold a JSON object; nothing was changed")
        return data

    @contextlib.contextmanager
    def update(self) -> Iterator[dict[str, Any]]:
        """Read the object, let the caller change it, write it back; all under the folder lock,
        so that a change made meanwhile by another command is never lost. Nothing is written
        when the block raises."""
        with self.lock():
            data = self._load()
            yield data
            self.write(data)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The lock shared by every file in this file's folder."""
        return folder_lock(self.path.parent)

    def write(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        try:
            with self.lock():
                _remove_leftovers(self.path)
                _parsed.pop(self.path, None)
                atomic_write(self.path, text, self.mode)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def config_file() -> JsonFile:
    """The configuration file (settings and saved contexts; never secrets)."""
    return JsonFile(config_dir() / CONFIG_NAME)


def credentials_file() -> JsonFile:
    """The credentials file: secrets by context name, mode 0600."""
    return JsonFile(config_dir() / CREDENTIALS_NAME, mode=0o600)


def plugin_settings(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A plugin's own settings: ``plugins.NAME.*`` in the config, each overridden by its
    variable ``CANFAR_<NAME>_<KEY>`` (upper case, ``-`` and ``.`` as ``_``), given as text.

    Users set them with ``canfar config set plugins.NAME.KEY VALUE`` or the variable; ``{}``
    when there are none. A variable's key is its name after the prefix, in lower case.
    """
    import re

    section = config_file().read().get("plugins")
    mine = section.get(name) if isinstance(section, dict) else None
    settings = dict(mine) if isinstance(mine, dict) else {}
    prefix = f"CANFAR_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_"
    for variable, value in (os.environ if environ is None else environ).items():
        if variable.startswith(prefix) and len(variable) > len(prefix):
            settings[variable[len(prefix) :].lower()] = value
    return settings


_KINDS_OF_VALUE = {str: "text", int: "a whole number", float: "a number"}


def saved_setting(data: dict[str, Any], key: str) -> Any:
    """The value of a known setting (:data:`SETTINGS`) in the config ``data``, ``None`` when
    unset; a value of the wrong type (hand-edited) is a :class:`ConfigError` saying how to fix
    it, never a crash further on."""
    try:
        value = get_path(data, key)
    except KeyError:
        section = key.rpartition(".")[0]
        if section and section in data and not isinstance(data[section], dict):
            raise ConfigError(
                f"'{section}' in {config_file().path} must be a JSON object, not "
                f"{json.dumps(data[section])}; remove it with: canfar config unset {section}"
            ) from None
        return None
    kind = SETTINGS[key]
    fits = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not fits or (kind is str and not value):
        raise ConfigError(
            f"{key} in {config_file().path} must be {_KINDS_OF_VALUE[kind]}, not "
            f"{json.dumps(value)}; set it with: canfar config set {key} VALUE "
            f"(or remove it: canfar config unset {key})"
        )
    return value


def get_path(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted ``key``; :class:`KeyError` when absent."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node
