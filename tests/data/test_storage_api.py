"""``canfar.storage`` from Python, how operands are read, and the ``arc:`` folder of the local
backend."""

from __future__ import annotations

import shlex
import sys

import pytest

from canfar import storage
from canfar.storage import Operand
from canfar_core.errors import ValidationError


def test_the_local_context_has_local_and_arc(canfar_home):
    assert storage.identifiers() == ["local", "arc"]
    arc = storage.filesystem("arc")
    arc.pipe("/results/table.csv", b"a,b\n")
    folder = canfar_home / "data" / "canfar" / "arc"
    assert (folder / "results" / "table.csv").read_bytes() == b"a,b\n"
    assert arc.ls("/results", detail=False) == ["/results/table.csv"]


def test_an_unknown_identifier_is_a_key_error_listing_the_known(canfar_home):
    with pytest.raises(KeyError, match="no storage named 'vault' here \\(known: local, arc\\)"):
        storage.filesystem("vault")
    with pytest.raises(ValidationError):
        storage.filesystem("vault")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arc:/projects/x.fits", Operand("arc", "/projects/x.fits")),
        ("arc:projects/x.fits", Operand("arc", "/projects/x.fits")),
        ("arc:", Operand("arc", "/")),
        ("local:/tmp/x", Operand("local", "/tmp/x")),
        # Not a configured identifier: a file here, colons and all.
        ("obs-2024-01-01T10:00:00.fits", Operand("local", "obs-2024-01-01T10:00:00.fits")),
        ("vault:/x", Operand("local", "vault:/x")),
        ("C:/data", Operand("local", "C:/data")),
        ("/abs/path", Operand("local", "/abs/path")),
    ],
)
def test_operands(text, expected):
    assert storage.operand(text, ["local", "arc"]) == expected


def test_a_file_named_with_colons_is_copied_as_a_local_file(canfar_home, run, monkeypatch):
    monkeypatch.chdir(canfar_home)
    (canfar_home / "obs-2024-01-01T10:00:00.fits").write_text("sky")
    result = run("data", "cp", "obs-2024-01-01T10:00:00.fits", "arc:/")
    assert result.code == 0, result.err
    assert storage.filesystem("arc").cat("/obs-2024-01-01T10:00:00.fits") == b"sky"


@pytest.mark.parametrize(
    "argv",
    [["cp", "one-operand"], ["mv", "one-operand"], ["ls", "--bogus"], ["tree"], ["mkdir"]],
)
def test_bad_operands_exit_2(canfar_home, run, argv):
    result = run("data", *argv)
    assert result.code == 2
    assert "Traceback" not in result.err


def test_without_fsspec_the_error_names_the_install_command(canfar_home, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    result = run("data", "ls", "arc:")
    assert result.code == 1
    assert result.err.strip() == (
        "Error: canfar data needs fsspec, which is not installed "
        f"(run: {shlex.quote(sys.executable)} -m pip install 'fsspec>=2023.1,<2027')"
    )


def test_container_sessions_see_the_arc_folder_at_slash_arc(tmp_path):
    from canfar_plugins.local import runtime

    common = dict(
        session_id="abcdefgh", image="skaha/astroml:latest", command=["ls", "/arc"],
        workdir=str(tmp_path), env_names=[], cores=None, ram=None, gpus=None,
        arc="/home/me/.local/share/canfar/arc",
    )  # fmt: skip
    docker = runtime.container_command("docker", **common).argv
    assert docker[docker.index("/home/me/.local/share/canfar/arc:/arc") - 1] == "--volume"
    apptainer = runtime.container_command("apptainer", **common).argv
    assert apptainer[apptainer.index("/home/me/.local/share/canfar/arc:/arc") - 1] == "--bind"
