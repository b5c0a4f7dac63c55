"""Requests that follow redirects safely, for plugins that call services other than Skaha
(registries, identity providers): a GET follows at most :data:`MAX_REDIRECTS` redirects and
never one from https to plain http; any other method follows none.

``requests`` is imported only when a request is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

MAX_REDIRECTS = 5


def downgrades(from_url: str, to_url: str) -> bool:
    """Whether going from ``from_url`` to ``to_url`` leaves https for anything else."""
    return urlsplit(from_url).scheme.lower() == "https" and (
        urlsplit(to_url).scheme.lower() != "https"
    )


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """``requests.request`` with the rules above. A redirect not followed is returned as it is
    (a 3xx answer), for the caller to report."""
    import requests

    kwargs["allow_redirects"] = False
    response = requests.request(method, url, **kwargs)
    if method.upper() != "GET":
        return response
    for _ in range(MAX_REDIRECTS):
        location = response.headers.get("Location")
        if not response.is_redirect or not location:
            return response
        target = urljoin(response.url, location)
        if downgrades(response.url, target):
            return response
        response.close()
        response = requests.request(method, target, **kwargs)
    return response
