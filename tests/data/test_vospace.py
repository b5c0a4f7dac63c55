"""``arc:`` on the platform: canfar's VOSpace filesystem against a fake VOSpace 2.1 service on
loopback, found through the registry like the session service."""

from __future__ import annotations

import hashlib
import json

import pytest

from canfar import storage


@pytest.fixture
def arc(vospace):
    vospace.put_file("/home/jdoe/table.csv", b"a,b\n1,2\n")
    return vospace


def test_logged_in_arc_is_the_platforms_storage(arc, run):
    assert storage.identifiers() == ["local", "arc", "vault"]
    result = run("data", "ls", "-l", "arc:/home/jdoe")
    assert result.code == 0, result.err
    assert "table.csv" in result.out
    assert ("GET", "/arc/capabilities") in arc.requests
    node_gets = [path for method, path in arc.requests if path.startswith("/arc/nodes/home/jdoe")]
    assert node_gets
    assert all("detail=max" in path for path in node_gets)


def test_the_published_checksum_is_shown_and_checked(arc, run, tmp_path):
    record = json.loads(run("data", "stat", "--json", "arc:/home/jdoe/table.csv").out)[0]
    assert record["md5"] == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    arc.wrong_md5 = True
    result = run("data", "cp", "arc:/home/jdoe/table.csv", str(tmp_path / "t.csv"))
    assert result.code == 1
    assert "checksum mismatch" in result.err
    assert not (tmp_path / "t.csv").exists()


def test_a_listing_of_many_entries_is_read_in_pages(vospace, run, monkeypatch):
    from canfar_plugins.skaha import vospace as provider

    monkeypatch.setattr(provider, "PAGE", 7)
    for n in range(30):
        vospace.put_file(f"/many/f{n:03d}", b"x")
    result = run("data", "ls", "arc:/many")
    assert result.out.split() == [f"f{n:03d}" for n in range(30)]
    pages = [p for m, p in vospace.requests if p.startswith("/arc/nodes/many?")]
    assert len(pages) == 6  # the first node request, then 5 pages of 7 with one overlap each
    assert sum("uri=" in p for p in pages) == 4


def test_upload_and_download_stream_through_transfers(vospace, run, tmp_path):
    data = bytes(range(256)) * 40_000  # 10 MB: several blocks each way
    (tmp_path / "big.bin").write_bytes(data)
    assert run("data", "cp", str(tmp_path / "big.bin"), "arc:/up/").code == 0
    assert vospace.nodes["/up/big.bin"].data == data
    assert "/up/big.bin.part" not in vospace.nodes
    assert run("data", "cp", "arc:/up/big.bin", str(tmp_path / "down.bin")).code == 0
    assert (tmp_path / "down.bin").read_bytes() == data
    assert any(m == "POST" and p == "/arc/synctrans" for m, p in vospace.requests)
    assert any(m == "POST" and p == "/arc/transfers" for m, p in vospace.requests)  # .part -> name


def test_permission_denied_names_the_path(arc, run):
    arc.forbidden.add("/home/jdoe")
    result = run("data", "ls", "arc:/home/jdoe")
    assert result.code == 1
    assert result.err.startswith("Error: arc:/home/jdoe: ")
    assert "refused access" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_no_such_path(arc, run):
    result = run("data", "cat", "arc:/home/jdoe/none.fits")
    assert result.code == 1
    assert result.err.strip() == (
        "Error: arc:/home/jdoe/none.fits: no such file or folder "
        "(list its folder with: canfar data ls)"
    )


def test_quota_exceeded_leaves_nothing(vospace, run, tmp_path):
    vospace.quota = 1000
    (tmp_path / "big.bin").write_bytes(b"x" * 5000)
    result = run("data", "cp", str(tmp_path / "big.bin"), "arc:/")
    assert result.code == 1
    assert "quota exceeded" in result.err
    assert "larger quota" in result.err
    assert set(vospace.nodes) == {"/"}


def test_a_connection_cut_mid_download_leaves_no_file_and_a_rerun_completes(vospace, run, tmp_path):
    data = b"y" * (3 * 1024 * 1024)
    vospace.put_file("/d/big.bin", data)
    vospace.put_file("/d/small.bin", b"small")
    vospace.cut_after = 1024 * 1024
    out = tmp_path / "d"
    result = run("data", "cp", "-r", "arc:/d", str(out))
    assert result.code == 1
    assert "arc:/d/big.bin" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["small.bin"]
    vospace.cut_after = None
    again = run("data", "cp", "-r", "arc:/d", str(tmp_path))
    assert again.code == 0, again.err
    assert "Copied 1 file" in again.err
    assert "1 already complete" in again.err
    assert (out / "big.bin").read_bytes() == data


def test_an_expired_login_says_how_to_log_in_again(arc, run):
    arc.token = "another-token"
    result = run("data", "ls", "arc:/home/jdoe")
    assert result.code == 1
    assert result.err.startswith("Error: arc:/home/jdoe: ")
    assert "canfar auth login" in result.err


def test_a_service_that_is_down(arc, run):
    arc.down = True
    result = run("data", "ls", "arc:/home/jdoe")
    assert result.code == 1
    assert result.err.startswith("Error: arc:/home/jdoe: ")
    assert "HTTP 503" in result.err


def test_a_file_opened_from_python_reads_like_a_file(vospace):
    """Reads of any size return what they ask for, lines split, a seek starts a ranged read."""
    lines = b"".join(b"line %06d\n" % n for n in range(20_000))  # 240 kB: past the read-ahead
    vospace.put_file("/home/jdoe/lines.txt", lines)
    with storage.filesystem("arc").open("/home/jdoe/lines.txt", "rb") as f:
        assert f.read(5) == b"line "
        assert f.readline() == b"000000\n"
        assert f.read(70_000) == lines[12 : 12 + 70_000]  # crosses the bytes read ahead
        f.seek(len(lines) - 12)
        assert f.tell() == len(lines) - 12
        assert f.read() == lines[-12:]
        assert f.read(10) == b""
        f.seek(12 * 1000)
        assert [f.readline() for _ in range(2)] == [b"line 001000\n", b"line 001001\n"]
    ranged = [p for m, p in vospace.requests if m == "GET" and p.startswith("/arc/preauth/")]
    assert len(ranged) == 3  # the first read, then one per seek
    with storage.filesystem("arc").open("/home/jdoe/lines.txt", "r") as text:
        assert text.readlines()[-1] == "line 019999\n"


def test_an_upload_whose_published_checksum_differs_is_refused_and_removed(vospace, run, tmp_path):
    (tmp_path / "up.bin").write_bytes(b"x" * 5_000_000)  # several blocks
    vospace.wrong_md5 = True
    result = run("data", "cp", str(tmp_path / "up.bin"), "arc:/up.bin")
    assert result.code == 1
    assert "checksum mismatch" in result.err
    assert "/up.bin" not in vospace.nodes
    assert "/up.bin.part" not in vospace.nodes
