"""The name each CorrigoPro call is recorded under in the audit.

The values are stored: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Call(StrEnum):
    AUTH = "auth"
    LIST_ATTACHMENTS = "list_attachments"
    UPLOAD_ATTACHMENT = "upload_attachment"
    UPDATE_ATTACHMENT = "update_attachment"
    DELETE_ATTACHMENT = "delete_attachment"
    DOWNLOAD_URL = "download_url"
    DOWNLOAD_FILE = "download_file"
