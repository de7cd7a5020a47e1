"""The axe helper finds what it should, under the pages' strict CSP — so a clean run means
something."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from cyphera.web.security import CONTENT_SECURITY_POLICY
from tests.web.axe import assert_accessible, violations

PAGE_URL = "https://pages.example.com/bad"
BAD_PAGE = """<!doctype html><html><head><title>Bad</title></head><body><main>
<h1>Bad</h1><button type="button"></button><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text"></main></body></html>"""


async def test_serious_violations_fail_under_a_strict_content_security_policy(
    browser: Browser,
) -> None:
    context = await browser.new_context()
    await context.route(
        PAGE_URL,
        lambda route: route.fulfill(
            status=200,
            body=BAD_PAGE,
            content_type="text/html",
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        ),
    )
    page = await context.new_page()
    await page.goto(PAGE_URL)

    found = {violation["id"] for violation in await violations(page)}
    assert {"button-name", "image-alt", "label"} <= found
    with pytest.raises(AssertionError, match="button-name"):
        await assert_accessible(page)
    await context.close()
