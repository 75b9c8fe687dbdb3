"""Demo data for open failures: transfers to the closed order 9100003 that fail at RecoveryConnect, so a
team lead finds failure groups to triage (one already acknowledged and assigned to the operator)."""

from __future__ import annotations

from django.contrib.auth.models import User

from media_sync.models import FailureGroup, GroupStatus, RecoveryConnectOrder, TransferJob, TriageAction
from media_sync.services.recoveryconnect import rc_transfer_photos_start
from media_sync.services.recoveryconnect_documents import rc_transfer_documents_start
from media_sync.services.run import job_run
from media_sync.services.triage import triage_act

SOURCE, CLOSED = 57076503, 9100003


def demo_open_failures() -> list[TransferJob]:
    """Call after demo_documents_load and demo_users_reset: two photos and the documents of order
    57076503 sent to the closed order, every item failed; the photos' group acknowledged by `lead` and
    assigned to `operator`, the documents' left open."""
    source = RecoveryConnectOrder.objects.get(order_id=SOURCE)
    photos = rc_transfer_photos_start(
        photos=list(source.photos.filter(name__in=("vin.jpg", "damage-left.jpg"))),
        destinations=[CLOSED],
        triggered_by="operator",
        enqueue=False,
    )
    documents = rc_transfer_documents_start(
        order=source, destinations=[CLOSED], triggered_by="operator", enqueue=False
    )
    jobs = [job_run(job_id=job.pk) or job for job in (photos, documents)]
    group = FailureGroup.objects.filter(items__job=photos).first()
    lead, operator = User.objects.get(username="lead"), User.objects.get(username="operator")
    # A demo started again on its own database finds the group as the last run left it.
    if group is not None and group.status == GroupStatus.OPEN:
        note = "Order 9100003 is closed at RecoveryConnect; asked them whether it reopens."
        triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=lead, note=note)
    if group is not None and group.owner_id != operator.pk:
        triage_act(group=group, action=TriageAction.ASSIGN, by=lead, owner=operator)
    return jobs
