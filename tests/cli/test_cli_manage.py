"""canfar info, events, logs, open, delete, prune, renew, stats, images, completion."""

from __future__ import annotations

import json
import webbrowser

import pytest

IMAGE = "images.example.org/skaha/astroml:latest"


def test_info_shows_each_session_and_names_unknown_ids(world, run):
    one = world.add("first", status="Running", cores=2.0)
    two = world.add("second", status="Completed", exit_code=0)
    result = run("info", one, "m7777777", two)
    assert result.code == 1
    assert "name:" in result.out
    assert "first" in result.out
    assert "second" in result.out
    assert "cores:" in result.out
    assert result.err == "Error: no session with id 'm7777777'\n"  # one line, no summary


def test_info_json_is_a_list_of_sessions(world, run):
    sid = world.add("first")
    data = json.loads(run("info", "--json", sid).out)
    assert [d["id"] for d in data] == [sid]
    assert data[0]["status"] == "Running"


def test_info_refuses_something_that_is_not_an_id_before_asking(world, run):
    result = run("info", "../context")
    assert result.code == 2
    assert "'../context' is not a session id" in result.err


def test_events_as_text_and_json(world, run):
    sid = world.add("e")
    world.events[sid] = "TYPE\tREASON\nNormal\tScheduled"
    assert run("events", sid).out == "TYPE\tREASON\nNormal\tScheduled\n"
    assert json.loads(run("events", "--json", sid).out) == {
        "id": sid,
        "events": "TYPE\tREASON\nNormal\tScheduled",
    }


LOG = "tab\there [bold]not markup[/bold] \x1b[31mred\x1b[0m\r\n" + "x" * 300 + "\nno newline"


def test_logs_are_printed_byte_exact(world, run):
    sid = world.add("l")
    world.logs[sid] = LOG
    result = run("logs", sid)
    assert result.code == 0
    assert result.out == LOG


def test_logs_json(world, run):
    sid = world.add("l")
    world.logs[sid] = LOG
    assert json.loads(run("logs", "--json", sid).out) == {"id": sid, "logs": LOG}


def test_logs_follow_prints_chunks_as_they_come(world, run):
    sid = world.add("l")
    world.log_chunks[sid] = ["step 1\n", "step\t2", " done\n"]
    assert run("logs", "-f", sid).out == "step 1\nstep\t2 done\n"


def test_logs_follow_ctrl_c_says_the_session_still_runs(world, run):
    sid = world.add("l", status="Running")
    world.log_chunks[sid] = ["partial\n", KeyboardInterrupt()]
    result = run("logs", "--follow", sid)
    assert result.code == 130
    assert result.out == "partial\n"
    assert f"session {sid} is still Running" in result.err


def test_logs_of_unknown_session_exit_1(world, run):
    result = run("logs", "m0000042")
    assert result.code == 1
    assert "m0000042" in result.err


@pytest.fixture
def opened(monkeypatch):
    urls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, new=0: urls.append(url) or True)
    return urls


def test_open_prints_the_url_and_opens_a_browser_when_one_exists(world, run, opened, monkeypatch):
    monkeypatch.setenv("BROWSER", "true")
    ids = run("create", "-q", "notebook", IMAGE).out.split()
    run("ps")  # the notebook is Running once observed twice
    result = run("open", ids[0])
    assert result.code == 0, result.err
    assert result.out.strip() == f"https://sp.example.org/session/{ids[0]}/"
    assert opened == [result.out.strip()]


def test_open_without_a_browser_only_prints(world, run, opened, monkeypatch):
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    ids = run("create", "-q", "notebook", IMAGE).out.split()
    run("ps")
    assert run("open", ids[0]).out.startswith("https://")
    monkeypatch.setenv("BROWSER", "true")
    assert run("open", "--no-browser", ids[0]).code == 0
    data = json.loads(run("open", "--json", ids[0]).out)
    assert data == [{"id": ids[0], "url": f"https://sp.example.org/session/{ids[0]}/"}]
    assert opened == []


def test_open_refuses_headless_and_pending_sessions(world, run, opened):
    job = world.add("job", status="Running")
    pending = world.add("nb", kind="notebook", status="Pending")
    result = run("open", "--no-browser", job, pending)
    assert result.code == 1
    lines = result.err.splitlines()
    assert len(lines) == 2  # one line per failed id, no summary after them
    assert lines[0].startswith(f"Error: session {job} is headless")
    assert lines[1].startswith(f"Error: session {pending} is Pending")
    assert result.out == ""


def test_open_prints_the_urls_it_can_and_one_error_line_per_other_id(world, run, opened):
    ids = run("create", "-q", "notebook", IMAGE).out.split()
    run("ps")
    result = run("open", "--no-browser", ids[0], "m0000404")
    assert result.code == 1
    assert result.out == f"https://sp.example.org/session/{ids[0]}/\n"
    assert result.err == "Error: no session with id 'm0000404'\n"


def test_delete_prints_deleted_ids_and_names_failures(world, run):
    keep = world.add("a")
    gone = world.add("b")
    world.delete_failures[keep] = "permission denied"
    result = run("delete", "--force", keep, gone, "m0000099")
    assert result.code == 1
    assert result.out.split() == [gone]
    # what was done, then one line per failed id naming it once; no summary after them
    assert result.err == (
        "Deleted 1 session.\n"
        f"Error: {keep}: permission denied\n"
        "Error: no session with id 'm0000099'\n"
    )


def test_delete_where_nothing_could_be_deleted_names_only_the_failures(world, run):
    sid = world.add("a")
    world.delete_failures[sid] = "permission denied"
    result = run("delete", "--force", sid)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"Error: {sid}: permission denied\n"


def test_delete_json_still_names_failures_on_stderr_and_exits_1(world, run):
    keep, gone = world.add("a"), world.add("b")
    world.delete_failures[keep] = "permission denied"
    result = run("delete", "--force", "--json", keep, gone)
    assert result.code == 1
    assert json.loads(result.out) == [
        {"id": keep, "ok": False, "error": "permission denied"},
        {"id": gone, "ok": True, "error": None},
    ]
    assert result.err == f"Error: {keep}: permission denied\n"


def test_a_reason_from_the_server_stays_on_one_line(world, run):
    sid = world.add("a")
    world.delete_failures[sid] = "denied\nby \x1b[31mpolicy"
    result = run("delete", "--force", sid)
    assert result.err == f"Error: {sid}: denied\\nby \\x1b[31mpolicy\n"


def test_delete_json_and_success(world, run):
    ids = [world.add("a"), world.add("b")]
    result = run("delete", "--force", "--json", *ids)
    assert result.code == 0
    assert json.loads(result.out) == [
        {"id": ids[0], "ok": True, "error": None},
        {"id": ids[1], "ok": True, "error": None},
    ]
    assert world.sessions == {}


def test_delete_bad_id_sends_nothing(world, run):
    sid = world.add("a")
    result = run("delete", "--force", sid, "../context")
    assert result.code == 2
    assert world.delete_calls == []


def test_ps_quiet_pipes_into_delete(world, run):
    for name in ("a", "b", "c"):
        world.add(name)
    ids = run("ps", "-q").out.split()
    assert run("delete", "--force", *ids).code == 0
    assert world.sessions == {}


@pytest.fixture
def prunable(world):
    return {
        "done": world.add("batch-1", status="Completed"),
        "failed": world.add("batch-2", status="Failed"),
        "running": world.add("batch-3", status="Running"),
        "other": world.add("other-1", status="Completed"),
        "nb": world.add("batch-nb", kind="notebook", status="Completed"),
    }


def test_prune_defaults_to_completed_headless(prunable, world, run):
    result = run("prune", "--yes")
    assert result.code == 0, result.err
    assert set(result.out.split()) == {prunable["done"], prunable["other"]}
    assert set(world.sessions) == {prunable["failed"], prunable["running"], prunable["nb"]}


def test_prune_by_prefix_and_several_statuses(prunable, world, run):
    result = run("prune", "BATCH", "-s", "Completed", "-s", "Failed", "--yes")
    assert set(result.out.split()) == {prunable["done"], prunable["failed"]}


def test_prune_dry_run_deletes_nothing(prunable, world, run):
    result = run("prune", "--dry-run")
    assert prunable["done"] in result.out
    assert "would be deleted" in result.err
    assert len(world.sessions) == 5
    assert world.delete_calls == []


def test_prune_deletes_without_asking_off_a_terminal(prunable, world, run):
    """As the platform client's prune: what matches goes, no prompt, no --yes needed."""
    result = run("prune", "run", "headless", "Completed")  # the documented form
    assert (result.code, result.out) == (0, ""), result.err
    assert "Nothing to prune" in result.err
    result = run("prune", "batch", "headless", "Completed")
    assert result.code == 0, result.err
    assert result.out.split() == [prunable["done"]]
    assert prunable["done"] not in world.sessions
    assert len(world.sessions) == 4


def test_prune_matches_names_as_destroy_with_does(prunable, world, run):
    """One matcher: a regular expression ignores case on the command line and in Python alike
    (the platform keeps names in lower case)."""
    from canfar.sessions import Session

    dry = run("prune", "^BATCH-[12]$", "-s", "Completed", "-s", "Failed", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    listed = {s["id"] for s in json.loads(dry.out)}
    assert listed == {prunable["done"], prunable["failed"]}
    assert len(world.sessions) == 5
    deleted = Session().destroy_with("^BATCH-[12]$", status=["Completed", "Failed"])
    assert deleted == dict.fromkeys(listed, True)


def test_prune_with_nothing_to_do(world, run):
    result = run("prune", "nothing-here", "--yes")
    assert (result.code, result.out) == (0, "")
    assert "Nothing to prune" in result.err


def test_renew_reports_each_session(world, run):
    sid = world.add("nb", kind="notebook")
    result = run("renew", sid, "m0000404")
    assert result.code == 1
    assert result.out.split() == [sid]
    assert result.err == "Renewed 1 session.\nError: no session with id 'm0000404'\n"
    assert world.sessions[sid].info.expiry_time == "2026-01-05T00:00:00Z"


def test_stats_table_and_json(world, run):
    world.add("a", status="Running")
    data = json.loads(run("stats", "--json").out)
    assert data["cores_available"] == 64.0
    assert data["sessions_running"] == 1
    text = run("stats").out
    assert "cores available" in text
    assert "64" in text


def test_images_filtered_quiet_and_json(world, run):
    assert run("images", "-q", "--kind", "carta").out.split() == [
        "images.example.org/skaha/carta:4.1"
    ]
    data = json.loads(run("images", "--json").out)
    assert {"id", "types", "digest"} == set(data[0])
    assert "KINDS" in run("images").out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(world, run, shell):
    result = run("completion", shell)
    assert result.code == 0
    assert "_CANFAR_COMPLETE" in result.out


def test_completion_without_the_shell_installed_is_one_clear_line(world, run, monkeypatch):
    # click 8.1 runs bash to learn its version before writing the bash script.
    from click.shell_completion import BashComplete

    def no_bash(self):
        raise FileNotFoundError(2, "No such file or directory", "bash")

    monkeypatch.setattr(BashComplete, "source", no_bash)
    result = run("completion", "bash")
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert line.startswith("Error: cannot make the bash completion script")
    assert "installed" in line


def complete(capsys, words: str, cword: int) -> list[str]:
    """What bash completion offers for ``words`` (click's bash_complete protocol)."""
    import os

    from canfar_core.cli import main

    os.environ.update(
        {"_CANFAR_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    )
    try:
        capsys.readouterr()
        try:
            code = main([])
        except SystemExit as exc:  # click ends a completion request with sys.exit
            code = exc.code
        assert code == 0
        return capsys.readouterr().out.splitlines()
    finally:
        for name in ("_CANFAR_COMPLETE", "COMP_WORDS", "COMP_CWORD"):
            os.environ.pop(name, None)


def test_completion_offers_session_ids_from_the_backend(world, capsys):
    first = world.add("first")
    second = world.add("second")
    assert complete(capsys, "canfar delete m", 2) == [f"plain,{first}", f"plain,{second}"]
    # ids already given are not offered again
    assert complete(capsys, f"canfar delete {first} m", 3) == [f"plain,{second}"]


def test_completion_offers_context_names(canfar_home, capsys):
    from canfar_core import config

    store = config.config_file()
    store.write({"contexts": {"cadc": {"backend": "canfar", "url": "https://x/skaha"}}})
    assert complete(capsys, "canfar --context ", 2) == ["plain,local", "plain,cadc"]


def test_colour_only_on_a_terminal_and_never_with_no_color(world, run, monkeypatch):
    import sys

    sid = world.add("c", status="Running")
    assert "\x1b[" not in run("info", sid).out  # not a terminal
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[32mRunning" in run("info", sid).out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run("info", sid).out


def test_deleting_many_on_a_terminal_shows_progress_on_stderr(world, run, monkeypatch):
    import sys

    ids = [world.add(f"s{n}") for n in range(40)]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    result = run("delete", "--force", *ids)
    assert result.code == 0
    assert result.out.split() == ids
    assert "Deleting" in result.err
    assert [len(batch) for batch in world.delete_calls] == [16, 16, 8]


def test_deleting_many_off_a_terminal_is_one_call_and_no_bar(world, run):
    ids = [world.add(f"s{n}") for n in range(40)]
    result = run("delete", "--force", *ids)
    assert "Deleting" not in result.err
    assert [len(batch) for batch in world.delete_calls] == [40]


def test_completion_offers_session_kinds(world, capsys):
    assert complete(capsys, "canfar create head", 2) == ["plain,headless"]
    assert complete(capsys, "canfar ps --kind no", 3) == ["plain,notebook"]


def test_completion_offers_backend_names(world, capsys):
    assert complete(capsys, "canfar ps --backend lo", 3) == ["plain,local"]
    assert complete(capsys, "canfar ps --backend mem", 3) == ["plain,memory"]


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("end_time", "end time"),
        ("runAsUID", "run as UID"),
        ("requestedGPUCores", "requested GPU cores"),
        ("ram_free_gb", "ram free GB"),
        ("pgid", "pgid"),
    ],
)
def test_backend_fields_read_like_the_others(key, label):
    from canfar_plugins.session_commands.common import field_label

    assert field_label(key) == label


def test_delete_all_with_nothing_running_says_so_and_exits_0(world, run):
    world.add("old", status="Completed")
    result = run("delete", "--all")
    assert result.code == 0, result.err
    assert result.out == ""
    assert "Nothing to delete: no pending or running sessions" in result.err
    assert world.delete_calls == []


def test_delete_all_deletes_the_pending_and_running_sessions_only(world, run):
    running, pending = world.add("a", status="Running"), world.add("b", status="Pending")
    world.add("done", status="Completed")
    result = run("delete", "--all", "--force")
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted([running, pending])
    assert sorted(sid for call in world.delete_calls for sid in call) == sorted([running, pending])


@pytest.mark.parametrize(
    ("argv", "note"),
    [
        (["delete"], "Nothing to delete: no session ids were given."),
        (["wait"], "Nothing to wait for: no session ids were given."),
        (["logs", "-o", "saved"], "Nothing to save: no session ids were given."),
    ],
)
def test_an_empty_id_list_from_ps_q_is_a_note_and_exit_0(world, run, argv, note, tmp_path):
    """`canfar delete $(canfar ps -q)` and the like, when nothing runs."""
    assert run("ps", "-q").out == ""
    result = run(*argv)
    assert result.code == 0, result.err
    assert note in result.err
    assert result.out == ""
    assert world.delete_calls == []


def test_logs_with_no_id_and_nowhere_to_save_is_a_usage_error(world, run):
    assert run("logs").code == 2


def test_info_labels_and_values_read_as_words(world, run):
    sid = world.add("x", extra={"fixedResources": False, "isGPU": True, "requestedRAM": 8.0})
    lines = [" ".join(line.split()) for line in run("info", sid).out.splitlines()]
    assert "fixed resources: no" in lines
    assert "is GPU: yes" in lines
    assert "requested RAM: 8" in lines


def test_terminating_sessions_are_listed_and_deleted_by_delete_all(world, run):
    """A delete that was interrupted leaves sessions Terminating: they may still run, so ps
    lists them and delete --all finishes the job."""
    stuck = world.add("stuck", status="Terminating")
    done = world.add("done", status="Completed")
    assert run("ps", "-q").out.split() == [stuck]
    deleted = run("delete", "--all", "--force")
    assert deleted.code == 0, deleted.err
    assert [sid for call in world.delete_calls for sid in call] == [stuck]
    assert done in world.sessions
