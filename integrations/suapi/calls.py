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
    SHOW = "show"
    UPDATE = "update"
    IMAGE_ORDER = "imageOrder"
    RETRIEVE_ASSOCIATE_IMAGES = "retrieveAssociateImages"
    ASSOCIATE = "associate"
    UNASSOCIATE = "unassociate"
    RETRIEVE_TAGS = "retrieveTags"
    # Not a verb: the GET of a photo's public preview (sample_url), for its thumbnail.
    FETCH_PHOTO = "fetch_photo"
