"""A job's task travels through the configured broker: django-q2's ORM broker by default, Redis when
REDIS_URL is set (CI runs this file both ways)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync import tasks
from media_sync.models import JobStatus, TransferJob
from media_sync.services.jobs import job_enqueue
from media_sync.services.recoveryconnect import rc_refresh_start

pytestmark = pytest.mark.django_db


def test_enqueued_job_reaches_the_broker_and_runs_from_its_message(
    rc_sim: RecoveryConnectSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    assert broker.__class__.__name__ == ("Redis" if settings.REDIS_URL else "ORM")
    broker.purge_queue()
    rc_sim.add_order(57076503, 9100001, photos=[{"id": 1, "name": "a.jpg"}])
    job = rc_refresh_start(order_ids=[57076503], triggered_by="ann", enqueue=False)

    job_enqueue(job_id=job.pk)

    messages = broker.dequeue() or []
    assert len(messages) == 1
    ack_id, payload = messages[0]
    task = SignedPackage.loads(payload)
    assert (task["func"], task["args"]) == ("media_sync.tasks.run_job", (job.pk,))
    getattr(tasks, task["func"].rsplit(".", 1)[1])(*task["args"])  # what the worker does with it
    broker.acknowledge(ack_id)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert TransferJob.objects.get().items.get().message.startswith("1 photos listed")
