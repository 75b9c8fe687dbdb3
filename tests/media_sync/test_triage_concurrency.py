"""Two workers ending items failed for the same new cause at the same moment, each on its own database
connection: one failure group, both items in it (the unique signature and the upsert decide). Needs real
concurrent transactions, so it runs on PostgreSQL (CI's second pass)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import FailureGroup, TransferItem
from media_sync.services.items import item_finish
from tests.media_sync.factories import rc_transfer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions (PostgreSQL)"
    ),
]


def test_two_workers_failing_the_same_new_way_make_one_group(rc_sim: RecoveryConnectSimulator) -> None:
    job = rc_transfer(rc_sim, [9100002], photos=10)
    items = list(job.items.order_by("id"))
    errors: list[BaseException] = []

    def worker(item: TransferItem, cause: str, start: threading.Barrier) -> None:
        try:
            start.wait(timeout=10)
            item_finish(
                item=item,
                job=job,
                succeeded=False,
                failure_class="not_found",
                message=f"photo {item.item} {cause}",
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    causes = ("is locked", "is gone", "is too big", "was refused", "has no name")
    for n, cause in enumerate(causes):  # five new causes, each raced by two workers
        start = threading.Barrier(2)
        pair = items[2 * n : 2 * n + 2]
        threads = [threading.Thread(target=worker, args=(item, cause, start)) for item in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert FailureGroup.objects.count() == 5
    for group in FailureGroup.objects.all():
        assert group.items.count() == 2
