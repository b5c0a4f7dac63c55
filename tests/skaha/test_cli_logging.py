"""The root logging options against the fake service: HTTP traffic in the JSON lines file,
never the token."""

from __future__ import annotations

import json


def test_vv_logs_each_request_to_the_file_without_the_token(
    run, skaha_context, fake_skaha, tmp_path
):
    target = tmp_path / "canfar.jsonl"
    result = run("-vv", "--log-file", str(target), "ps", "--all")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in target.read_text().splitlines()]
    http = [r for r in records if r["logger"] == "canfar.http"]
    assert any("/v1/session" in r["message"] and "200" in r["message"] for r in http), records
    assert fake_skaha.token not in target.read_text()
    assert fake_skaha.token not in result.err


def test_without_options_nothing_is_logged(run, skaha_context):
    result = run("ps", "--all")
    assert result.code == 0
    assert "canfar.http" not in result.err


def test_v_shows_one_line_per_answer_on_stderr_only(run, skaha_context, fake_skaha):
    result = run("-v", "ps", "-o", "json")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("canfar.http: INFO:")]
    assert any("GET" in line and "/v1/session" in line and "-> 200" in line for line in lines)
    assert result.out.startswith("[")  # stdout holds the document alone
    assert fake_skaha.token not in result.err
