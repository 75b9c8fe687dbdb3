"""What the browser tests share: a user who logs in, a page at 1366x768, screenshots, and the judge that runs
axe-core and the Content-Security-Policy check on a page."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.contrib.auth.models import User

from tests.browser import SCREENSHOTS
from tests.media_sync.factories import role

WIDTH, HEIGHT = 1366, 768
PASSWORD = "a-long-test-password"
# axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}
# Django's stock breadcrumbs (its link colour on its own header colour) are not ours to change.
EXCLUDE = [["div.breadcrumbs"]]
# Added to a context before its pages load (`add_init_script`), so judge() sees what the policy blocked.
CSP_LISTENER = """
window.__cspBlocked = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspBlocked.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} (line ${e.lineNumber})`));
"""


def user(name: str, group: str) -> None:
    User.objects.create_user(name, password=PASSWORD, is_staff=True).groups.add(role(group))


def sign_in(page: Any, live_app: Any, name: str) -> Any:
    """The admin's login form, filled in on this page; the page once the admin is shown."""
    page.goto(f"{live_app.url}/admin/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def log_in(browser: Any, live_app: Any, name: str) -> Any:
    """A new 1366x768 page, logged in as this user."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True)
    return sign_in(page, live_app, name)


def transfer_order_photos(page: Any, live_app: Any, destinations: str) -> None:
    """As an operator does it: tick every photo of order 57076503, choose the transfer, name the
    destinations and submit; the job starts, or the pre-flight asks first about photos sent before."""
    page.goto(f"{live_app.url}/admin/media_sync/recoveryconnectphoto/?order__order_id=57076503")
    for checkbox in page.locator("input.action-select").all():
        checkbox.check()
    page.select_option("select[name=action]", "transfer_photos")
    page.click("button[name=index]")
    page.fill("#id_destinations", destinations)
    page.click("input[type=submit].default")


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def judge(page: Any, name: str) -> list[str]:
    """Screenshot the page and list its serious or critical WCAG A/AA violations, one line each."""
    # Read before axe runs: axe-core's own probes are not the page's.
    problems = [
        f"{name}: Content-Security-Policy {blocked}" for blocked in page.evaluate("window.__cspBlocked")
    ]
    (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pages" / f"{name}.png"), full_page=True)
    results = Axe().run(
        page,
        context={"exclude": EXCLUDE},
        options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]},
    )
    for violation in results.response["violations"]:
        if violation["impact"] not in SERIOUS:
            continue
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        problems.append(f"{name}: {violation['id']} ({violation['impact']}) at {targets}")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > WIDTH:
        problems.append(f"{name}: {scroll} px wide, wider than the {WIDTH} px screen")
    return problems
