"""An HTTP client that posts forms as a browser on the site does: with the page's CSRF
token and the site's own Origin.

It reads the token from a rendered form (the sign-in page, which needs no backend), so it
exercises the real protocol rather than recomputing it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class WebClient(httpx.Client):
    def post(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Origin", str(self.base_url).rstrip("/"))
        data = dict(kwargs.pop("data", None) or {})
        data.setdefault("csrf_token", page_token(self.get("/signin").text))
        return super().post(url, headers=headers, data=data, **kwargs)
