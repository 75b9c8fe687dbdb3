"""Failure-rate alerts are checked every five minutes."""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "media-sync: failure-rate alerts"


def add(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "media_sync.tasks.check_alerts", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("media_sync", "0009_failure_alerts"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add, remove)]
