"""A fake Slurm controller for fault tests: real ``sbatch``, ``squeue`` and ``scancel``
executables on ``PATH`` that share one JSON file, which the test reads and changes.

``sbatch`` records the array (every task RUNNING) and prints its job id; ``squeue`` answers as
Slurm does (``--array`` lines for ``--jobs``, ``%F|%k`` comment lines for ``--me``), or, while
the test has set ``answer`` to ``"garbled"``, prints lines canfar cannot read; ``scancel``
records what it was asked, cancels what it knows and, like Slurm, refuses an id it does not
know ("Invalid job id specified", exit 1). There is no ``sacct``: no accounting.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

PROGRAM = r"""
import json, os, re, sys
STATE = __STATE__
command = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(STATE) as handle:
    state = json.load(handle)

def save():
    with open(STATE + ".tmp", "w") as handle:
        json.dump(state, handle)
    os.replace(STATE + ".tmp", STATE)

def option(name):
    for arg in args:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None

if command == "sbatch":
    sys.stdin.read()
    job = str(state["next"])
    state["next"] += 1
    tasks = []
    for part in option("array").split(","):
        first, _, last = part.partition("-")
        tasks += range(int(first), int(last or first) + 1)
    state["jobs"][job] = {"comment": option("comment"), "tasks": {str(t): "RUNNING" for t in tasks},
                          "args": args}
    save()
    print(job)
elif command == "squeue":
    if state["answer"] == "garbled":
        print("slurm_load_jobs error: Unexpected message received")
        print("\x00\x00 ###")
        sys.exit(0)
    if "--me" in args:
        for job, entry in state["jobs"].items():
            print(f"{job}|{entry['comment'] or '(null)'}")
        sys.exit(0)
    for job in (option("jobs") or "").split(","):
        for task, word in state["jobs"].get(job, {}).get("tasks", {}).items():
            word, _, reason = word.partition(":")  # "PENDING:Resources": a state and its reason
            print(f"{job}_{task}|{word}|2026-01-05T10:00:00|2026-01-05T10:00:01|N/A|node1|debug|"
                  f"{reason or 'None'}")
elif command == "scancel":
    state["scancel"].append(args)
    unknown = []
    for target in args:
        job, _, task = target.partition("_")
        tasks = state["jobs"].get(job, {}).get("tasks", {})
        chosen = [task] if task else list(tasks)
        if not chosen or any(t not in tasks for t in chosen):
            unknown.append(target)
            continue
        for t in chosen:
            if tasks[t].partition(":")[0] in ("RUNNING", "PENDING"):
                tasks[t] = "CANCELLED"
    save()
    for target in unknown:
        print(f"scancel: error: Kill job error on job id {target}: Invalid job id specified",
              file=sys.stderr)
    sys.exit(1 if unknown else 0)
"""


class FakeSlurm:
    """The controller's state, read and changed by the test."""

    def __init__(self, folder: Path) -> None:
        self.bin = folder / "bin"
        self.path = folder / "controller.json"
        self.bin.mkdir(parents=True)
        self.path.write_text(json.dumps({"next": 700, "jobs": {}, "answer": "ok", "scancel": []}))
        program = PROGRAM.replace("__STATE__", repr(str(self.path)))
        for command in ("sbatch", "squeue", "scancel"):
            script = self.bin / command
            script.write_text(f"#!{sys.executable}\n{program}")
            script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def read(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def change(self, **values: Any) -> None:
        state = self.read()
        state.update(values)
        self.path.write_text(json.dumps(state))

    def set_task(self, job: str, task: int, word: str) -> None:
        """Put a task in state ``word`` (``PENDING:Resources`` gives Slurm's reason too)."""
        state = self.read()
        state["jobs"][job]["tasks"][str(task)] = word
        self.path.write_text(json.dumps(state))

    def forget(self, job: str) -> None:
        """The controller no longer remembers ``job`` (``MinJobAge`` passed)."""
        state = self.read()
        del state["jobs"][job]
        self.path.write_text(json.dumps(state))

    @property
    def cancelled(self) -> list[list[str]]:
        """The argument lists ``scancel`` was run with."""
        return list(self.read()["scancel"])


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSlurm:
    """The fake controller's commands first on ``PATH`` (the system's tools after them)."""
    slurm = FakeSlurm(tmp_path / "fakeslurm")
    monkeypatch.setenv("PATH", f"{slurm.bin}:/usr/bin:/bin")
    return slurm
