"""The admin: operators run work from here, team leads read and export."""

from media_sync.admin import audit, corrigopro, jobs, recoveryconnect, suapi, suapi_gallery  # noqa: F401  (registers the ModelAdmins)
