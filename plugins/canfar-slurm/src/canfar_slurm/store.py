"""What canfar remembers of each array it submitted: one small JSON file per Slurm job.

Slurm knows states, but not a session's kind, image, name or command, and it forgets finished
jobs after a while (``MinJobAge``) where there is no accounting. Final states are therefore
copied here once seen. Files are replaced atomically, and every change is made under a lock, so
concurrent canfar commands never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from canfar_core.errors import CanfarError


@dataclass
class ArrayRecord:
    """One ``sbatch --array`` launch."""

    job: str
    name: str
    kind: str
    image: str
    replicas: int
    tasks: list[int]
    command: list[str]
    workdir: str
    log_dir: str
    runs_in: str
    created: float
    cores: float | None = None
    ram: float | None = None
    gpus: int | None = None
    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None
    #: Final states seen, by task number (as text: JSON keys), each a dict of TaskState fields.
    final: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Tasks deleted while still active: listed as Terminating until Slurm has ended them.
    deleted: list[int] = field(default_factory=list)

    def task_name(self, task: int) -> str:
        return self.name if self.replicas == 1 else f"{self.name}-{task}"

    def log_path(self, task: int) -> Path:
        return Path(self.log_dir) / f"{self.job}_{task}.out"

    def exit_path(self, task: int) -> Path:
        return Path(self.log_dir) / f"{self.job}_{task}.exit"


class DamagedRecord(CanfarError):
    """A record file that is not what canfar wrote (cut short by a crash, edited by hand)."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.job = path.stem
        super().__init__(
            f"the record of Slurm job {self.job} ({path}) is damaged: {problem}; its tasks are "
            f"shown as Slurm reports them. Cancel the job and remove the record with: "
            f"canfar delete {self.job}"
        )


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        #: Damaged record files met so far, by job id.
        self.damaged: dict[str, DamagedRecord] = {}
        self.arrays = root / "arrays"
        #: Launches being submitted, by token: written before sbatch runs, removed once the job
        #: id is recorded (or sbatch refused), so an interrupted launch is never lost.
        self.launching = root / "launching"

    def _path(self, job: str) -> Path:
        return self.arrays / f"{job}.json"

    def private_folder(self, folder: Path) -> Path:
        """``folder`` (and missing parents) created 0700 whatever the umask; one this backend
        made under its own state folder before, more open, is made private again."""
        from canfar_core.config import private_dir

        private_dir(folder)
        if folder == self.root or self.root in folder.parents:
            with contextlib.suppress(OSError):
                if folder.stat().st_mode & 0o077:
                    folder.chmod(0o700)
        return folder

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.private_folder(self.root)
        self.private_folder(self.arrays)
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, record: ArrayRecord, path: Path | None = None) -> None:
        target = path or self._path(record.job)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(record), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    @staticmethod
    def _read(path: Path) -> ArrayRecord | None:
        try:
            return Store._parse(path)
        except (OSError, DamagedRecord):
            return None

    @staticmethod
    def _parse(path: Path) -> ArrayRecord:
        """The record in ``path``; :class:`DamagedRecord` when it is not what canfar wrote."""
        text = path.read_text(errors="replace")
        try:
            data = json.loads(text)
        except ValueError:
            raise DamagedRecord(path, "it is not complete JSON") from None
        if not isinstance(data, dict):
            raise DamagedRecord(path, "it holds no record")
        try:
            record = ArrayRecord(**data)
        except TypeError:
            raise DamagedRecord(path, "its fields are not the ones canfar writes") from None
        if not (
            isinstance(record.tasks, list)
            and all(isinstance(t, int) and not isinstance(t, bool) for t in record.tasks)
            and isinstance(record.final, dict)
            and isinstance(record.deleted, list)
            and isinstance(record.created, (int, float))
        ):
            raise DamagedRecord(path, "a field holds a value canfar never writes")
        return record

    def add(self, record: ArrayRecord) -> None:
        with self._locked():
            self._write(record)

    def begin(self, token: str, record: ArrayRecord) -> None:
        """Note a launch about to be submitted (its ``job`` still empty)."""
        self.private_folder(self.launching)
        self._write(record, self.launching / f"{token}.json")

    def finish(self, token: str, record: ArrayRecord | None) -> None:
        """The launch ``token`` was submitted as ``record`` (None: it was not submitted)."""
        with self._locked():
            if record is not None:
                self._write(record)
            with contextlib.suppress(FileNotFoundError):
                (self.launching / f"{token}.json").unlink()

    def unfinished(self) -> list[tuple[str, ArrayRecord]]:
        """Launches begun and not finished: ``(token, record)``."""
        if not self.launching.is_dir():
            return []
        found = []
        for path in self.launching.glob("*.json"):
            record = self._read(path)
            if record is not None:
                found.append((path.stem, record))
        return found

    def get(self, job: str) -> ArrayRecord | None:
        """The record of ``job``; ``None`` when there is none, or when it is damaged (then
        named in :attr:`damaged`)."""
        return self._load(self._path(job))

    def _load(self, path: Path) -> ArrayRecord | None:
        try:
            record = self._parse(path)
        except FileNotFoundError:
            return None
        except DamagedRecord as exc:
            self.damaged[path.stem] = exc
            return None
        except OSError as exc:
            self.damaged[path.stem] = DamagedRecord(path, f"it cannot be read ({exc.strerror})")
            return None
        if record.job != path.stem:
            self.damaged[path.stem] = DamagedRecord(path, f"it names job {record.job!r}")
            return None
        return record

    def all(self) -> list[ArrayRecord]:
        """Every record, oldest launch first; damaged ones are left out, named in
        :attr:`damaged`."""
        if not self.arrays.is_dir():
            return []
        records = [self._load(path) for path in self.arrays.glob("*.json") if path.stem.isdigit()]
        return sorted((r for r in records if r is not None), key=lambda r: (r.created, r.job))

    def damaged_since(self, job: str) -> float | None:
        """When the damaged record of ``job`` was last written (its file's time)."""
        with contextlib.suppress(OSError):
            return self._path(job).stat().st_mtime
        return None

    def remove_damaged(self, job: str) -> None:
        """Remove the damaged record of ``job`` (its job was cancelled)."""
        with self._locked():
            if self._read(self._path(job)) is None:
                with contextlib.suppress(FileNotFoundError):
                    self._path(job).unlink()
        self.damaged.pop(job, None)

    def change(self, job: str, edit: Callable[[ArrayRecord], bool]) -> ArrayRecord | None:
        """Apply ``edit`` to the current record under the lock; it returns False to remove it."""
        with self._locked():
            record = self._read(self._path(job))
            if record is None:
                return None
            if edit(record):
                self._write(record)
                return record
            with contextlib.suppress(FileNotFoundError):
                self._path(job).unlink()
            return None
