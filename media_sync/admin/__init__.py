"""The admin: operators run work from here, team leads read and export."""

from media_sync.admin import audit, corrigopro, jobs, recoveryconnect, suapi  # noqa: F401  (registers the ModelAdmins)
