#!/usr/bin/env python3
"""``canfar data`` against the fake VOSpace service: copy throughput and memory, and ``ls``.

It starts the project's fake Skaha and VOSpace services (``tests/fakeskaha``,
``tests/fakevospace``: real HTTP servers on 127.0.0.1, in this process), logs a fresh
configuration in to them, and runs ``canfar`` as a separate process for each figure:

* a copy of one SIZE file up (``canfar data cp FILE arc:/``) and down (``canfar data cp arc:/FILE
  OUT``), against ``curl`` sending and fetching the same bytes through the same service (a
  transfer negotiated beforehand, so curl only moves bytes): seconds, MiB/s, the ratio to curl,
  and canfar's peak resident memory;
* ``canfar data ls`` of a folder of ENTRIES files: wall time of the whole command.

The fake keeps files in memory and is written in Python, so absolute throughput is the fake's;
the ratio to curl through the same fake is what to read.

    python benchmarks/data.py                          # 1 GiB, 10,000 entries, 3 runs each
    python benchmarks/data.py --size-mib 256 --entries 2000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakeskaha import FakeSkaha  # noqa: E402 - needs the project root on sys.path
from tests.fakevospace import FakeVOSpace  # noqa: E402

TIME = Path("/usr/bin/time").exists()
TARGETS = {"throughput": 0.8, "memory_mib": 100.0, "ls_seconds": 2.0}


def canfar_command() -> list[str]:
    found = shutil.which("canfar", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "canfar._command"]


def environment(home: Path, skaha: FakeSkaha) -> dict[str, str]:
    """A fresh HOME and XDG folders with a saved login to the fake service.

    Compiled modules are cached (in a folder of the fresh HOME), as they are for an installed
    canfar, even where ``PYTHONDONTWRITEBYTECODE`` is set: else every run compiles canfar and
    its dependencies from source again, a few tenths of a second that curl does not spend.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANFAR_", "XDG_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(home / "pycache"),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        CANFAR_REGISTRY_URLS=f"token={skaha.registry_url}",
    )
    config = home / "config" / "canfar"
    config.mkdir(parents=True)
    context = {"backend": "canfar", "url": skaha.url, "auth": "token"}
    (config / "config.json").write_text(
        json.dumps({"active": "fake", "contexts": {"fake": context}})
    )
    secrets = config / "credentials.json"
    secrets.write_text(json.dumps({"fake": {"token": skaha.token}}))
    secrets.chmod(0o600)
    return env


def measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``argv``: wall seconds, peak resident memory (MiB) and processor seconds (user and
    system) of the process.

    Both are read by ``/usr/bin/time``, a small process of its own: a child started straight
    from this process (which holds the fake's files) would be charged for this process's memory
    too, from before it replaced itself with ``argv``. Processor time depends less than wall
    time on what else the machine runs.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        timer = ["/usr/bin/time", "-f", "%M %U %S", "-o", report.name] if TIME else []
        started = time.perf_counter()
        result = subprocess.run([*timer, *argv], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr}")
        figures = report.read().strip().splitlines()[-1].split() if TIME else ["nan"] * 3
    peak, user, system = (float(value) for value in figures)
    return elapsed, peak / 1024, user + system


def transfer_url(vospace: FakeVOSpace, path: str, direction: str) -> str:
    """Negotiate a transfer as any client would, so that curl only moves bytes."""
    body = (
        '<vos:transfer xmlns:vos="http://www.ivoa.net/xml/VOSpace/v2.0" version="2.1">'
        f"<vos:target>vos://fake.local~arc{path}</vos:target>"
        f"<vos:direction>{direction}</vos:direction></vos:transfer>"
    ).encode()
    request = urllib.request.Request(
        f"{vospace.root}/synctrans",
        data=body,
        headers={"Authorization": f"Bearer {vospace.token}", "Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request) as answer:  # follows the 303 to the transfer
        text = answer.read().decode()
    return text.split("<vos:endpoint>")[1].split("</vos:endpoint>")[0]


def copies(vospace: FakeVOSpace, env: dict[str, str], work: Path, size_mib: int, runs: int) -> None:
    source = work / "big.bin"
    with source.open("wb") as out:
        block = os.urandom(1024 * 1024)
        for _ in range(size_mib):
            out.write(block)
    size = size_mib * 1024 * 1024
    canfar = canfar_command()
    warm = work / "warm.txt"
    warm.write_text("compiles the modules a copy uses, once, before anything is timed\n")
    measured([*canfar, "data", "cp", str(warm), "arc:/warm.txt"], env)
    measured([*canfar, "data", "cp", "arc:/warm.txt", str(work / "warm-down.txt")], env)
    rows = []
    for direction in ("up", "down"):
        ours, theirs, memory, our_cpu, their_cpu = [], [], [], [], []
        for run in range(runs):
            vospace.nodes.pop("/big.bin", None)
            vospace.nodes.pop("/curl.bin", None)
            target = work / f"down-{run}.bin"
            if direction == "down":
                vospace.put_file("/big.bin", source.read_bytes())
                vospace.put_file("/curl.bin", vospace.nodes["/big.bin"].data)
                url = transfer_url(vospace, "/curl.bin", "pullFromVoSpace")
                curl = measured(["curl", "-sSf", "-o", str(target), url])
                target.unlink()
                seconds, peak, cpu = measured(
                    [*canfar, "data", "cp", "arc:/big.bin", str(target)], env
                )
                target.unlink()
            else:
                url = transfer_url(vospace, "/curl.bin", "pushToVoSpace")
                curl = measured(["curl", "-sSf", "-T", str(source), url])
                seconds, peak, cpu = measured([*canfar, "data", "cp", str(source), "arc:/"], env)
                assert len(vospace.nodes["/big.bin"].data) == size
            theirs.append(curl[0])
            their_cpu.append(curl[2])
            ours.append(seconds)
            memory.append(peak)
            our_cpu.append(cpu)
        ours_s, curl_s = statistics.median(ours), statistics.median(theirs)
        cpus = statistics.median(our_cpu), statistics.median(their_cpu)
        rows.append((direction, ours_s, curl_s, max(memory), *cpus))
    for path in ("/big.bin", "/curl.bin"):
        vospace.nodes.pop(path, None)
    print(f"\n1 copy of {size_mib} MiB through the fake VOSpace service (median of {runs}):\n")
    print(
        "| direction | canfar s | canfar MiB/s | curl s | curl MiB/s | canfar/curl throughput "
        "| canfar peak RSS MiB | canfar CPU s | curl CPU s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for direction, ours_s, curl_s, peak, our_cpu, curl_cpu in rows:
        ratio = curl_s / ours_s
        print(
            f"| {direction} | {ours_s:.2f} | {size_mib / ours_s:.0f} | {curl_s:.2f} | "
            f"{size_mib / curl_s:.0f} | {ratio:.2f} (target >= {TARGETS['throughput']}) | "
            f"{peak:.0f} (target < {TARGETS['memory_mib']:.0f}) | {our_cpu:.2f} | {curl_cpu:.2f} |"
        )
    print("\n(CPU: user + system seconds of the client process alone, not the fake's.)")


def listing(vospace: FakeVOSpace, env: dict[str, str], entries: int, runs: int) -> None:
    from tests.fakevospace.server import Node

    vospace.nodes.setdefault("/", Node(folder=True))
    vospace.nodes["/many"] = Node(folder=True)
    for n in range(entries):
        vospace.nodes[f"/many/image-{n:06d}.fits"] = Node(False, b"x", "")
    canfar = canfar_command()
    measured([*canfar, "data", "ls", "arc:/"], env)  # compiles the modules, untimed
    times = [measured([*canfar, "data", "ls", "arc:/many"], env)[0] for _ in range(runs)]
    long = [measured([*canfar, "data", "ls", "-l", "arc:/many"], env)[0] for _ in range(runs)]
    print(f"\n`canfar data ls` of {entries:,} entries (whole command, median of {runs}):\n")
    print("| command | seconds | target |")
    print("| --- | ---: | ---: |")
    print(f"| `ls` | {statistics.median(times):.2f} | < {TARGETS['ls_seconds']:g} |")
    print(f"| `ls -l` | {statistics.median(long):.2f} | < {TARGETS['ls_seconds']:g} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the copied file")
    parser.add_argument("--entries", type=int, default=10_000, help="entries listed by ls")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["copy", "ls"])
    options = parser.parse_args(argv)
    if shutil.which("curl") is None and options.only != "ls":
        print("curl is not installed: copies are not measured", file=sys.stderr)
        options.only = "ls"
    skaha = FakeSkaha().start()
    vospace = FakeVOSpace(token=skaha.token).start()
    skaha.registry_records.append(vospace.record)
    try:
        with tempfile.TemporaryDirectory(prefix="canfar-bench-") as folder:
            work = Path(folder)
            env = environment(work / "home", skaha)
            if options.only in (None, "copy"):
                copies(vospace, env, work, options.size_mib, options.runs)
            if options.only in (None, "ls"):
                listing(vospace, env, options.entries, options.runs)
    finally:
        vospace.stop()
        skaha.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
