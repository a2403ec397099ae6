"""Run the page-object tests in both read strategies, and change a page in either of them."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import AsyncIterator, Callable

import pytest

from bistand.pages.base import READ_STRATEGIES, Fetched, PortalPage


@pytest.fixture(params=READ_STRATEGIES)
def read_strategy(request, monkeypatch) -> str:
    """Every page object built in the test reads by this strategy (`fetch` or `render`)."""
    monkeypatch.setattr(PortalPage, "default_read_strategy", request.param)
    return request.param


@contextlib.asynccontextmanager
async def changed_page(page_object: PortalPage, url_glob: str, change: Callable[[str], str]) -> AsyncIterator[None]:
    """Pages whose URL matches `url_glob` arrive with `change(html)` applied, in either strategy.

    render: the browser context's routing rewrites the response; fetch: the request API is not
    routed by Playwright, so the page object's transport answer is rewritten instead.
    """
    if page_object.read_strategy == "render":
        async def rewrite(route):
            response = await route.fetch()
            await route.fulfill(response=response, body=change(await response.text()))

        await page_object.context.route(url_glob, rewrite)
        try:
            yield
        finally:
            await page_object.context.unroute(url_glob, rewrite)
        return
    original = page_object.fetch

    async def fetch(url: str, what: str, form=None) -> Fetched:
        fetched = await original(url, what, form)
        if fnmatch.fnmatch(url, url_glob):
            return Fetched(url=fetched.url, html=change(fetched.html))
        return fetched

    page_object.fetch = fetch
    try:
        yield
    finally:
        del page_object.fetch
