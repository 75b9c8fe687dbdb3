"""The admin in a real browser: Debian's Chromium driven by Playwright, against the app on a live server."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# CI installs Chromium and sets this, so there a missing browser fails instead of skipping.
REQUIRED = os.environ.get("MEDIA_SYNC_REQUIRE_BROWSER") == "1"
