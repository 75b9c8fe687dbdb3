"""The admin: operators run work from here, team leads read and export."""

from media_sync.admin import (  # noqa: F401  (registers the ModelAdmins)
    audit,
    corrigopro,
    jobs,
    recoveryconnect,
    recoveryconnect_documents,
    saved_views,
    suapi,
    suapi_gallery,
    triage,
)
