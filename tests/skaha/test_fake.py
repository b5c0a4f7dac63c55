"""The fake Skaha service answers as the API reference says the real one does."""

from __future__ import annotations

import re

import pytest
import requests

from tests.fakeskaha import FakeSkaha

IMAGE = "images.canfar.net/skaha/astroml:latest"


@pytest.fixture
def api(fake_skaha: FakeSkaha):
    """``api(method, path, **kwargs)``: a raw request with the fake's token."""

    def call(method: str, path: str, token: str | None = "default", **kwargs):
        headers = kwargs.pop("headers", {})
        if token == "default":
            token = fake_skaha.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, fake_skaha.url + path, headers=headers, timeout=5, **kwargs)

    return call


def create(api, **fields):
    form = {"name": "job", "image": IMAGE, **fields}
    return api("POST", "/v1/session", data=form)


def test_create_answers_one_id_as_text(api):
    response = create(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert re.fullmatch(r"[a-z][a-z0-9]{7}\n", response.text)
    assert response.headers["x-vo-authenticated"] == "jdoe"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"image": None}, "Missing parameter 'image'"),
        ({"image": ""}, "image is required"),
        (
            {"image": "docker.io/x/y:1"},
            "session image 'docker.io/x/y:1' must come from one of [images.canfar.net]",
        ),
        ({"type": "jupyter"}, "Invalid session type: jupyter"),
        ({"cores": "99"}, "Invalid value for 'cores': 99"),
        ({"cores": "two"}, "Invalid value for 'cores': two"),
        ({"ram": "3"}, "Invalid value for 'ram': 3"),
        ({"name": None}, "Missing parameter 'name'"),
        ({"name": "my_job"}, "name can only contain alpha-numeric chars and '-'"),
        ({"gpus": "0"}, "Invalid value for 'gpus': 0"),
        (
            {"image": "images.canfar.net/skaha/private:1"},
            "No authentication provided for unknown or private image.  Use x-skaha-registry-auth "
            "request header with base64Encode(username:secret).",
        ),
    ],
)
def test_create_validation_messages(api, fields, message):
    form = {"name": "job", "image": IMAGE, **fields}
    form = {k: v for k, v in form.items() if v is not None}
    response = api("POST", "/v1/session", data=form)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain"
    assert response.text == message + "\n"


def test_validation_order_image_before_cores_before_name(api):
    response = api("POST", "/v1/session", data={"cores": "99", "name": "bad_name"})
    assert response.text == "Missing parameter 'image'\n"
    response = api("POST", "/v1/session", data={"image": IMAGE, "cores": "99", "name": "a_b"})
    assert response.text == "Invalid value for 'cores': 99\n"


def test_parameters_come_from_query_and_form_body(api, fake_skaha):
    response = api("POST", "/v1/session?name=q&env=A%3D1", data={"image": IMAGE, "env": "B=2"})
    assert response.status_code == 200
    session = fake_skaha.sessions[response.text.strip()]
    assert session.name == "q"
    assert session.env == [("A", "1"), ("B", "2")]


def test_post_without_form_content_type_reads_no_parameters(api):
    response = api(
        "POST",
        "/v1/session?name=q&image=" + IMAGE,
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert response.text == "Missing parameter 'image'\n"


def test_env_items_that_do_not_split_in_two_are_dropped(api, fake_skaha):
    response = create(api, env=["A=b=c", "B=", "C=ok", "D"])
    assert fake_skaha.sessions[response.text.strip()].env == [("C", "ok")]


def test_quote_in_a_value_breaks_the_launch(api):
    response = create(api, cmd="echo", args='say "hi"')
    assert response.status_code == 500
    assert response.text.startswith("unexpected exception:")


def test_names_are_stored_lower_case_and_json_omits_nulls(api):
    sid = create(api, name="MyJob-1").text.strip()
    data = api("GET", f"/v1/session/{sid}").json()
    assert data["name"] == "myjob-1"
    assert data["type"] == "headless"
    assert data["connectURL"] == ""
    assert "requestedRAM" not in data
    assert "appid" not in data
    assert data["requestedGPUCores"] == "0"
    assert data["isFixedResources"] is False
    assert isinstance(data["runAsUID"], str)


def test_fixed_ram_is_reported_in_decimal_gigabytes(api):
    sid = create(api, ram="8", cores="2").text.strip()
    data = api("GET", f"/v1/session/{sid}").json()
    assert data["requestedRAM"] == "8.59"
    assert data["requestedCPUCores"] == "2"
    assert data["isFixedResources"] is True


def test_missing_and_bad_credentials(api):
    response = api("GET", "/v1/session", token=None)
    assert response.status_code == 401
    assert response.text == "Unauthorized\n"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    response = api("GET", "/v1/session", token="wrong")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    response = api("GET", "/v1/session", token=None, headers={"Authorization": "Bearer a b"})
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_anonymous_quirk_of_newer_servers(api, fake_skaha):
    fake_skaha.anonymous_400 = True
    response = api("GET", "/v1/session", token=None)
    assert (response.status_code, response.text) == (
        400,
        "cannot get group memberships for anonymous\n",
    )


def test_other_users_sessions_are_invisible(api, fake_skaha):
    other = fake_skaha.add_session(user="someone")
    assert api("GET", f"/v1/session/{other}").status_code == 404
    assert api("GET", "/v1/session").json() == []
    everyone = api("GET", "/v1/session?view=all").json()
    assert everyone[0].keys() == {"userid", "type", "status", "startTime"}


def test_session_paths(api, fake_skaha):
    assert api("GET", "/v1/session/a/b/c/d").text == "Invalid request: /a/b/c/d\n"
    assert api("DELETE", "/v1/session").text == "Cannot kill all sessions.\n"
    assert api("DELETE", "/v1/session/nosuchid").status_code == 200
    put = api("PUT", "/v1/session")
    assert (put.status_code, put.text, put.headers["Allow"]) == (
        405,
        "unsupported: HTTP PUT\n",
        "GET, POST, DELETE",
    )
    sid = fake_skaha.add_session()
    assert api("POST", f"/v1/session/{sid}").text == "Cannot modify an existing session\n"
    assert api("POST", f"/v1/session/{sid}", data={"action": "stop"}).text == (
        "unrecognized action\n"
    )
    # without a form body the servlet reads no parameter, not even from the query string
    assert api("POST", f"/v1/session/{sid}?action=renew").text == (
        "Cannot modify an existing session\n"
    )
    assert api("GET", f"/v1/session/{sid}?view=stats").json()["id"] == sid


def test_dot_segments_are_resolved_as_a_servlet_container_does(api, fake_skaha):
    # This is why ids must be checked and escaped: ../context reaches /context.
    response = api("GET", "/v1/session/../context")
    assert "cores" in response.json()
    assert fake_skaha.requests[-1].path == "/skaha/v1/context"


def test_interactive_cap_counts_only_interactive_sessions(api, fake_skaha):
    fake_skaha.max_user_sessions = 2
    for _ in range(3):
        fake_skaha.add_session()  # headless: never counted
    fake_skaha.add_session(type="notebook")
    fake_skaha.add_session(type="carta")
    response = create(api, type="notebook", image="images.canfar.net/skaha/base-notebook:latest")
    assert response.text == "User jdoe has reached the maximum of 2 active sessions.\n"
    assert create(api).status_code == 200


def test_renew_and_lifetimes(api, fake_skaha):
    notebook = fake_skaha.add_session(type="notebook", age=3 * 86400)
    before = api("GET", f"/v1/session/{notebook}").json()["expiryTime"]
    assert api("POST", f"/v1/session/{notebook}", data={"action": "renew"}).status_code == 200
    assert api("GET", f"/v1/session/{notebook}").json()["expiryTime"] > before
    batch = fake_skaha.add_session()
    before = api("GET", f"/v1/session/{batch}").json()["expiryTime"]
    api("POST", f"/v1/session/{batch}", data={"action": "renew"})
    assert api("GET", f"/v1/session/{batch}").json()["expiryTime"] == before  # 14 days left
    fake_skaha.set_status(batch, "Completed")
    refused = api("POST", f"/v1/session/{batch}", data={"action": "renew"})
    assert refused.text == (
        f"No active job for user PosixPrincipal [uidNumber=20001,20001,jdoe] with session {batch}\n"
    )


def test_logs_and_events(api, fake_skaha):
    fake_skaha.pending_seconds = 60
    sid = fake_skaha.add_session(logs="hello\n")
    assert api("GET", f"/v1/session/{sid}?view=events").text == "<none>\n"
    fake_skaha.advance(61)
    assert api("GET", f"/v1/session/{sid}?view=events").text.startswith("TYPE")
    assert api("GET", f"/v1/session/{sid}?view=logs").text == "hello\n"
    assert api("GET", "/v1/session/nosuchid?view=logs").text == ""
    assert api("GET", "/v1/session/nosuchid?view=events").text == "session nosuchid not found.\n"
    assert api("GET", "/v1/session/nosuchid").text == "session nosuchid not found\n"


def test_images_context_repository(api):
    assert api("GET", "/v1/image?type=bogus").text == "unknown type: bogus\n"
    carta = api("GET", "/v1/image?type=carta").json()
    assert [i["id"] for i in carta] == ["images.canfar.net/skaha/carta:4.1"]
    assert api("GET", "/v1/repository").text == '["images.canfar.net"]'
    assert api("GET", "/v1/context").json()["maxInteractiveSessions"] == "5"


def test_stats_outage(api, fake_skaha):
    fake_skaha.stats_outage = True
    response = api("GET", "/v1/session?view=stats")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "30")
    assert response.text == "temporarily unavailable: null\n"


def test_capabilities_and_availability(fake_skaha):
    caps = requests.get(fake_skaha.url + "/capabilities", timeout=5)
    assert caps.headers["Content-Type"] == "text/xml"
    assert "http://www.opencadc.org/std/platform#session-1" in caps.text
    assert f"{fake_skaha.url}/v1/session</accessURL>" in caps.text
    assert "ivo://ivoa.net/sso#token" in caps.text
    available = requests.get(fake_skaha.url + "/availability", timeout=5)
    assert "<vosi:available>true</vosi:available>" in available.text


def test_faults_hit_as_many_times_as_asked(api, fake_skaha):
    fault = fake_skaha.inject(
        "GET", r"/v1/session$", status=503, times=2, headers={"Retry-After": "1"}
    )
    assert [api("GET", "/v1/session").status_code for _ in range(3)] == [503, 503, 200]
    assert fault.hits == 2
    assert len(fake_skaha.requests_to("GET", r"/session$")) == 3


def test_reset_and_truncate_faults(api, fake_skaha):
    fake_skaha.inject(None, r"/v1/context$", reset=True)
    with pytest.raises(requests.ConnectionError):
        api("GET", "/v1/context")
    fake_skaha.inject(None, r"/v1/context$", truncate=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api("GET", "/v1/context")
    assert api("GET", "/v1/context").status_code == 200
