"""The local backend's records: one SQLite database, safe for several ``canfar`` commands at once.

The database runs in WAL mode with a busy timeout, and every write is one short ``BEGIN
IMMEDIATE`` transaction, so concurrent commands queue for a few milliseconds instead of failing.
It lives in ``<state dir>/local/sessions.sqlite3`` (mode 0600: notebook URLs carry their token);
logs and exit codes sit beside it in ``logs/<id>.log`` and ``exit/<id>``.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from canfar_core.errors import CanfarError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
ID_FIRST = string.ascii_lowercase
ID_REST = string.ascii_lowercase + string.digits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    image       TEXT NOT NULL,
    status      TEXT NOT NULL,
    replica     INTEGER NOT NULL,
    replicas    INTEGER NOT NULL,
    command     TEXT NOT NULL,
    workdir     TEXT NOT NULL,
    runtime     TEXT NOT NULL,
    cores       REAL,
    ram         REAL,
    gpus        INTEGER,
    pgid        INTEGER,
    start_mark  TEXT,
    connect_url TEXT,
    created     REAL NOT NULL,
    started     REAL,
    ended       REAL,
    exit_code   INTEGER,
    reason      TEXT,
    extra       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status);
CREATE TABLE IF NOT EXISTS images (
    image     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    last_used REAL NOT NULL,
    PRIMARY KEY (image, kind)
);
"""


def new_id() -> str:
    """A fresh session id shaped like the platform's: ``[a-z][a-z0-9]{7}``."""
    return secrets.choice(ID_FIRST) + "".join(secrets.choice(ID_REST) for _ in range(7))


@dataclass
class Record:
    """One local session as stored."""

    id: str
    name: str
    kind: str
    image: str
    status: str
    replica: int
    replicas: int
    command: list[str]
    workdir: str
    runtime: str
    cores: float | None = None
    ram: float | None = None
    gpus: int | None = None
    pgid: int | None = None
    start_mark: str | None = None
    connect_url: str | None = None
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> tuple[Any, ...]:
        values = {
            **self.__dict__,
            "command": json.dumps(self.command),
            "extra": json.dumps(self.extra),
        }
        return tuple(values[name] for name in _COLUMNS)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        """A record from a row of :data:`SELECT_RECORDS` (its columns in the fields' order)."""
        values = dict(zip(_COLUMNS, row, strict=True))
        values["command"] = json.loads(values["command"])
        extra = values["extra"]
        values["extra"] = json.loads(extra) if extra and extra != "{}" else {}
        return cls(**values)


_COLUMNS = tuple(f.name for f in fields(Record))
#: Read by position, which is several times faster than by name.
SELECT_RECORDS = f"SELECT {', '.join(_COLUMNS)} FROM sessions"
#: Fields that :meth:`Store.update` may change.
UPDATABLE = frozenset(_COLUMNS) - {"id"}


def _apply(
    conn: sqlite3.Connection, session_id: str, values: dict[str, Any], condition: str
) -> None:
    """``UPDATE`` one record's ``values``; ``condition`` is more SQL for the ``WHERE``."""
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    encoded = {
        key: json.dumps(value) if key in ("command", "extra") else value
        for key, value in values.items()
    }
    assignments = ", ".join(f"{key} = ?" for key in encoded)
    conn.execute(
        f"UPDATE sessions SET {assignments} WHERE id = ?{condition}",
        (*encoded.values(), session_id),
    )


class Store:
    """The local backend's database, logs and exit-code files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / "sessions.sqlite3"
        self.logs_dir = root / "logs"
        self.exit_dir = root / "exit"
        self._local = threading.local()
        self._ready = False

    # -- files -------------------------------------------------------------------------------

    def log_path(self, session_id: str) -> Path:
        return self.logs_dir / f"{session_id}.log"

    def exit_path(self, session_id: str) -> Path:
        return self.exit_dir / session_id

    def _prepare_dirs(self) -> None:
        from canfar_core.config import private_dir

        for folder in (self.logs_dir, self.exit_dir):
            private_dir(folder)

    # -- connection --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self._prepare_dirs()
            if not self.db_path.exists():
                # Created private before SQLite opens it: notebook URLs in it carry a token.
                os.close(os.open(self.db_path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(
                self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self._ready:
                self._migrate(conn)
                self._ready = True
        except (sqlite3.Error, OSError) as exc:
            raise CanfarError(
                f"cannot open the local session database {self.db_path}: {exc}"
            ) from None
        self._local.conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL takes an exclusive lock and does not wait on the busy handler, so a
        # command racing another one on a brand-new database retries it.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                mode = None
            # A file system without WAL support answers with the mode it keeps: go on with it.
            if mode is not None:
                break
            time.sleep(0.01)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CanfarError(
                f"the local session database {self.db_path} was written by a newer canfar; "
                "upgrade canfar to use it"
            )
        if version < SCHEMA_VERSION:
            with self._write(conn):
                # Not executescript(): it would commit, and another command could interleave.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        conn = conn or self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- records -----------------------------------------------------------------------------

    def insert(self, records: list[Record]) -> None:
        """Store new records in one transaction, giving any whose id is taken a fresh one."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        sql = f"INSERT INTO sessions ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
        with self._write() as conn:
            for record in records:
                for _ in range(20):
                    try:
                        conn.execute(sql, record.row())
                        break
                    except sqlite3.IntegrityError:
                        record.id = new_id()

    def update(
        self, changes: Iterable[tuple[str, dict[str, Any]]], only_active: bool = False
    ) -> None:
        """Apply ``(id, {field: value})`` changes in one transaction.

        With ``only_active``, a record that another command has meanwhile finished is left alone.
        """
        changes = [(sid, values) for sid, values in changes if values]
        if not changes:
            return
        condition = " AND status IN ('Pending', 'Running', 'Terminating')" if only_active else ""
        with self._write() as conn:
            for session_id, values in changes:
                _apply(conn, session_id, values, condition)

    def record_starts(self, changes: Iterable[tuple[str, dict[str, Any]]]) -> set[str]:
        """Record that replicas' processes started, in one transaction. Returns the ids whose
        record was deleted, or is being deleted, meanwhile (the caller stops those processes).
        A record another command already brought up to date (found by its marker) is left
        as it is."""
        refused: set[str] = set()
        with self._write() as conn:
            for session_id, values in changes:
                row = conn.execute(
                    "SELECT status FROM sessions WHERE id = ?", (session_id,)
                ).fetchone()
                if row is None or row[0] == "Terminating":
                    refused.add(session_id)
                elif row[0] == "Pending":
                    _apply(conn, session_id, values, "")
        return refused

    def get(self, session_id: str) -> Record | None:
        row = self._connect().execute(f"{SELECT_RECORDS} WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else Record.from_row(row)

    def all(self) -> list[Record]:
        return self.select()

    def select(
        self, kind: str | None = None, statuses: Collection[str] | None = None
    ) -> list[Record]:
        """The records of ``kind`` in one of ``statuses`` (each filter optional), in the order
        they were created. Filtered by SQLite (``status`` is indexed): only matching rows are
        read into records."""
        clauses: list[str] = []
        params: list[str] = []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if statuses is not None:
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._connect().execute(
            f"{SELECT_RECORDS}{where} ORDER BY created, replica, id", params
        )
        return [Record.from_row(row) for row in rows]

    def remove(self, session_ids: Iterable[str]) -> None:
        """Forget sessions, with their logs and exit-code files."""
        ids = list(session_ids)
        if not ids:
            return
        with self._write() as conn:
            conn.executemany("DELETE FROM sessions WHERE id = ?", [(sid,) for sid in ids])
        for session_id in ids:
            for path in (self.log_path(session_id), self.exit_path(session_id)):
                with suppress(FileNotFoundError):
                    path.unlink()

    # -- images ------------------------------------------------------------------------------

    def record_image(self, image: str, kind: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO images (image, kind, last_used) VALUES (?, ?, ?)",
                (image, kind, time.time()),
            )

    def images(self) -> dict[str, list[str]]:
        """Images used before, most recent first, with the kinds each was used for."""
        rows = self._connect().execute("SELECT image, kind, last_used FROM images")
        recent: dict[str, float] = {}
        kinds: dict[str, list[str]] = {}
        for row in rows:
            recent[row["image"]] = max(recent.get(row["image"], 0.0), row["last_used"])
            kinds.setdefault(row["image"], []).append(row["kind"])
        order = sorted(recent, key=lambda image: (-recent[image], image))
        return {image: sorted(kinds[image]) for image in order}
