"""Every browser test gets a transactional database (the live server reads what the test wrote), is
skipped without Chromium (unless CI requires it) and may ask for `browser`, or for `screen`: a login in a
browser context of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.browser import CHROMIUM, REQUIRED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.django_db(transaction=True))
            if not CHROMIUM.exists() and not REQUIRED:
                item.add_marker(pytest.mark.skip(reason="Debian's chromium is not installed"))


@pytest.fixture
def browser(live_app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Chromium, started after the database and the live server are up and closed before they go."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are plain sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
        # The test's ORM calls ran inside Playwright's event loop context, which has its own database
        # connection: closed here, or it would hold the test database open when it is dropped.
        connections.close_all()


@pytest.fixture
def screen(browser: Any, live_app: Any) -> Iterator[Any]:
    """A new 1366x768 browser context per login."""
    from tests.browser.pages import CSP_LISTENER, HEIGHT, WIDTH, sign_in

    contexts: list[Any] = []

    def open_as(name: str) -> Any:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        # Whatever the Content-Security-Policy blocks (an inline style or script) is a broken page.
        context.add_init_script(CSP_LISTENER)
        contexts.append(context)
        return sign_in(context.new_page(), live_app, name)

    yield open_as
    for context in contexts:
        context.close()
