"""The two roles and the periodic sweep that re-enqueues stale jobs."""

from __future__ import annotations

from typing import Any

from django.db import migrations

ROLES = {
    "Operators": [
        "view_recoveryconnectorder",
        "add_recoveryconnectorder",
        "view_recoveryconnectphoto",
        "view_transferjob",
        "view_transferitem",
        "run_jobs",
        "view_auditevent",
    ],
    "Team leads": [
        "view_recoveryconnectorder",
        "view_recoveryconnectphoto",
        "view_transferjob",
        "view_transferitem",
        "view_auditevent",
        "export_auditevent",
    ],
}


def create_roles(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        if permissions.count() != len(codenames):
            raise RuntimeError(f"missing permissions for {name}")
        group.permissions.set(permissions)


def create_sweep(apps: Any, schema_editor: Any) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="media-sync: sweep stale jobs",
        defaults={
            "func": "media_sync.tasks.sweep_stale_jobs",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()
    apps.get_model("django_q", "Schedule").objects.filter(name="media-sync: sweep stale jobs").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("media_sync", "0002_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_roles, remove),
        migrations.RunPython(create_sweep, migrations.RunPython.noop),
    ]
