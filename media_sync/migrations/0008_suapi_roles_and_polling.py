"""The roles get the Booking.com pages, and a schedule follows sent batches."""

from __future__ import annotations

from typing import Any

from django.db import migrations

GRANTS = {
    "Operators": [
        "view_suproperty",
        "add_suproperty",
        "view_suphoto",
        "add_suphoto",
        "view_subatch",
        "view_subatchphoto",
    ],
    "Team leads": ["view_suproperty", "view_suphoto", "view_subatch", "view_subatchphoto"],
}
SCHEDULE = "media-sync: poll Booking.com photo batches"


def grant(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        permissions = Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        if permissions.count() != len(codenames):
            raise RuntimeError(f"missing permissions for {name}")
        Group.objects.get(name=name).permissions.add(*permissions)
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE,
        defaults={
            "func": "media_sync.tasks.poll_su_batches",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def revoke(apps: Any, schema_editor: Any) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        permissions = Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        Group.objects.get(name=name).permissions.remove(*permissions)
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0007_suapi")]

    operations = [migrations.RunPython(grant, revoke)]
