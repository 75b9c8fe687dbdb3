from __future__ import annotations

from django.apps import AppConfig


class MediaSyncConfig(AppConfig):
    name = "media_sync"
    verbose_name = "Media sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_sync import (
            checks,  # noqa: F401  (registers the system checks)
            db,
        )

        db.install()
