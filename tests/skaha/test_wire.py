"""What a request looks like on the wire, and what the wire cannot carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canfar_core.errors import ValidationError
from canfar_core.models import SessionSpec
from canfar_plugins.skaha import parse, wire


@pytest.mark.parametrize(
    ("given_image", "expected"),
    [
        ("skaha/astroml", "images.canfar.net/skaha/astroml:latest"),
        ("skaha/astroml:24.10", "images.canfar.net/skaha/astroml:24.10"),
        ("images.canfar.net/skaha/astroml", "images.canfar.net/skaha/astroml:latest"),
        ("images.canfar.net/cadc/jupyter/scipy:1.0", "images.canfar.net/cadc/jupyter/scipy:1.0"),
        ("localhost:5000/team/tool", "localhost:5000/team/tool:latest"),
        ("skaha/astroml@sha256:" + "a" * 64, "images.canfar.net/skaha/astroml@sha256:" + "a" * 64),
    ],
)
def test_images_are_normalised(given_image, expected):
    assert wire.normalise_image(given_image) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "astroml",
        "astroml:latest",
        "skaha/Astro ML",
        "skaha/a:b:c",
        "skaha/UPPER",
        "skaha/x@sha256:short",
        "",
    ],
)
def test_malformed_images_are_refused_by_name(bad):
    with pytest.raises(ValidationError) as caught:
        wire.normalise_image(bad)
    assert repr(bad)[1:-1] in str(caught.value) or bad == ""


@given(st.sampled_from(["skaha/astroml", "images.canfar.net/a/b:1", "p/n:t", "h.io/p/n"]))
def test_normalising_twice_changes_nothing(image):
    once = wire.normalise_image(image)
    assert wire.normalise_image(once) == once


def spec(**changes) -> SessionSpec:
    base = SessionSpec(
        kind="headless",
        image="images.canfar.net/skaha/astroml:latest",
        name="job",
        cmd="python",
        args=["run.py"],
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"env": {"URL": "http://x/?a=b"}}, ["URL", "'='", "drops"]),
        ({"env": {"EMPTY": ""}}, ["EMPTY", "empty"]),
        ({"env": {"Q": 'say "hi"'}}, ["Q", "double quote"]),
        ({"env": {"N": "a\nb"}}, ["N", "line break"]),
        ({"env": {"B": "C:\\dir"}}, ["B", "backslash"]),
        ({"args": ["two words"]}, ["'two words'", "space", "2 arguments"]),
        ({"args": [""]}, ["empty argument"]),
        ({"args": ['"quoted"']}, ["double quote"]),
        ({"cmd": "python run.py"}, ["'python run.py'", "space"]),
        ({"cmd": "py\\thon"}, ["backslash"]),
    ],
)
def test_values_the_platform_would_drop_or_mangle_are_refused(changes, words):
    with pytest.raises(ValidationError) as caught:
        wire.check_transport(spec(**changes))
    for word in words:
        assert word in str(caught.value)


def test_values_the_platform_carries_are_accepted():
    wire.check_transport(spec(args=["--n", "3", "a,b", "x=1", "tab\there"], env={"A": "b c"}))


def test_create_form_has_exactly_the_documented_fields():
    request = spec(replicas=3, cores=2.0, ram=8, gpus=1, args=["a", "b"], env={"FOO": "bar"})
    form = wire.create_form(request, 2)
    assert form == [
        ("name", "job-2"),
        ("image", "images.canfar.net/skaha/astroml:latest"),
        ("type", "headless"),
        ("cores", "2"),
        ("ram", "8"),
        ("gpus", "1"),
        ("cmd", "python"),
        ("args", "a b"),
        ("env", "FOO=bar"),
        ("env", "REPLICA_ID=2"),
        ("env", "REPLICA_COUNT=3"),
    ]


def test_one_replica_keeps_its_name_and_gets_replica_variables():
    form = wire.create_form(spec(cores=1.5, gpus=0, args=[]), 1)
    assert ("name", "job") in form
    assert ("cores", "1.5") in form
    assert all(key != "gpus" for key, _ in form)  # 0 GPUs: the server refuses gpus=0
    assert all(key != "args" for key, _ in form)
    assert form[-2:] == [("env", "REPLICA_ID=1"), ("env", "REPLICA_COUNT=1")]


def test_ranges_are_compact():
    assert wire.ranges(range(1, 17)) == "1-16"
    assert wire.ranges([1, 2, 4, 8]) == "1, 2, 4, 8"
    assert wire.ranges([]) == "none"


def test_session_objects_of_every_server_generation_parse():
    current = parse.session(
        {
            "id": "k3x9q0ab",
            "userid": "jdoe",
            "image": "images.canfar.net/skaha/x:1",
            "type": "headless",
            "status": "Running",
            "name": "job-1",
            "startTime": "2026-01-05T14:03Z",
            "expiryTime": "2026-01-19T14:03:27Z",
            "connectURL": "",
            "requestedRAM": "8.59",
            "requestedCPUCores": "0.500",
            "requestedGPUCores": "0",
            "isFixedResources": True,
        }
    )
    assert current.start_time == "2026-01-05T14:03:00Z"
    assert current.ram == 8.0
    assert current.cores == 0.5
    assert current.connect_url is None
    assert current.extra == {"isFixedResources": True}
    old = parse.session(
        {
            "id": "abc",
            "type": "weird",
            "status": "Succeeded",
            "startTime": "<none>",
            "requestedRAM": "8G",
            "ramInUse": "101M",
            "connectURL": "not-applicable",
            "appid": "<none>",
        }
    )
    assert old.status == "Completed"
    assert old.start_time is None
    assert old.ram == pytest.approx(7.45, abs=0.01)
    assert old.connect_url is None
    assert old.kind == "weird"


def test_context_with_string_session_limit_parses():
    found = parse.resources(
        {
            "cores": {"default": 2, "options": [1, 2]},
            "memoryGB": {"options": [4]},
            "gpus": {"options": []},
            "maxInteractiveSessions": "5",
        }
    )
    assert found.max_interactive_sessions == 5
    assert found.cores == [1.0, 2.0]
    assert found.gpus == []
