"""The name each SU API call is recorded under in the audit: the verb it posts to, as the API spells it.

The values are stored: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Call(StrEnum):
    CREATE = "create"
    PENDING_IMAGES = "pendingImages"
    RETRIEVE_ALL = "retrieveAll"
    DELETE = "delete"
