"""The name each RecoveryConnect call is recorded under in the audit.

The values are stored: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Call(StrEnum):
    AUTH = "auth"
    LIST_PHOTOS = "list_photos"
    TRANSFER_PHOTO = "transfer_photo"
    TRANSFER_ALL_PHOTOS = "transfer_all_photos"
    FETCH_PHOTO = "fetch_photo"
    LIST_RECOVERIES = "list_recoveries"
    LIST_RECOVERY_PHOTOS = "list_recovery_photos"
    UPLOAD_PHOTO = "upload_photo"
    UPLOAD_PERSONAL_PHOTO = "upload_personal_photo"
    LIST_DOCUMENTS = "list_documents"
    TRANSFER_DOCUMENTS = "transfer_documents"
