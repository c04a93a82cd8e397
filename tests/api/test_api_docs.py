"""``/docs`` works offline: every asset the page loads is served by nexthop itself
(the vendored Swagger UI), none comes from a CDN."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx


class _Assets(HTMLParser):
    """The URLs a page loads: script ``src``, link ``href`` (stylesheet, icon)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def test_docs_page_loads_only_its_own_assets(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 3  # the bundle, its stylesheet, the icon
    kinds = {
        ".js": "javascript",
        ".css": "text/css",
        ".png": "image/png",
    }
    for url in parser.urls:
        assert url.startswith("/static/"), f"{url} is not served by nexthop"
        asset = api.get(url)
        assert asset.status_code == 200, url
        expected = next(kind for suffix, kind in kinds.items() if url.endswith(suffix))
        assert expected in asset.headers["content-type"], url
        assert len(asset.content) > 0
    bundle = api.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle  # the real UI, not a placeholder


def test_redoc_is_not_offered_without_a_vendored_copy(api: httpx.Client) -> None:
    assert api.get("/redoc").status_code == 404
