"""Small helpers for the tests: the same order on both sides (simulator and mirror), commands run."""

from __future__ import annotations

import io

from django.contrib.auth.models import Group
from django.core.management import call_command

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import RecoveryConnectOrder, RecoveryConnectPhoto
from media_sync.roles import roles_sync


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
    """A role group as `media_sync/roles.py` declares it (every migrate and flush syncs them)."""
    if not Group.objects.filter(name=name).exists():
        roles_sync()
    return Group.objects.get(name=name)
