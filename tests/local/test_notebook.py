"""Local notebooks: a JupyterLab on a loopback port behind a token, or a clear way to get one.

A stand-in ``jupyter-lab`` (a real process serving real HTTP on the port it is given) replaces
JupyterLab, so these tests need neither it nor a browser.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from canfar_core.errors import Unsupported
from canfar_plugins.local import notebook
from tests.failures import reasons_of
from tests.local.conftest import group_pids, linux_only

FAKE_JUPYTER_LAB = """#!{python}
import http.server, os, sys, time, urllib.parse
port = int(next(a for a in sys.argv if a.startswith("--port=")).split("=")[1])
ip = next(a for a in sys.argv if a.startswith("--ip=")).split("=")[1]
token = os.environ["JUPYTER_TOKEN"]
time.sleep(0.3)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        ok = query.get("token") == [token]
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(b"JupyterLab" if ok else b"bad token")

print("serving on", port, flush=True)
http.server.HTTPServer((ip, port), Handler).serve_forever()
"""


@pytest.fixture
def fake_lab(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "jupyter-lab"
    path.write_text(FAKE_JUPYTER_LAB.format(python=sys.executable))
    path.chmod(0o755)
    monkeypatch.setattr(notebook, "find_jupyter_lab", lambda: str(path))
    return path


def test_without_jupyterlab_the_error_says_how_to_install_it(session, monkeypatch):
    monkeypatch.setattr(notebook, "find_jupyter_lab", lambda: None)
    with pytest.raises(Unsupported) as caught:
        session.create(image="skaha/astroml:latest", kind="notebook")
    assert "JupyterLab is not installed" in str(caught.value)
    # The pip of canfar's own interpreter (never a bare pip, which may fetch the public client).
    assert f"{sys.executable} -m pip install 'jupyterlab>=4,<5'" in str(caught.value)
    assert session.fetch() == []


def test_jupyter_lab_is_found_beside_the_interpreter_then_on_path(tmp_path, monkeypatch):
    beside, elsewhere = tmp_path / "venv" / "bin", tmp_path / "path"
    for folder in (beside, elsewhere):
        folder.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(beside / "python"))
    monkeypatch.setenv("PATH", str(elsewhere))
    assert notebook.find_jupyter_lab() is None
    on_path = elsewhere / "jupyter-lab"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    assert notebook.find_jupyter_lab() == str(on_path)
    (beside / "jupyter-lab").write_text("#!/bin/sh\n")
    (beside / "jupyter-lab").chmod(0o755)
    assert notebook.find_jupyter_lab() == str(beside / "jupyter-lab")


def test_a_notebook_serves_on_loopback_behind_its_token(session, fake_lab, workdir):
    [session_id] = session.create(image="skaha/astroml:latest", kind="notebook", name="nb")
    assert session.info(session_id, errors="raise")[0].status == "Pending"  # not listening yet
    info = session.wait([session_id], status="Running", timeout=15, poll=0.05)[session_id]
    url = session.urls(session_id, errors="raise")[session_id]
    assert url == info.connect_url
    assert url.startswith("http://127.0.0.1:")
    assert "/lab?token=" in url
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"JupyterLab"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url.split("?")[0] + "?token=wrong", timeout=5)
    assert f"--ServerApp.root_dir={workdir}" in info.extra["command"]
    assert reasons_of(session.destroy, session_id) == {session_id: None}


@linux_only
def test_the_token_is_never_on_a_command_line(session, fake_lab):
    [session_id] = session.create(image="skaha/astroml:latest", kind="notebook")
    session.wait([session_id], status="Running", timeout=15, poll=0.05)
    token = session.urls(session_id, errors="raise")[session_id].split("token=")[1]
    pgid = session.info(session_id, errors="raise")[0].extra["pgid"]
    for pid in group_pids(pgid):
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            assert token.encode() not in handle.read()
    assert token not in session.info(session_id, errors="raise")[0].extra["command"]


def test_two_notebooks_get_two_ports_and_two_tokens(session, fake_lab):
    ids = session.create(image="skaha/astroml:latest", kind="notebook", replicas=2)
    infos = session.wait(ids, status="Running", timeout=15, poll=0.05)
    urls = {infos[i].connect_url for i in ids}
    assert len(urls) == 2
    assert len({u.split("token=")[1] for u in urls}) == 2
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


@pytest.mark.slow
@pytest.mark.skipif(notebook.find_jupyter_lab() is None, reason="JupyterLab is not installed")
def test_a_real_jupyterlab_answers_with_its_token_only(session):
    import json

    [session_id] = session.create(image="skaha/astroml:latest", kind="notebook")
    session.wait([session_id], status="Running", timeout=60, poll=0.1)
    base, token = session.urls(session_id, errors="raise")[session_id].split("lab?token=")
    with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=10) as answer:
        assert "started" in json.load(answer)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{base}api/status?token=wrong", timeout=10)
