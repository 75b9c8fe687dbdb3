"""The audit list's signed export as a team lead meets it in Chromium at 1366x768: the link sits with the
other exports, and the download is a zip of the CSV and its signed manifest. Screenshot in
var/screenshots/audit-signed-export.png."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from media_sync.models import AuditEvent, AuditKind, Outcome
from tests.browser import SCREENSHOTS
from tests.browser.pages import WIDTH, log_in, user
from tests.media_sync.tampering import signing_key_set as _signing  # noqa: F401  (the `signing` fixture)


def test_a_team_lead_downloads_the_audit_with_its_signed_manifest(
    browser: Any, live_app: Any, signing: Any, tmp_path: Path
) -> None:
    for n in range(5):
        AuditEvent.objects.create(
            kind=AuditKind.ITEM,
            provider="recoveryconnect",
            operation="rc_transfer_photos",
            subject="order 57076503",
            item=str(180461378 + n),
            outcome=Outcome.SUCCEEDED,
            triggered_by="olga",
        )
    user("leo", "Team leads")
    page = log_in(browser, live_app, "leo")
    page.goto(f"{live_app.url}/admin/media_sync/auditevent/")
    link = page.locator("a.export-csv-signed")
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "audit-signed-export.png"))
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".zip"
    with zipfile.ZipFile(saved) as archive:
        csv_name, manifest_name = archive.namelist()
        manifest = json.loads(archive.read(manifest_name))
    assert manifest_name == f"{csv_name}.manifest.json"
    assert manifest["rows"] == 5 and manifest["signature"]["algorithm"] == "Ed25519"
