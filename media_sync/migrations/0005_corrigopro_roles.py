"""The roles get the CorrigoPro pages: operators run work on them, team leads read them."""

from __future__ import annotations

from typing import Any

from django.db import migrations

GRANTS = {
    "Operators": [
        "view_corrigoworkorder",
        "add_corrigoworkorder",
        "change_corrigoworkorder",
        "view_corrigoattachment",
        "view_webhookdelivery",
    ],
    "Team leads": ["view_corrigoworkorder", "view_corrigoattachment", "view_webhookdelivery"],
}


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


def revoke(apps: Any, schema_editor: Any) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        permissions = Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        Group.objects.get(name=name).permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0004_corrigopro")]

    operations = [migrations.RunPython(grant, revoke)]
