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
        from django.conf import settings

        if settings.MEDIA_SYNC_BENCH_SQL_COUNT_DIR:
            from media_sync.sqlcount import sql_count_install

            sql_count_install(settings.MEDIA_SYNC_BENCH_SQL_COUNT_DIR)
        from django.db.models.signals import post_save

        from media_sync.metrics import metrics_observe_audit
        from media_sync.models import AuditEvent

        def count(sender: type[AuditEvent], instance: AuditEvent, created: bool, **kwargs: object) -> None:
            if created:
                metrics_observe_audit(instance)

        post_save.connect(count, sender=AuditEvent, weak=False, dispatch_uid="media_sync.metrics")

        from axes.signals import user_locked_out  # type: ignore[import-untyped]

        from media_sync.lockout import on_locked_out

        user_locked_out.connect(on_locked_out, dispatch_uid="media_sync.lockout")

        from django.db.models.signals import post_migrate

        from media_sync.roles import roles_sync
        from media_sync.schedules import schedules_sync

        # The roles and schedules are declared in code and put right after every migrate (and flush).
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="media_sync.roles")
        post_migrate.connect(schedules_sync, sender=self, dispatch_uid="media_sync.schedules")
        # PostgreSQL's runtime role, when one is named: its grants, the audit's INSERT and SELECT only.
        post_migrate.connect(db.db_grant_after_migrate, sender=self, dispatch_uid="media_sync.db_roles")
        from media_sync.audit_partitions import audit_partitions_after_migrate

        # PostgreSQL: this month's audit partition and the next ones, where missing.
        post_migrate.connect(
            audit_partitions_after_migrate, sender=self, dispatch_uid="media_sync.audit_partitions"
        )
