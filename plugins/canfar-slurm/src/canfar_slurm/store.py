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


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.arrays = root / "arrays"
        #: Launches being submitted, by token: written before sbatch runs, removed once the job
        #: id is recorded (or sbatch refused), so an interrupted launch is never lost.
        self.launching = root / "launching"

    def _path(self, job: str) -> Path:
        return self.arrays / f"{job}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.arrays.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a") as handle:
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
            data = json.loads(path.read_text())
            return ArrayRecord(**data)
        except (OSError, ValueError, TypeError):
            return None

    def add(self, record: ArrayRecord) -> None:
        with self._locked():
            self._write(record)

    def begin(self, token: str, record: ArrayRecord) -> None:
        """Note a launch about to be submitted (its ``job`` still empty)."""
        self.launching.mkdir(parents=True, exist_ok=True)
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
        return self._read(self._path(job))

    def all(self) -> list[ArrayRecord]:
        """Every record, oldest launch first."""
        if not self.arrays.is_dir():
            return []
        records = [self._read(path) for path in self.arrays.glob("*.json")]
        return sorted((r for r in records if r is not None), key=lambda r: (r.created, r.job))

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
