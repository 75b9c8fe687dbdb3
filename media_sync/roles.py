"""The two roles, declared once: what each may see and do. Synced on every `migrate` (post_migrate), so
the groups always hold exactly these permissions; the old data migrations that first made them stay as
history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

OPERATORS, TEAM_LEADS = "Operators", "Team leads"
_READ = [
    "view_recoveryconnectorder",
    "view_recoveryconnectphoto",
    "view_recoveryconnectrecovery",
    "view_recoveryconnectdocument",
    "view_transferjob",
    "view_transferitem",
    "view_auditevent",
    "view_corrigoworkorder",
    "view_corrigoattachment",
    "view_webhookdelivery",
    "view_suproperty",
    "view_suphoto",
    "view_subatch",
    "view_subatchphoto",
    "view_sugalleryphoto",
    "view_suroom",
    "view_sutag",
    # Open failures: everyone who reads them acknowledges and notes (team leads also decide, below).
    "view_failuregroup",
    "triage_note",
]
# Saved views (a filtered list kept under a name): each saves, renames and deletes their own.
_SAVED_VIEWS = ["view_savedview", "add_savedview", "change_savedview", "delete_savedview"]
ROLES: dict[str, list[str]] = {
    # Run transfers, uploads and batches; read the audit.
    OPERATORS: [
        *_READ,
        "add_recoveryconnectorder",
        "run_jobs",
        "add_corrigoworkorder",
        "change_corrigoworkorder",
        "add_suproperty",
        "add_suphoto",
        # A room's channel_room_id and name, kept by hand like a property's ids.
        "add_suroom",
        "change_suroom",
        *_SAVED_VIEWS,
    ],
    # Read everything and export the audit; run nothing; assign, resolve and ignore failures.
    # Team leads also keep the team's shared views tidy (rename or delete anyone's shared view).
    TEAM_LEADS: [*_READ, "export_auditevent", "triage_decide", *_SAVED_VIEWS, "manage_shared_savedview"],
}


def roles_sync(**kwargs: Any) -> None:
    for name, codenames in ROLES.items():
        permissions = Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        if permissions.count() != len(codenames):
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            raise RuntimeError(f"{name}: no such permissions {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
