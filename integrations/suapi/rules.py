"""Booking.com's rules for a property's photos, as the SU API passes them on (docs/providers/suapi.md,
"Booking.com's limits" and "A photo's status"): the limits we check before sending, so a batch is not
refused minutes later for a reason we could see at once, and what each photo status means."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from integrations.errors import FailureClass

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


class PhotoStatus(StrEnum):
    """A photo's `status` in pendingImages, in the order a photo goes through them."""

    NEW = "new"
    ENQUEUED = "enqueued"
    OK = "ok"
    DUPLICATE = "duplicate"
    BAD_URL = "bad_url"
    ERROR = "error"
    ERROR_DECODE = "error_decode"


# new and enqueued: Booking.com is still working on the photo. Only ok is a success.
FINAL_STATUSES = frozenset(PhotoStatus) - {PhotoStatus.NEW, PhotoStatus.ENQUEUED}
# What a final status says went wrong; any other is Booking.com's own error.
FAILURE_OF_STATUS: dict[str, FailureClass] = {
    PhotoStatus.DUPLICATE: FailureClass.DUPLICATE,
    PhotoStatus.BAD_URL: FailureClass.INVALID_INPUT,
    PhotoStatus.ERROR_DECODE: FailureClass.INVALID_INPUT,
}
# A duplicate's status_message names the photo it copies: "... The original photo id is : <id>".
ORIGINAL_ID = re.compile(r"original photo id is\s*:\s*(\S+)", re.IGNORECASE)
