"""Copies between any two storages: streamed, several files at once, verified, never partial.

Each file is written as ``NAME.part`` and renamed to ``NAME`` only once its size (and its
checksum, where a storage publishes one) matches the source, so a file under its final name is
always complete. A file already complete at the destination (same size, same checksum where
known) is skipped: running an interrupted copy again copies only what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from canfar_core.errors import CanfarError, NotFound, ValidationError
from canfar_plugins.data_commands.targets import (
    Target,
    folder_entries,
    is_dir,
    reported,
    translate,
)

#: Bytes read and written at a time: memory stays near ``CHUNK`` per file in flight.
CHUNK = 4 * 1024 * 1024
PART = ".part"
DEFAULT_JOBS = 4


@dataclass
class Job:
    """One file to copy."""

    src: Target
    dst: Target
    size: int
    checksum: str | None = None


@dataclass
class Plan:
    """The folders to make and the files to copy, in order."""

    folders: list[Target] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


def published_checksum(details: dict[str, Any]) -> str | None:
    """The MD5 a storage publishes for a file (``md5``, or ``checksum`` as ``md5:HEX``)."""
    value = details.get("md5") or details.get("checksum")
    if not isinstance(value, str) or not value:
        return None
    value = value.lower()
    if ":" in value:
        algorithm, _, value = value.partition(":")
        if algorithm != "md5":
            return None
    return value if len(value) == 32 else None


def _exists(target: Target) -> dict[str, Any] | None:
    try:
        with reported(target.label):
            return dict(target.fs.info(target.path))
    except CanfarError as exc:
        if isinstance(exc, NotFound):
            return None
        raise


def plan(sources: list[Target], dest: Target, recursive: bool) -> Plan:
    """What copying ``sources`` to ``dest`` means, as ``cp`` reads it: into ``dest`` when it is
    a folder (or ends with ``/``, or there are several sources), else to ``dest`` itself."""
    found = _exists(dest)
    into = (found is not None and is_dir(found)) or dest.operand.path.endswith("/")
    if len(sources) > 1 and not into:
        if found is not None:
            raise ValidationError(f"{dest.label}: is not a folder (copying several paths)")
        into = True
    result = Plan()
    if into and found is None:
        result.folders.append(dest)
    for src in sources:
        with reported(src.label):
            details = dict(src.fs.info(src.path))
        target = dest.child(src.basename()) if into else dest
        if not is_dir(details):
            result.jobs.append(
                Job(src, target, int(details.get("size") or 0), published_checksum(details))
            )
            continue
        if not recursive:
            raise ValidationError(f"{src.label}: is a folder", hint="add -r to copy folders")
        _plan_folder(src, details, target, result)
    return result


def _plan_folder(src: Target, details: dict[str, Any], target: Target, result: Plan) -> None:
    result.folders.append(target)
    for inside, entry in folder_entries(src, details):
        here = target.child(inside)
        there = src.child(inside)
        if is_dir(entry):
            result.folders.append(here)
        else:
            size = int(entry.get("size") or 0)
            result.jobs.append(Job(there, here, size, published_checksum(entry)))


def _local_md5(target: Target) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with target.fs.open(target.path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def complete(job: Job) -> bool:
    """Whether the destination already holds the whole file (size, then checksum when known)."""
    found = _exists(job.dst)
    if found is None or is_dir(found) or int(found.get("size") or -1) != job.size:
        return False
    if job.checksum is None:
        return True
    theirs = published_checksum(found)
    if theirs is None and job.dst.operand.identifier == "local":
        theirs = _local_md5(job.dst)
    return theirs is None or theirs == job.checksum


class Cancelled(Exception):
    """Raised inside a copy when the person pressed Ctrl-C."""


def copy_file(job: Job, progress: Callable[[int], None], cancel: threading.Event) -> None:
    """Copy one file through ``NAME.part``, verify it, then give it its name."""
    part = job.dst.path + PART
    digest = hashlib.md5(usedforsecurity=False)
    written = 0
    try:
        with contextlib.ExitStack() as files:
            with reported(job.src.label):
                stream = files.enter_context(job.src.fs.open(job.src.path, "rb"))
            with reported(job.dst.label):
                parent = posixpath.dirname(job.dst.path)
                if parent and parent != job.dst.path:
                    job.dst.fs.makedirs(parent, exist_ok=True)
                out = files.enter_context(job.dst.fs.open(part, "wb"))
            for block in _read_ahead(stream, job.src.label, cancel, digest):
                with reported(job.dst.label):
                    out.write(block)
                written += len(block)
                progress(len(block))
        _verify(job, part, written, digest.hexdigest())
        with reported(job.dst.label):
            job.dst.fs.mv(part, job.dst.path)
    except BaseException:
        _remove_quietly(job.dst, part)
        raise


def _read_ahead(stream: Any, label: str, cancel: threading.Event, digest: Any) -> Iterator[bytes]:
    """The blocks of ``stream``, read and added to ``digest`` by a thread of their own one
    block ahead of the writer, so that reading and checksumming overlap with writing."""
    blocks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                with reported(label):
                    block = stream.read(CHUNK)
                digest.update(block)  # releases the GIL: overlaps with the writer's write
                blocks.put(block)
                if not block:
                    return
        except BaseException as exc:
            blocks.put(exc)

    reader = threading.Thread(target=read, daemon=True, name="canfar-read")
    reader.start()
    try:
        while True:
            if cancel.is_set():
                raise Cancelled
            try:
                item = blocks.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            blocks.get_nowait()  # a reader waiting to put its block can see the stop
        reader.join(timeout=1.0)  # a read stuck on the network ends with its own timeout


def _verify(job: Job, part: str, written: int, checksum: str) -> None:
    if written != job.size:
        raise CanfarError(
            f"{job.src.label}: read {written} bytes of {job.size}",
            hint="the source changed or the connection was cut; run the copy again",
        )
    with reported(job.dst.label):
        arrived = dict(job.dst.fs.info(part))
    if int(arrived.get("size") or 0) != written:
        raise CanfarError(
            f"{job.dst.label}: {arrived.get('size')} bytes arrived of {written}",
            hint="run the copy again",
        )
    theirs = published_checksum(arrived)
    for known, where in ((job.checksum, job.src.label), (theirs, job.dst.label)):
        if known is not None and known != checksum:
            raise CanfarError(
                f"{where}: checksum mismatch (published {known}, copied {checksum})",
                hint="run the copy again",
            )


def _remove_quietly(target: Target, path: str) -> None:
    try:
        if target.fs.exists(path):
            target.fs.rm(path)
    except Exception:  # best effort: the copy's own error is the one to report
        pass


@dataclass
class Outcome:
    """What a copy did."""

    copied: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    failed: dict[str, CanfarError] = field(default_factory=dict)
    not_started: list[Job] = field(default_factory=list)


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def run(
    work: Plan,
    jobs: int = DEFAULT_JOBS,
    show_progress: bool | None = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """Make the folders, then copy the files not yet complete, ``jobs`` at a time.

    A progress bar shows on standard error when it is a terminal. Ctrl-C stops every copy,
    removes the partial files and raises ``KeyboardInterrupt``; ``outcome`` (filled as files
    arrive) then says what arrived.
    """
    outcome = outcome if outcome is not None else Outcome()
    for folder in work.folders:
        with reported(folder.label):
            folder.fs.makedirs(folder.path, exist_ok=True)
    pending: list[Job] = []
    for job in work.jobs:
        (outcome.skipped if complete(job) else pending).append(job)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    total = sum(job.size for job in pending)
    with _Progress(total, len(pending), show_progress) as progress:
        _copy_all(pending, jobs, progress.update, outcome)
    return outcome


def _copy_all(
    pending: list[Job], jobs: int, progress: Callable[[int], None], outcome: Outcome
) -> None:
    cancel = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="canfar-cp") as pool:
        futures: dict[Future[None], Job] = {
            pool.submit(copy_file, job, progress, cancel): job for job in pending
        }
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, timeout=0.2, return_when=FIRST_EXCEPTION)
                for future in done:
                    _record(future, futures[future], outcome)
        except KeyboardInterrupt:
            cancel.set()
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True)
            for future, job in futures.items():
                if future.cancelled():
                    outcome.not_started.append(job)
                elif job not in outcome.copied and job.dst.label not in outcome.failed:
                    _record(future, job, outcome)
            raise


def _record(future: Future[None], job: Job, outcome: Outcome) -> None:
    exc = future.exception()
    if exc is None:
        outcome.copied.append(job)
    elif isinstance(exc, Cancelled):
        outcome.not_started.append(job)
    else:
        error = translate(exc, job.src.label) or CanfarError(f"{job.src.label}: {exc}")
        outcome.failed[job.dst.label] = error


class _Progress:
    """A click progress bar on a terminal, fed from several threads; nothing otherwise."""

    def __init__(self, total: int, files: int, show: bool) -> None:
        self.show = show and total > 0
        self.total = total
        self.files = files
        self.done = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.bar: Any = None

    def __enter__(self) -> _Progress:
        if self.show:
            import click

            self.bar = click.progressbar(
                length=self.total,
                label=f"Copying {self.files} file{'s' if self.files != 1 else ''}",
                file=sys.stderr,
                item_show_func=self._status,
            )
            self.bar.__enter__()
        return self

    def _status(self, _item: Any) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{human(self.done)} of {human(self.total)}, {human(self.done / elapsed)}/s"

    def update(self, count: int) -> None:
        with self.lock:
            self.done += count
            if self.bar is not None:
                self.bar.update(count, self.done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
