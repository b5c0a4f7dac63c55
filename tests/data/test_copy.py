"""How ``canfar data cp`` copies: several files at once, verified, never a partial file under its
final name, and a second run that copies only what is missing."""

from __future__ import annotations

import io
import sys

import pytest

from tests.data.flaky_storage import Faults, FlakyFileSystem, FlakyStorage
from tests.data.memory_storage import clear_memory


@pytest.fixture
def flaky(canfar_home, canfar_plugin, monkeypatch):
    clear_memory()
    FlakyFileSystem.faults = Faults()
    canfar_plugin(FlakyStorage(), name="flaky-storage")
    monkeypatch.chdir(canfar_home)
    fs = FlakyFileSystem(skip_instance_cache=True)
    for n in range(6):
        fs.pipe(f"/run/f{n}.bin", bytes([n]) * 50_000)
    yield fs
    clear_memory()


def test_several_files_are_copied_at_once(run, flaky, tmp_path):
    flaky.faults.delay = 0.05
    result = run("data", "cp", "-r", "-j", "3", "flaky:/run", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"f{n}.bin" for n in range(6)]
    assert flaky.faults.most_open == 3


def test_a_cut_connection_leaves_no_file_and_a_rerun_copies_only_the_rest(run, flaky, tmp_path):
    out = tmp_path / "out" / "run"
    assert run("data", "cp", "flaky:/run/f0.bin", str(out) + "/").code == 0
    flaky.faults.cut_after = 20_000
    result = run("data", "cp", "-r", "flaky:/run", str(out.parent))
    assert result.code == 1
    assert "f1.bin" in result.err
    assert "the storage service did not answer" in result.err
    assert "run the same command again" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["f0.bin"]  # no partial file, no .part
    flaky.faults.cut_after = None
    again = run("data", "cp", "-r", "flaky:/run", str(out.parent))
    assert again.code == 0, again.err
    assert "Copied 5 files" in again.err
    assert "1 already complete" in again.err
    assert (out / "f5.bin").read_bytes() == bytes([5]) * 50_000


def test_a_checksum_that_does_not_match_is_an_error_and_no_file(run, flaky, tmp_path):
    flaky.faults.wrong_md5 = True
    (tmp_path / "out").mkdir()
    result = run("data", "cp", "flaky:/run/f1.bin", str(tmp_path / "out" / "f1.bin"))
    assert result.code == 1
    assert "checksum mismatch" in result.err
    assert list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_removes_partial_files_and_says_so(run, flaky, tmp_path, monkeypatch):
    from canfar_plugins.data_commands import copying

    flaky.faults.delay = 0.02
    flaky.faults.cut_after = None
    real_wait = copying.wait
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(copying, "wait", interrupted)
    monkeypatch.setattr(copying, "CHUNK", 1000)  # many reads per file: it is mid-file
    result = run("data", "cp", "-r", "-j", "2", "flaky:/run", str(tmp_path / "out"))
    assert result.code == 130
    assert "no partial file was kept" in result.err
    assert "of 6 files are complete at the destination" in result.err
    left = [p.name for p in (tmp_path / "out").iterdir()]
    assert not [name for name in left if name.endswith(".part")]
    assert len(left) < 6


def test_progress_shows_on_a_terminal_only(run, flaky, tmp_path, monkeypatch):
    quiet = run("data", "cp", "flaky:/run/f1.bin", str(tmp_path / "a.bin"))
    assert "Copying" not in quiet.err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    from canfar_core.cli import main

    assert main(["data", "cp", "flaky:/run/f2.bin", str(tmp_path / "b.bin")]) == 0
    shown = terminal.getvalue()
    assert "Copying 1 file" in shown
    assert "48.8 KiB of 48.8 KiB" in shown
