"""``/docs`` loads Swagger UI from our own origin only, under a strict CSP (issue #17)."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from cyphera.api.docs import CONTENT_SECURITY_POLICY


class _Page(HTMLParser):
    """Every URL the page loads, and whether it has inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if any(name.startswith("on") for name in values):
            self.inline_scripts += 1
        self._in_script_without_src = tag == "script" and not values.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False


async def test_docs_load_nothing_from_another_origin_and_run_no_inline_script(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    page = _Page()
    page.feed(response.text)

    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert page.inline_scripts == 0
    assert page.urls
    for url in page.urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    assert 'data-openapi-url="/openapi.json"' in response.text


async def test_every_file_the_docs_load_is_served_with_its_type(
    client: httpx.AsyncClient,
) -> None:
    page = _Page()
    page.feed((await client.get("/docs")).text)

    served = {url: await client.get(url) for url in page.urls}

    types = {url: r.headers["content-type"].split(";")[0] for url, r in served.items()}
    assert [url for url, r in served.items() if r.status_code != 200] == []
    assert types == {
        "/static/swagger/swagger-ui.css": "text/css",
        "/static/swagger/favicon-32x32.png": "image/png",
        "/static/swagger/swagger-ui-bundle.js": "text/javascript",
        "/static/docs.js": "text/javascript",
    }
    assert "SwaggerUIBundle" in served["/static/docs.js"].text
    # nosniff is on every answer: a wrong type would not run at all.
    assert served["/static/docs.js"].headers["x-content-type-options"] == "nosniff"


async def test_the_static_mounts_serve_nothing_outside_their_folders(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/static/../config.py", "/static/swagger/../package.json", "/static/nothing.js"):
        response = await client.get(path)
        assert response.status_code == 404, path
