"""Every admin page as an operator and as a team lead would meet it: Chromium at 1366x768, axe-core run on
each, a screenshot of each in var/screenshots/pages/ to be looked at.

The pages are the role tests' own table (tests/media_sync/access.py), so a new page is opened here as
soon as someone decides who may see it; the intermediate action forms are reached the way an operator
reaches them, by ticking a row and choosing the action."""

from __future__ import annotations

import re
from typing import Any

import pytest

from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator
from tests.browser.pages import judge, user
from tests.media_sync.access import ACTIONS, LEAD, OPERATOR, ROUTES, VISITORS, World, build_world, concrete

# Pages that are not HTML for a person to read (files, CSV, JSON, images) or not one of ours to judge.
NOT_PAGES = re.compile(
    r"our-copy|export|summary|download|thumbnail|preview|progress|jsi18n|media-links|webhooks"
)
OPERATOR_FORMS = [key for key, action in ACTIONS.items() if action.confirm and OPERATOR in action.runners]


def pages_for(visitor: str | None) -> list[str]:
    """Every GET route the table says answers 200 to this visitor."""
    index = VISITORS.index(visitor)
    return [
        route
        for route, spec in ROUTES.items()
        if spec.get[index] == 200 and route.startswith("admin/") and not NOT_PAGES.search(route)
    ]


@pytest.fixture
def world(rc_sim: RecoveryConnectSimulator, cp_sim: CorrigoProSimulator, su_sim: SuApiSimulator) -> World:
    built = build_world(rc_sim, cp_sim, su_sim)
    user("olga", "Operators")
    user("leo", "Team leads")
    return built


def slug(route: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", route.removeprefix("admin/").lower()).strip("-") or "index"


@pytest.mark.parametrize(("login", "visitor"), [("olga", OPERATOR), ("leo", LEAD)])
def test_every_page_passes_axe_and_fits_the_screen(
    world: World, screen: Any, live_app: Any, login: str, visitor: str
) -> None:
    page = screen(login)
    problems: list[str] = []
    opened = 0
    for route in pages_for(visitor):
        url = concrete(route, world)
        response = page.goto(f"{live_app.url}{url}")
        assert response is not None and response.status == 200, (route, response and response.status)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        problems += judge(page, f"{login}-{slug(route)}")
        opened += 1
    assert opened >= 20  # the table has this many pages at least: a broken filter would skip them all
    assert problems == [], "\n".join(problems)


def test_every_intermediate_form_passes_axe(world: World, screen: Any, live_app: Any) -> None:
    page = screen("olga")
    problems: list[str] = []
    for key, name in OPERATOR_FORMS:
        page.goto(f"{live_app.url}/admin/{key}/")
        page.locator("input.action-select").first.check()
        page.select_option("select[name=action]", name)
        page.click("button[name=index]")
        page.wait_for_selector("input[name=apply], button[name=apply]", state="attached")
        problems += judge(page, f"olga-action-{slug(key)}-{name}")
    assert len(OPERATOR_FORMS) >= 3
    assert problems == [], "\n".join(problems)
