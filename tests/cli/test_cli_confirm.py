"""``canfar delete`` asks for confirmation on standard input, as ``click.confirm`` does: a
terminal is not required (``echo y | canfar delete ID``), and the end of the input means no."""

from __future__ import annotations


def test_a_yes_piped_in_deletes(world, run):
    sid = world.add("a")
    result = run("delete", sid, stdin="y\n")
    assert result.code == 0, result.err
    assert result.out.split() == [sid]
    assert f"Delete {sid}? [y/N]: " in result.err
    assert world.sessions == {}


def test_a_no_piped_in_deletes_nothing(world, run):
    sid = world.add("a")
    result = run("delete", sid, stdin="n\n")
    assert (result.code, result.out) == (0, "")
    assert "Nothing was deleted." in result.err
    assert sid in world.sessions
    assert world.delete_calls == []


def test_the_end_of_input_deletes_nothing_and_names_force(world, run):
    sid = world.add("a")
    result = run("delete", sid, stdin="")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "Error: nothing was deleted: no answer was read; "
        "add --force to delete 1 session without being asked"
    )
    assert sid in world.sessions
    assert world.delete_calls == []


def test_an_unclear_answer_is_asked_again(world, run):
    sid = world.add("a")
    result = run("delete", sid, stdin="maybe\nyes\n")
    assert result.code == 0, result.err
    assert "Error: answer y or n." in result.err
    assert result.err.count(f"Delete {sid}? [y/N]: ") == 2
    assert world.sessions == {}


def test_an_unknown_id_is_named_before_the_question_about_the_others(world, run):
    sid = world.add("a")
    result = run("delete", "m0000099", sid, stdin="y\n")
    assert result.code == 1
    assert result.out.split() == [sid]
    assert result.err.index("no session with id 'm0000099'") < result.err.index("Delete ")
    assert f"Delete {sid}? [y/N]: " in result.err  # the unknown id is not asked about
    assert result.err.count("m0000099") == 1
    assert world.sessions == {}


def test_only_unknown_ids_are_refused_without_asking(world, run):
    world.add("a")
    result = run("delete", "m0000099", stdin="")
    assert result.code == 1
    assert result.err == "Error: no session with id 'm0000099'\n"
    assert world.delete_calls == []
