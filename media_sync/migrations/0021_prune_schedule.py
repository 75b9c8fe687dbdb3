"""Retention runs once a day."""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "media-sync: prune old rows and files"


def add(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "media_sync.tasks.prune_old_rows", "schedule_type": "D", "repeats": -1},
    )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0020_login_lockout")]

    operations = [migrations.RunPython(add, remove)]
