"""Kept copies of finished sessions, for a backend whose server forgets them (the platform
removes a finished headless session, log and all, about an hour after it ends).

One folder per backend and context under the state folder (``journal/BACKEND/CONTEXT``,
0700): ``records.jsonl`` holds each finished session's last record as it was seen, one JSON
line each (a later line replaces an earlier one; ``{"forget": ID}`` removes it), and
``logs/ID.log`` its log where a command read it. Files are 0600: a log may hold secrets. The
journal is bounded by age and size (``canfar config set plugins.journal.max_days N``,
``plugins.journal.max_mb N``), the oldest copies dropped first. Every write holds the folder's
lock (the one the config files use), and a rewrite reads the file again under it, so two
commands at once never lose each other's records.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import time
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from canfar_core.models import FINAL_STATUSES, SessionInfo

#: Defaults of the bounds: days a kept copy lives, and megabytes the journal may hold.
MAX_DAYS = 30.0
MAX_MB = 200.0
_FIELDS = [f.name for f in dataclasses.fields(SessionInfo) if f.name != "kept"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name or "default") or "default"


class Journal:
    """The kept sessions of one backend and context."""

    def __init__(self, backend: str, context: str, root: Path | None = None) -> None:
        if root is None:
            from canfar_core.config import state_dir

            root = state_dir() / "journal"
        self.folder = root / _safe(backend) / _safe(context)
        self._records: dict[str, tuple[float, dict[str, Any]]] | None = None
        #: The file as last read or written here (inode, size, mtime): another command's write
        #: changes it, and the next rewrite reads the file again.
        self._stamp: tuple[int, int, int] | None = None

    # -- reading -------------------------------------------------------------------------

    def _load(self) -> dict[str, tuple[float, dict[str, Any]]]:
        if self._records is None:
            records: dict[str, tuple[float, dict[str, Any]]] = {}
            self._stamp = self._stat()  # before reading: a write meanwhile shows as a change
            path = self.folder / "records.jsonl"
            with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as lines:
                for line in lines:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        entry = json.loads(line)
                        if "forget" in entry:
                            records.pop(entry["forget"], None)
                        else:
                            records[entry["s"]["id"]] = (float(entry["t"]), entry["s"])
            self._records = records
        return self._records

    def kept(self, besides: Collection[str] = ()) -> list[SessionInfo]:
        """Every kept session but those ``besides`` (listed by the server), marked ``kept``."""
        return [_session(f) for sid, (_, f) in self._load().items() if sid not in besides]

    def get(self, session_id: str) -> SessionInfo | None:
        entry = self._load().get(session_id)
        return None if entry is None else _session(entry[1])

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._load()

    def log_path(self, session_id: str) -> Path | None:
        """The kept log of a kept session, if one was read."""
        path = self.folder / "logs" / f"{_safe(session_id)}.log"
        return path if session_id in self and path.is_file() else None

    # -- writing -------------------------------------------------------------------------

    def keep(self, sessions: Iterable[SessionInfo]) -> list[str]:
        """Keep the finished ones among ``sessions`` (a record already kept as it is: skipped);
        the ids kept for the first time."""
        records, now, lines, new = self._load(), time.time(), [], []
        for session in sessions:
            if session.status not in FINAL_STATUSES or session.kept:
                continue
            fields = {name: getattr(session, name) for name in _FIELDS}
            if session.id in records and records[session.id][1] == fields:
                continue
            if session.id not in records:
                new.append(session.id)
            records[session.id] = (now, fields)
            lines.append(json.dumps({"t": now, "s": fields}, default=str))
        if lines:
            with self._locked():
                self._append(lines)
                self.bound()
        return new

    @staticmethod
    def logs_per_listing() -> int:
        """How many logs of sessions a listing sees finish it reads, to keep them
        (``plugins.journal.ps_logs``; none by default: a listing fetches records only)."""
        from canfar_core.config import plugin_settings

        return int(_number(plugin_settings("journal").get("ps_logs"), 0))

    def keep_log(self, session_id: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """``pieces`` passed on, and written to the kept log as they pass (a kept session)."""
        if session_id not in self:
            yield from pieces
            return
        path = self.folder / "logs" / f"{_safe(session_id)}.log"
        part = path.with_suffix(".part")
        out = None
        try:
            for piece in pieces:
                if out is None and piece:  # nothing read (a forgotten id): nothing kept
                    self._private(path.parent)
                    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                    out = open(os.open(part, flags, 0o600), "wb")  # noqa: SIM115
                if out is not None:
                    out.write(piece)
                yield piece
        finally:
            if out is not None:
                out.close()
        if out is not None:
            os.replace(part, path)

    def forget(self, session_id: str) -> bool:
        """Remove a kept copy; whether there was one."""
        if session_id not in self:
            return False
        self._load().pop(session_id)
        with self._locked():
            self._append([json.dumps({"forget": session_id})])
            with contextlib.suppress(FileNotFoundError):
                (self.folder / "logs" / f"{_safe(session_id)}.log").unlink()
        return True

    def bound(self, max_days: float | None = None, max_mb: float | None = None) -> None:
        """Drop copies older than ``max_days`` and, oldest first, until the journal holds at
        most ``max_mb``; the settings (or :data:`MAX_DAYS`, :data:`MAX_MB`) by default."""
        if max_days is None or max_mb is None:
            from canfar_core.config import plugin_settings

            mine = plugin_settings("journal")
            max_days = _number(mine.get("max_days"), MAX_DAYS) if max_days is None else max_days
            max_mb = _number(mine.get("max_mb"), MAX_MB) if max_mb is None else max_mb
        with self._locked():
            if self._stat() != self._stamp:  # another command wrote since it was read here
                self._records = None
            self._rewrite(self._load(), max_days, max_mb)

    def _rewrite(
        self, records: dict[str, tuple[float, dict[str, Any]]], max_days: float, max_mb: float
    ) -> None:
        oldest = time.time() - max_days * 86_400
        sizes = {
            sid: self._log_size(sid) + len(json.dumps(fields, default=str))
            for sid, (_, fields) in records.items()
        }
        total, limit = sum(sizes.values()), max_mb * 1_000_000
        dropped = []
        for sid, (seen, _) in sorted(records.items(), key=lambda item: item[1][0]):
            if seen >= oldest and total <= limit:
                break
            dropped.append(sid)
            total -= sizes[sid]
        with contextlib.suppress(OSError):
            if not dropped and (self.folder / "records.jsonl").stat().st_size < 2 * total + 4096:
                return
        for sid in dropped:
            records.pop(sid)
            with contextlib.suppress(FileNotFoundError):
                (self.folder / "logs" / f"{_safe(sid)}.log").unlink()
        text = "".join(
            json.dumps({"t": seen, "s": fields}, default=str) + "\n"
            for seen, fields in records.values()
        )
        from canfar_core.config import atomic_write

        atomic_write(self.folder / "records.jsonl", text, 0o600)
        self._stamp = self._stat()

    def _log_size(self, session_id: str) -> int:
        try:
            return (self.folder / "logs" / f"{_safe(session_id)}.log").stat().st_size
        except OSError:
            return 0

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        from canfar_core.config import folder_lock

        return folder_lock(self._private(self.folder))

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            found = (self.folder / "records.jsonl").stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_size, found.st_mtime_ns

    def _append(self, lines: list[str]) -> None:
        """Under the lock: ``lines`` added to the file (what was read here stays current only
        if the file had not changed since)."""
        current = self._records is not None and self._stat() == self._stamp
        path = self._private(self.folder) / "records.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with open(fd, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
        self._stamp = self._stat() if current else (-1, -1, -1)

    @staticmethod
    def _private(folder: Path) -> Path:
        from canfar_core.config import private_dir

        return private_dir(folder)


def _session(fields: dict[str, Any]) -> SessionInfo:
    return SessionInfo(**fields, kept=True)


def _number(value: object, default: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    return float(value) if ok else default  # type: ignore[arg-type]
