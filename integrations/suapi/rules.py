"""Booking.com's rules for a property's photos, as the SU API passes them on (docs/providers/suapi.md,
"Booking.com's limits" and "A photo's status"): what the app checks before sending, so a batch is not
refused minutes later for a reason it could see at once."""

from __future__ import annotations

import re
from datetime import timedelta

# The picture formats Booking.com takes (as Pillow names them), with the MIME type each is served as.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MIN_SIDE, MAX_SIDE = 300, 14000
MAX_BYTES = 50 * 1024 * 1024
# Photos one property holds at most.
MAX_PHOTOS = 299
# A batch's photo_pending_ids stop working this long after the batch was created.
PENDING_ID_LIFETIME = timedelta(days=7)
# What a photo batch id looks like ("4EU2z7o-qUQ").
BATCH_ID = re.compile(r"[A-Za-z0-9_-]+")
