"""Several canfar commands at once share one database without losing a session."""

from __future__ import annotations

import subprocess
import sys
import threading

from canfar.sessions import Session
from tests.local.conftest import wait_final


def test_two_threads_creating_at_once_both_land_in_the_listing(session):
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def launch(name: str) -> None:
        try:
            api = Session(backend="local")
            barrier.wait()
            results[name] = api.create(name=name, image="img/x:1", cmd="true", replicas=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=launch, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    listed = {s.id: s.name for s in session.fetch()}
    assert sorted(listed) == sorted(results["left"] + results["right"])
    assert sorted(listed.values()) == sorted(
        [f"left-{k}" for k in range(1, 6)] + [f"right-{k}" for k in range(1, 6)]
    )


def test_two_processes_creating_and_listing_at_once_lose_nothing(session):
    script = (
        "import sys\nfrom canfar.sessions import Session\n"
        "api = Session(backend='local')\n"
        "for n in range(4):\n"
        "    ids = api.create(name=f'{sys.argv[1]}{n}', image='img/x:1', cmd='true', replicas=3)\n"
        "    print(*ids)\n"
        "    api.fetch()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    launched = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        launched += out.split()
    assert len(launched) == 24
    infos = wait_final(session, launched)
    assert {info.status for info in infos.values()} == {"Completed"}
    assert sorted(s.id for s in session.fetch()) == sorted(launched)
