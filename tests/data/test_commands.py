"""Every ``canfar data`` command, on this machine's files (``local:`` and a bare path), on the
local ``arc:`` folder and on a third-party storage plugin (``mem:``): the same behaviour."""

from __future__ import annotations

import json

import pytest


def put(run, place, name: str, text: str, tmp_path) -> None:
    """Put a file on the storage under test, through ``canfar data cp``."""
    source = tmp_path / "upload"
    source.write_text(text)
    result = run("data", "cp", str(source), place(name))
    assert result.code == 0, result.err


def test_ls_lists_names_folders_with_a_slash(run, place, tmp_path):
    put(run, place, "b.txt", "bb", tmp_path)
    put(run, place, "a.fits", "a", tmp_path)
    assert run("data", "mkdir", place("sub")).code == 0
    result = run("data", "ls", place())
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["a.fits", "b.txt", "sub/"]


def test_ls_json_and_long(run, place, tmp_path):
    put(run, place, "a.fits", "12345", tmp_path)
    records = json.loads(run("data", "ls", "--json", place()).out)
    assert [(r["name"], r["type"], r["size"]) for r in records] == [("a.fits", "file", 5)]
    long = run("data", "ls", "-l", place()).out
    assert "a.fits" in long
    assert " 5 " in f" {long} "


@pytest.mark.parametrize("command", ["ls", "stat"])
def test_output_json_and_yaml_are_the_json_flags_document(run, place, tmp_path, command):
    import yaml

    put(run, place, "a.fits", "12345", tmp_path)
    operand = place() if command == "ls" else place("a.fits")
    flag = run("data", command, "--json", operand)
    as_json = run("data", command, "-o", "json", operand)
    as_yaml = run("data", command, "--output", "yaml", operand)
    assert (flag.code, as_json.code, as_yaml.code) == (0, 0, 0), as_yaml.err
    assert as_json.out == flag.out
    records = json.loads(as_json.out)
    assert [(r["name"], r["type"], r["size"]) for r in records] == [("a.fits", "file", 5)]
    assert yaml.safe_load(as_yaml.out) == records


@pytest.mark.parametrize("command", ["ls", "stat"])
def test_an_unknown_output_format_is_a_usage_error(run, place, tmp_path, command):
    put(run, place, "a.fits", "1", tmp_path)
    result = run("data", command, "-o", "xml", place("a.fits"))
    assert result.code == 2
    assert result.out == ""
    (error,) = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert "'xml' is not one of 'json', 'yaml'" in error
    assert "Traceback" not in result.err


def test_a_failure_under_output_is_one_error_object(run, place):
    result = run("data", "stat", "-o", "yaml", place("missing.fits"))
    assert result.code == 1
    assert result.out == ""
    import yaml

    record = yaml.safe_load(result.err)
    assert record["code"] == "not_found"
    assert "missing.fits" in record["message"]


def test_ls_output_with_no_path_lists_the_identifiers(run, canfar_home):
    import yaml

    assert "local" in yaml.safe_load(run("data", "ls", "-o", "yaml").out)


def test_stat_du_find_tree(run, place, tmp_path):
    put(run, place, "d/e/one.fits", "1", tmp_path)
    put(run, place, "d/two.csv", "22", tmp_path)
    stat = json.loads(run("data", "stat", "--json", place("d/two.csv")).out)
    assert stat[0]["size"] == 2
    assert stat[0]["type"] == "file"
    assert run("data", "du", place("d")).out.split("\t")[0] == "3"
    found = run("data", "find", place("d"), "--name", "*.fits").out.splitlines()
    assert found == [place("d/e/one.fits")]
    tree = run("data", "tree", place("d")).out
    assert "e/" in tree
    assert "one.fits" in tree
    assert "2 folders" not in tree
    assert tree.rstrip().endswith("1 folders, 2 files")


def test_cat_head_tail(run, place, tmp_path):
    lines = "".join(f"line {n}\n" for n in range(1, 31))
    put(run, place, "log.txt", lines, tmp_path)
    assert run("data", "cat", place("log.txt")).out == lines
    assert run("data", "head", "-n", "2", place("log.txt")).out == "line 1\nline 2\n"
    assert run("data", "tail", "-n", "2", place("log.txt")).out == "line 29\nline 30\n"
    assert run("data", "tail", "-c", "3", place("log.txt")).out == "30\n"


def test_copies_both_ways_and_a_folder_with_r(run, place, tmp_path):
    folder = tmp_path / "night1"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "a.fits").write_bytes(b"\x00" * 1000)
    (folder / "notes.txt").write_text("clear sky")
    refused = run("data", "cp", str(folder), place())
    assert refused.code == 2
    assert "add -r" in refused.err
    assert run("data", "cp", "-r", str(folder), place()).code == 0
    back = tmp_path / "back"
    result = run("data", "cp", "-r", place("night1"), str(back))
    assert result.code == 0, result.err
    assert (back / "raw" / "a.fits").read_bytes() == b"\x00" * 1000
    assert (back / "notes.txt").read_text() == "clear sky"
    assert "Copied 2 files" in result.err


def test_a_second_copy_copies_nothing_complete(run, place, tmp_path):
    put(run, place, "a.txt", "same", tmp_path)
    again = tmp_path / "upload"
    again.write_text("same")
    result = run("data", "cp", str(again), place("a.txt"))
    assert "Copied 0 files" in result.err
    assert "1 already complete" in result.err
    again.write_text("longer now")
    result = run("data", "cp", str(again), place("a.txt"))
    assert "Copied 1 file " in result.err
    assert run("data", "cat", place("a.txt")).out == "longer now"


def test_mv_within_and_across_storages(run, place, tmp_path):
    put(run, place, "a.txt", "moved", tmp_path)
    assert run("data", "mv", place("a.txt"), place("b.txt")).code == 0
    assert run("data", "test", place("a.txt")).code == 1
    out = tmp_path / "here.txt"
    result = run("data", "mv", place("b.txt"), str(out))
    assert result.code == 0, result.err
    assert out.read_text() == "moved"
    assert run("data", "test", place("b.txt")).code == 1


def test_mkdir_p_rmdir(run, place):
    missing_parent = run("data", "mkdir", place("x/y"))
    assert missing_parent.code == 1
    assert "add -p" in missing_parent.err
    assert run("data", "mkdir", "-p", place("x/y")).code == 0
    assert run("data", "mkdir", "-p", place("x/y")).code == 0
    assert run("data", "test", "-d", place("x/y")).code == 0
    not_empty = run("data", "rmdir", place("x"))
    assert not_empty.code == 1
    assert "not empty" in not_empty.err
    assert run("data", "rmdir", place("x/y")).code == 0
    assert run("data", "test", place("x/y")).code == 1


def test_rm_asks_and_rm_r_removes_folders(run, place, tmp_path):
    put(run, place, "d/a.txt", "a", tmp_path)
    folder = run("data", "rm", "--force", place("d"))
    assert folder.code == 2
    assert "add -r" in folder.err
    no_answer = run("data", "rm", "-r", place("d"))
    assert no_answer.code == 2
    assert "--force" in no_answer.err
    assert run("data", "test", place("d/a.txt")).code == 0
    declined = run("data", "rm", "-r", place("d"), stdin="n\n")
    assert declined.code == 0
    assert "Nothing was removed" in declined.err
    assert run("data", "rm", "-r", place("d"), stdin="y\n").code == 0
    assert run("data", "test", place("d")).code == 1


def test_test_answers_with_its_exit_code(run, place, tmp_path):
    put(run, place, "a.txt", "a", tmp_path)
    assert run("data", "test", place("a.txt")).code == 0
    assert run("data", "test", "-f", place("a.txt")).code == 0
    assert run("data", "test", "-d", place("a.txt")).code == 1
    assert run("data", "test", "-d", place()).code == 0
    assert run("data", "test", place("none")).out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["cat", "{none}"],
        ["ls", "{none}"],
        ["stat", "{none}"],
        ["cp", "{none}", "{there}"],
        ["rm", "--force", "{none}"],
    ],
)
def test_a_missing_path_is_one_line_naming_it(run, place, argv):
    args = [a.format(none=place("none.fits"), there=place("there")) for a in argv]
    result = run("data", *args)
    assert result.code == 1
    assert result.err.strip().splitlines()[-1].startswith(f"Error: {place('none.fits')}")
    assert "no such file or folder" in result.err
    assert "Traceback" not in result.err
