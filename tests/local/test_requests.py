"""What the local backend refuses, and what it says about this machine."""

from __future__ import annotations

import os

import pytest

from canfar_core.errors import CanfarError, Unsupported, ValidationError
from canfar_plugins.local import machine
from tests.failures import failure_of, reasons_of
from tests.local.conftest import wait_final


def test_more_cores_than_the_machine_has_is_refused_naming_both(session):
    cpus = machine.cpu_count()
    with pytest.raises(ValidationError) as caught:
        session.create(image="img/x:1", cmd="true", cores=cpus + 1)
    assert f"cores {cpus + 1}" in str(caught.value)
    assert f"({cpus} CPUs)" in str(caught.value)
    assert session.fetch() == []


def test_more_memory_than_the_machine_has_is_refused_naming_both(session):
    total = machine.total_memory_gb()
    asked = int(total) + 1
    with pytest.raises(ValidationError) as caught:
        session.create(image="img/x:1", cmd="true", ram=asked)
    assert f"ram {asked} GB" in str(caught.value)
    assert f"{total:.1f} GB" in str(caught.value)


def test_a_request_the_machine_can_hold_runs_with_omp_threads_set(session):
    [session_id] = session.create(
        image="img/x:1", cmd="sh", args=["-c", "echo $OMP_NUM_THREADS"], cores=1, ram=0.5
    )
    info = wait_final(session, [session_id])[session_id]
    assert (info.cores, info.ram) == (1, 0.5)
    assert session.logs(session_id, errors="raise")[session_id] == "1\n"


def test_gpus_the_machine_does_not_have_are_refused(session):
    gpus = machine.gpu_count()
    with pytest.raises(ValidationError, match=f"gpus {gpus + 1} .*{gpus} GPUs"):
        session.create(image="img/x:1", cmd="true", gpu=gpus + 1)


@pytest.mark.parametrize("kind", ["desktop", "carta", "firefly", "contributed"])
def test_platform_only_kinds_are_not_available_locally(session, kind):
    with pytest.raises(Unsupported, match=f"{kind} sessions are not available on the local"):
        session.create(image="img/x:1", kind=kind)
    assert session.fetch() == []


def test_a_headless_session_on_the_host_needs_a_command(session):
    with pytest.raises(ValidationError, match="needs a command"):
        session.create(image="img/x:1")


def test_a_missing_working_directory_is_refused(session, tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        session.create(image="img/x:1", cmd="true", workdir=str(tmp_path / "nowhere"))


def test_workdir_option_chooses_where_replicas_run(session, tmp_path):
    [session_id] = session.create(image="img/x:1", cmd="pwd", workdir=str(tmp_path))
    wait_final(session, [session_id])
    assert session.logs(session_id, errors="raise")[session_id] == f"{tmp_path}\n"


def test_open_url_of_a_headless_session_is_refused(session):
    [session_id] = session.create(image="img/x:1", cmd="true")
    with pytest.raises(Unsupported, match="no URL"):
        raise failure_of(session.urls, session_id)


def test_stats_count_this_machine_and_its_running_sessions(session):
    ids = session.create(image="img/x:1", cmd="sleep", args=["300"], replicas=2, cores=1, ram=1)
    session.wait(ids, status="Running", timeout=10, poll=0.02)
    stats = session.stats()
    assert stats.cores_available == machine.cpu_count()
    assert stats.ram_available_gb == pytest.approx(machine.total_memory_gb(), abs=0.01)
    assert stats.sessions_running == 2
    assert (stats.cores_requested, stats.ram_requested_gb) == (2, 2)
    reasons_of(session.destroy, ids)
    assert session.stats().sessions_running == 0


def test_resources_offer_what_this_machine_has(session):
    resources = session.resources()
    assert max(resources.cores) == machine.cpu_count()
    assert max(resources.ram) == int(machine.total_memory_gb())
    assert len(resources.gpus) == machine.gpu_count()


def test_images_lists_the_images_sessions_were_created_with(session):
    session.create(image="skaha/astroml:latest", cmd="true")
    session.create(image="skaha/casa:6.5", cmd="true")
    assert [(i.id, i.types) for i in session.images()] == [
        ("skaha/casa:6.5", ["headless"]),
        ("skaha/astroml:latest", ["headless"]),
    ]
    assert session.images(kind="notebook") == []


def test_renewing_a_running_session_is_a_harmless_no_op(session):
    [session_id] = session.create(image="img/x:1", cmd="sleep", args=["30"])
    assert reasons_of(session.renew, [session_id, "zzzzzzzz"]) == {
        session_id: None,
        "zzzzzzzz": "not found",
    }
    session.destroy([session_id])


def test_a_finished_session_cannot_be_renewed_and_says_so(session):
    [session_id] = session.create(image="img/x:1", cmd="true")
    wait_final(session, [session_id])
    reason = reasons_of(session.renew, [session_id])[session_id]
    assert reason == "it has ended (Completed): a finished session cannot be renewed"


def test_running_sessions_report_the_memory_they_use(session):
    code = "import time; x = bytearray(64 * 1024 * 1024); print('ok', flush=True); time.sleep(60)"
    import sys

    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    from tests.local.conftest import wait_for

    wait_for(
        lambda: session.logs(session_id, errors="raise")[session_id] == "ok\n",
        what="the allocation",
    )
    if not os.path.isdir("/proc/self"):
        pytest.skip("memory is read from /proc")
    assert session.info(session_id, errors="raise")[0].ram_in_use >= 0.06
    [listed] = session.fetch()
    assert listed.ram_in_use >= 0.06


def test_a_finished_notebook_has_nothing_to_open(session, state_root, workdir):
    from canfar_plugins.local.state import Record, Store

    Store(state_root).insert(
        [
            Record(
                id="nbdone01",
                name="nb",
                kind="notebook",
                image="img/x:1",
                status="Completed",
                replica=1,
                replicas=1,
                command=["jupyter-lab"],
                workdir=str(workdir),
                runtime="host",
                connect_url="http://127.0.0.1:1/lab?token=x",
                exit_code=0,
            )
        ]
    )
    with pytest.raises(CanfarError, match="Completed"):
        raise failure_of(session.urls, "nbdone01")
