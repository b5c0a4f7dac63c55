"""The local backend's records: one SQLite database, safe for several ``canfar`` commands at once.

The database runs in WAL mode, and every write is one short ``BEGIN IMMEDIATE`` transaction, so
concurrent commands queue for a few milliseconds instead of failing. It lives in
``<state dir>/local/sessions.sqlite3`` (mode 0600: notebook URLs carry their token); logs and exit
codes sit beside it in ``logs/<id>.log`` and ``exit/<id>``.

Under faults every command that can still work does:

* a database another program holds is waited for up to :data:`LOCK_WAIT` seconds, saying so at
  once, then named; reads (``ps``) never wait, and a status ``ps`` cannot save is shown anyway;
* on a full disk or a read-only one the database is opened read-only, as last saved, so ``ps``,
  ``info`` and ``logs`` work; ``delete`` frees the space kept aside (``reserve``, taken while
  the disk has room) so that it can forget what it stopped;
* a damaged row is named with the command that removes it, and left out of listings;
* a damaged database file (:class:`DamagedDatabase`) is named with how to recover; the backend
  still lists and stops the sessions whose processes run, found by their marker.
"""

from __future__ import annotations

import errno
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


class DiskFull(CanfarError):
    """The disk holding the local session database is full."""


class DamagedDatabase(CanfarError):
    """The local session database file is damaged: SQLite cannot read it."""


#: What SQLite says of a file it cannot read as a database.
_DAMAGED = ("database disk image is malformed", "file is not a database", "malformed database")


def _locked(exc: BaseException) -> bool:
    """Whether a SQLite error says another connection holds the database."""
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )


SCHEMA_VERSION = 1
#: How long SQLite itself waits for a lock before canfar's own loop takes over (which says it is
#: waiting, and gives up after :data:`LOCK_WAIT`).
BUSY_TIMEOUT_MS = 200
#: Seconds a change waits for a database another program holds, before it fails naming it.
LOCK_WAIT = 10.0
#: Bytes kept aside beside the database, for ``delete`` to free when the disk is full.
RESERVE_BYTES = 512 * 1024
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
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> Record:
        """A record from a row of :data:`SELECT_RECORDS` (its columns in the fields' order).

        A row that is not what canfar wrote (edited by hand, or damaged) raises
        :class:`DamagedRecord` naming the first field that is wrong.
        """
        values = dict(zip(_COLUMNS, row, strict=True))
        for name in ("command", "extra"):
            text = values[name]
            if name == "extra" and (not text or text == "{}"):
                values[name] = {}
                continue
            try:
                values[name] = json.loads(text)
            except (TypeError, ValueError):
                raise DamagedRecord(values["id"], name, "is not JSON") from None
        for name, kinds in _TYPES.items():
            value = values[name]
            if not isinstance(value, kinds) or isinstance(value, bool):
                if value is None and name in _NULLABLE:
                    continue
                raise DamagedRecord(values["id"], name, f"holds {value!r}")
        if values["status"] not in STATUSES:
            raise DamagedRecord(values["id"], "status", f"holds {values['status']!r}")
        if not all(isinstance(word, str) for word in values["command"]):
            raise DamagedRecord(values["id"], "command", "is not a list of words")
        return cls(**values)

    @classmethod
    def salvage(cls, row: sqlite3.Row | tuple[Any, ...]) -> Record:
        """What can be read of a damaged row, enough to stop its processes and forget it: its
        id, process group and runtime where they are readable, blanks elsewhere."""
        values = dict(zip(_COLUMNS, row, strict=True))

        def kept(name: str, kinds: type | tuple[type, ...]) -> Any:
            value = values[name]
            return value if isinstance(value, kinds) and not isinstance(value, bool) else None

        try:
            extra = json.loads(values["extra"] or "{}")
        except (TypeError, ValueError):
            extra = {}
        return cls(
            id=str(values["id"]),
            name=kept("name", str) or "",
            kind=kept("kind", str) or "",
            image=kept("image", str) or "",
            status="Failed",
            replica=0,
            replicas=0,
            command=[],
            workdir="",
            runtime=kept("runtime", str) or "host",
            pgid=kept("pgid", int),
            start_mark=kept("start_mark", str),
            extra=extra if isinstance(extra, dict) else {},
        )


class DamagedRecord(CanfarError):
    """A stored session that is not what canfar wrote: named, with the command that removes it."""

    def __init__(self, session_id: object, field_name: str, problem: str) -> None:
        self.session_id = str(session_id)
        self.reason = f"its {field_name} {problem}"
        super().__init__(
            f"session {self.session_id} is damaged in the local session database "
            f"({self.reason}); remove it with: canfar delete {self.session_id}"
        )


_COLUMNS = tuple(f.name for f in fields(Record))
#: Read by position, which is several times faster than by name.
SELECT_RECORDS = f"SELECT {', '.join(_COLUMNS)} FROM sessions"
#: Fields that :meth:`Store.update` may change.
UPDATABLE = frozenset(_COLUMNS) - {"id"}
#: The statuses a record can hold.
STATUSES = frozenset({"Pending", "Running", "Terminating", "Completed", "Failed"})
_NUMBER = (int, float)
#: The type each stored field must have (``command`` and ``extra`` are checked once decoded).
_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "name": str,
    "kind": str,
    "image": str,
    "status": str,
    "replica": int,
    "replicas": int,
    "command": list,
    "workdir": str,
    "runtime": str,
    "cores": _NUMBER,
    "ram": _NUMBER,
    "gpus": int,
    "pgid": int,
    "start_mark": str,
    "connect_url": str,
    "created": _NUMBER,
    "started": _NUMBER,
    "ended": _NUMBER,
    "exit_code": int,
    "reason": str,
    "extra": dict,
}
_NULLABLE = frozenset(f.name for f in fields(Record) if f.default is None)


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
        self._said_waiting = False
        self.reserve_path = root / "reserve"
        self._reserve_freed = False
        self._said_read_only = False
        #: Why the database is open for reading only (a full or read-only disk), or ``None``.
        self._read_only: CanfarError | None = None
        #: Damaged rows met by :meth:`select` so far, by session id.
        self.damaged: dict[str, DamagedRecord] = {}

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

    def _failure(self, exc: sqlite3.Error | OSError, doing: str) -> CanfarError:
        """A database error as the user should read it: what happened, and what to do."""
        text = str(exc)
        if (
            (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
            or "disk is full" in text
            or ("disk I/O error" in text and self._disk_full())
        ):
            return DiskFull(
                f"cannot {doing}: the disk holding {self.db_path} is full "
                f"(free some space, for example: canfar delete ID)"
            )
        if (
            "readonly" in text
            or (isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES))
            or (self.root.exists() and not os.access(self.root, os.W_OK))
            or (self.db_path.exists() and not os.access(self.db_path, os.W_OK))
        ):
            return CanfarError(
                f"cannot {doing}: the local session database {self.db_path} is read-only ({text})"
            )
        if any(sign in text for sign in _DAMAGED):
            return DamagedDatabase(
                f"the local session database {self.db_path} is damaged ({text}). The sessions "
                f"still running are found by their processes: stop them with canfar delete "
                f"--all -f, then move the database aside to start afresh: "
                f"mv {self.db_path} {self.db_path}.damaged"
            )
        if _locked(exc):
            return CanfarError(
                f"cannot {doing}: the local session database {self.db_path} is locked by another "
                f"program (waited {LOCK_WAIT:g} s); let it finish or close it, then try again "
                f"(fuser -v {self.db_path} shows which)"
            )
        return CanfarError(f"cannot {doing}: the local session database {self.db_path}: {text}")

    def disk_full(self) -> bool:
        """Whether the disk holding the database has (almost) no room left."""
        return self._disk_full()

    def _disk_full(self) -> bool:
        """Whether the disk holding the database has (almost) no room left."""
        try:
            found = os.statvfs(self.root)
        except (OSError, AttributeError):
            return False
        return found.f_bavail * found.f_frsize < 64 * 1024

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = None
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
            self._keep_reserve()
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            failure = self._failure(exc, "save to the local session database")
            if isinstance(failure, DamagedDatabase):
                raise failure from None
            if _locked(exc) or not self.db_path.is_file():
                raise self._failure(exc, "open the local session database") from None
            conn = self._open_read_only(failure)
        self._local.conn = conn
        return conn

    def _open_read_only(self, failure: CanfarError) -> sqlite3.Connection:
        """The database opened for reading only, as last saved: what ``ps``, ``info`` and
        ``delete`` need on a full disk or a read-only one (SQLite cannot even open it normally
        there: it needs room for its shared-memory file). Writes fail with ``failure``."""
        from canfar_core.output import warn

        try:
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT 1 FROM sessions LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise self._failure(exc, "open the local session database") from None
        if self._read_only is None and not self._said_read_only:
            self._said_read_only = True
            warn(f"{failure}; sessions are shown as last saved")
        self._read_only = failure
        return conn

    def _keep_reserve(self) -> None:
        """Keep :data:`RESERVE_BYTES` set aside beside the database, for ``delete`` to free on
        a full disk (SQLite needs a little room even to delete a row). It is only taken when
        the disk has ten times that free, and not again by the command that freed it."""
        if self._reserve_freed or self.reserve_path.exists():
            return
        try:
            found = os.statvfs(self.root)
        except (OSError, AttributeError):
            return
        if found.f_bavail * found.f_frsize < 10 * RESERVE_BYTES:
            return
        with suppress(OSError):
            fd = os.open(self.reserve_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            try:
                os.write(fd, b"\0" * RESERVE_BYTES)  # written, so really allocated
            except OSError:
                os.close(fd)
                os.unlink(self.reserve_path)  # not on a disk this full: no half reserve
                return
            os.close(fd)

    def release_reserve(self) -> bool:
        """Free the reserved space and reopen the database normally; ``False`` when there was
        no reserve to free."""
        self._reserve_freed = True
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        self.close()
        self._read_only = None
        return True

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL takes an exclusive lock and does not wait on the busy handler, so a
        # command racing another one on a brand-new database retries it.
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
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
    def _write(
        self, conn: sqlite3.Connection | None = None, wait: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """One write transaction. Another program holding the database is waited for up to
        :data:`LOCK_WAIT` seconds, saying so at once (with ``wait=False``, not at all); every
        failure is a :class:`CanfarError` that says what to do."""
        conn = conn or self._connect()
        if self._read_only is not None:
            raise self._read_only
        self._begin(conn, wait)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._failure(exc, "save to the local session database") from None
            raise

    def _begin(self, conn: sqlite3.Connection, wait: bool) -> None:
        deadline = time.monotonic() + (LOCK_WAIT if wait else 0.0)
        delay = 0.02
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                if not _locked(exc) or time.monotonic() >= deadline:
                    raise self._failure(exc, "save to the local session database") from None
            if not self._said_waiting:
                self._said_waiting = True
                from canfar_core.output import warn

                warn(
                    f"waiting up to {LOCK_WAIT:g} s for the local session database "
                    f"{self.db_path}: another program or canfar command holds it"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """The rows of a read; a failure is a :class:`CanfarError` saying what to do."""
        try:
            return self._connect().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise self._failure(exc, "read the local session database") from None

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
        self,
        changes: Iterable[tuple[str, dict[str, Any]]],
        only_active: bool = False,
        wait: bool = True,
    ) -> None:
        """Apply ``(id, {field: value})`` changes in one transaction.

        With ``only_active``, a record that another command has meanwhile finished is left alone.
        With ``wait=False``, a database another program holds fails at once instead of being
        waited for.
        """
        changes = [(sid, values) for sid, values in changes if values]
        if not changes:
            return
        condition = " AND status IN ('Pending', 'Running', 'Terminating')" if only_active else ""
        with self._write(wait=wait) as conn:
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
        """The record of ``session_id``; :class:`DamagedRecord` when its row is damaged."""
        rows = self._query(f"{SELECT_RECORDS} WHERE id = ?", (session_id,))
        return Record.from_row(rows[0]) if rows else None

    def get_any(self, session_id: str) -> Record | None:
        """The record of ``session_id``, salvaged (:meth:`Record.salvage`) when damaged."""
        rows = self._query(f"{SELECT_RECORDS} WHERE id = ?", (session_id,))
        if not rows:
            return None
        try:
            return Record.from_row(rows[0])
        except DamagedRecord:
            return Record.salvage(rows[0])

    def all(self) -> list[Record]:
        return self.select()

    def select(
        self, kind: str | None = None, statuses: Collection[str] | None = None
    ) -> list[Record]:
        """The records of ``kind`` in one of ``statuses`` (each filter optional), in the order
        they were created. Filtered by SQLite (``status`` is indexed): only matching rows are
        read into records. Damaged rows are left out and named in :attr:`damaged`."""
        clauses: list[str] = []
        params: list[str] = []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if statuses is not None:
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"{SELECT_RECORDS}{where} ORDER BY created, replica, id", params)
        records = []
        for row in rows:
            try:
                records.append(Record.from_row(row))
            except DamagedRecord as exc:
                self.damaged[exc.session_id] = exc
        return records

    def remove(self, session_ids: Iterable[str]) -> None:
        """Forget sessions, with their logs and exit-code files.

        On a full disk (SQLite needs a little room even to delete) their files are removed
        first, to make that room.
        """
        ids = list(session_ids)
        if not ids:
            return
        try:
            self._forget(ids)
        except DiskFull:
            self._remove_files(ids)
            self.release_reserve()
            self.close()
            self._read_only = None
            self._forget(ids)
        self._remove_files(ids)

    def _forget(self, ids: list[str]) -> None:
        with self._write() as conn:
            conn.executemany("DELETE FROM sessions WHERE id = ?", [(sid,) for sid in ids])

    def _remove_files(self, ids: list[str]) -> None:
        for session_id in ids:
            exit_path = self.exit_path(session_id)
            for path in (
                self.log_path(session_id),
                exit_path,
                exit_path.with_name(exit_path.name + ".stopped"),
                exit_path.with_name(exit_path.name + ".tmp"),
            ):
                with suppress(FileNotFoundError):
                    path.unlink()

    # -- images ------------------------------------------------------------------------------

    def record_image(self, image: str, kind: str) -> None:
        with self._write(wait=False) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO images (image, kind, last_used) VALUES (?, ?, ?)",
                (image, kind, time.time()),
            )

    def images(self) -> dict[str, list[str]]:
        """Images used before, most recent first, with the kinds each was used for."""
        rows = self._query("SELECT image, kind, last_used FROM images")
        recent: dict[str, float] = {}
        kinds: dict[str, list[str]] = {}
        for row in rows:
            image, kind, used = row
            if not (isinstance(image, str) and isinstance(kind, str)) or not isinstance(
                used, (int, float)
            ):
                continue  # a damaged row: a list of suggestions does not need it
            recent[row["image"]] = max(recent.get(row["image"], 0.0), row["last_used"])
            kinds.setdefault(row["image"], []).append(row["kind"])
        order = sorted(recent, key=lambda image: (-recent[image], image))
        return {image: sorted(kinds[image]) for image in order}
