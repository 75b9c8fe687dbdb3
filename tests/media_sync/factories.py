"""Small helpers for the tests: the same order on both sides (simulator and mirror), commands run."""

from __future__ import annotations

import importlib
import io

from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import RecoveryConnectOrder, RecoveryConnectPhoto


def order_on_both_sides(
    sim: RecoveryConnectSimulator,
    order_id: int,
    client_order_id: int,
    photo_ids: list[int],
    *,
    locked: tuple[int, ...] = (),
    closed: bool = False,
) -> RecoveryConnectOrder:
    sim.add_order(
        order_id,
        client_order_id,
        closed=closed,
        photos=[
            {"id": photo_id, "name": f"{photo_id}.jpg", "locked": photo_id in locked}
            for photo_id in photo_ids
        ],
    )
    order = RecoveryConnectOrder.objects.create(order_id=order_id, client_order_id=client_order_id)
    for photo_id in photo_ids:
        RecoveryConnectPhoto.objects.create(photo_id=photo_id, order=order, name=f"{photo_id}.jpg")
    return order


def run_command(*args: str) -> tuple[int, str]:
    """A management command's exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def role(name: str) -> Group:
    """A role group as migration 0003 creates it; made again here after a live-server test emptied the
    database (a flush keeps permissions, which post_migrate recreates, but not data migrations' rows)."""
    group, created = Group.objects.get_or_create(name=name)
    if created:
        codenames = [
            codename
            for module, grants in ROLE_MIGRATIONS
            for codename in getattr(importlib.import_module(f"media_sync.migrations.{module}"), grants)[name]
        ]
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="media_sync", codename__in=codenames)
        )
    return group


# The migrations that give the roles their permissions, and the name of each one's table of grants.
ROLE_MIGRATIONS = [
    ("0003_roles_and_schedule", "ROLES"),
    ("0005_corrigopro_roles", "GRANTS"),
    ("0008_suapi_roles_and_polling", "GRANTS"),
]
