"""canfar.images, canfar.context, canfar.errors and canfar.models: the small public modules."""

from __future__ import annotations

import inspect

import pytest

import canfar.context
import canfar.errors
import canfar.images
import canfar.models
from canfar_core import errors as core_errors
from canfar_core import models as core_models


def test_images_fetch_filters_by_kind(world):
    every = canfar.images.fetch()
    carta = canfar.images.fetch(kind="carta")
    assert len(every) == 3
    assert [i.id for i in carta] == ["images.example.org/skaha/carta:4.1"]
    assert all(isinstance(i, canfar.models.Image) for i in every)


def test_images_fetch_refuses_an_unknown_kind(world):
    with pytest.raises(canfar.errors.ValidationError, match="cartaa"):
        canfar.images.fetch(kind="cartaa")


def test_context_resources_and_active(world):
    offer = canfar.context.resources()
    assert isinstance(offer, canfar.models.ResourceContext)
    assert offer.cores == [1, 2, 4, 8]
    assert canfar.context.active().backend == "memory"


def test_context_names_and_get(canfar_home):
    assert canfar.context.names() == ["local"]
    assert canfar.context.get("local").backend == "local"
    with pytest.raises(canfar.errors.NotFound, match="nowhere"):
        canfar.context.get("nowhere")


def test_context_resources_of_a_named_backend(world, monkeypatch):
    monkeypatch.delenv("CANFAR_BACKEND")
    assert canfar.context.resources(backend="memory").default_ram == 4


def test_every_documented_exception_is_a_canfar_error():
    for name in canfar.errors.__all__:
        exc = getattr(canfar.errors, name)
        assert issubclass(exc, core_errors.CanfarError), name
    core_classes = {
        name
        for name, value in vars(core_errors).items()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    assert core_classes <= set(canfar.errors.__all__)


def test_models_reexport_every_record():
    records = {
        name
        for name, value in vars(core_models).items()
        if inspect.isclass(value)
        and value.__module__ == core_models.__name__
        and hasattr(value, "__dataclass_fields__")
    }
    assert records <= set(canfar.models.__all__)
    info = canfar.models.SessionInfo("a1", "n", "headless", "img", "Running", "local")
    assert canfar.models.to_dict(info)["status"] == "Running"


def test_package_ships_the_typed_marker():
    from pathlib import Path

    assert (Path(canfar.__file__).parent / "py.typed").exists()
