"""An item's result: finished, handed back unconfirmed, or waiting on the provider; and the policy that
turns a failed provider call into those results."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import FailureClass, ProviderError
from media_sync.models import ANSWER_FIELDS, ItemStatus, Outcome, TransferItem, TransferJob
from media_sync.services.audit import audit_item_row, audit_record_item, audit_rows_insert
from media_sync.services.triage_groups import failure_group_join

logger = logging.getLogger(__name__)

T = TypeVar("T")


def provider_call(
    job: TransferJob, items: list[TransferItem], call: Callable[[], T], *, can_confirm: bool = False
) -> T | None:
    """One provider call for claimed items. When it fails, after the client's retries, every item ends
    failed with the reason, and None comes back. With `can_confirm` (the caller can look at the provider),
    a call left unconfirmed (it may have been carried out without its answer reaching us) hands its items
    back instead: the next claim looks first."""
    try:
        return call()
    except ProviderError as error:
        if error.unconfirmed and can_confirm:
            for item in items:
                item_hand_back_unconfirmed(item=item, job=job, failure=error)
            return None
        failure = error
        if error.unconfirmed:
            failure.message += ": the provider may have carried it out, so look there before retrying"
    except Exception as exc:  # a bug of ours must still end the items, never strand them
        logger.exception("job %s: unexpected error", job.pk, extra={"item_ids": [item.pk for item in items]})
        failure = ProviderError(
            f"internal error: {type(exc).__name__}", failure_class=FailureClass.INTERNAL, transient=False
        )
    for item in items:
        # No answer to the last attempt: whether the provider did it is unknown, and a retry looks first.
        item.unconfirmed = item.unconfirmed or failure.unconfirmed
        item_finish(
            item=item,
            job=job,
            succeeded=False,
            http_status=failure.http_status,
            error_code=failure.code,
            failure_class=failure.failure_class,
            message=failure.message,
            reference=failure.reference,
        )
    return None


def item_finish(
    *,
    item: TransferItem,
    job: TransferJob,
    succeeded: bool,
    provider_status: str = "",
    http_status: int | None = None,
    error_code: str = "",
    failure_class: str = "",
    message: str = "",
    reference: str = "",
) -> None:
    """Record an item's result on the item and, in the same transaction, in the audit.

    A failure does not clear an unconfirmed mark: an earlier call may still have been carried out, so
    a retry looks at the provider first, and keeps the reference it was sent with (its MessageId)."""
    item.status = ItemStatus.SUCCEEDED if succeeded else ItemStatus.FAILED
    item.unconfirmed = item.unconfirmed and not succeeded
    item.provider_status = provider_status[:50]
    item.http_status = http_status
    item.error_code = error_code[:50]
    item.failure_class = "" if succeeded else failure_class
    item.message = message
    item.reference = (reference or (item.reference if item.unconfirmed else ""))[:100]
    with transaction.atomic():
        # Only the claim holder writes the result; a late answer after the sweep handed the item back
        # still reaches the audit, marked as such.
        values = {"updated_at": timezone.now(), "status": item.status, "unconfirmed": item.unconfirmed}
        values.update({name: getattr(item, name) for name in ANSWER_FIELDS})
        values["failure_group_id"] = item.failure_group_id = failure_group_join(item=item, job=job)
        mine = TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token)
        # Handed back but not taken again yet: the answer still counts, so it is not sent twice.
        handed_back = TransferItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING)
        if not (mine.update(**values) or handed_back.update(**values)):
            item.message = f"[late result, item had been handed back] {message}"
        audit_record_item(item=item, job=job, outcome=Outcome.SUCCEEDED if succeeded else Outcome.FAILED)


def items_finish_succeeded(
    *, job: TransferJob, succeeded: list[tuple[TransferItem, str]], http_status: int
) -> None:
    """Record plain successes ((item, provider status) pairs) of a batch as item_finish would, with one
    UPDATE per provider status and one INSERT of their audit rows: the same values and rows, fewer round
    trips. An item whose claim this worker no longer holds (the sweep handed it back) goes through
    item_finish, which knows what to do with a late result."""
    if not succeeded:
        return
    with transaction.atomic():
        now = timezone.now()
        held: set[int] = set()
        for status in sorted({status for _, status in succeeded}):
            items = [item for item, s in succeeded if s == status]
            # Only the claim holder writes the result, as in item_finish: by id and claim token.
            mine = Q()
            for token in {item.claim_token for item in items}:
                mine |= Q(pk__in=[item.pk for item in items if item.claim_token == token], claim_token=token)
            updated = TransferItem.objects.filter(mine).update(
                status=ItemStatus.SUCCEEDED,
                unconfirmed=False,
                provider_status=status[:50],
                http_status=http_status,
                error_code="",
                failure_class="",
                message="",
                reference="",
                updated_at=now,
            )
            pks = {item.pk for item in items}
            held |= (
                pks
                if updated == len(pks)
                else set(TransferItem.objects.filter(mine).values_list("pk", flat=True))
            )
        rows = []
        for item, status in succeeded:
            if item.pk not in held:
                item_finish(
                    item=item, job=job, succeeded=True, provider_status=status, http_status=http_status
                )
                continue
            item.status, item.unconfirmed = ItemStatus.SUCCEEDED, False
            item.provider_status, item.http_status = status[:50], http_status
            item.error_code = item.failure_class = item.message = item.reference = ""
            rows.append(audit_item_row(item=item, job=job, outcome=Outcome.SUCCEEDED))
        audit_rows_insert(rows)


def item_hand_back_unconfirmed(*, item: TransferItem, job: TransferJob, failure: ProviderError) -> None:
    """The call got no answer and may have been carried out: back to pending, marked, so the next claim
    looks at the provider before sending. After MEDIA_SYNC_MAX_ATTEMPTS claims it ends failed instead."""
    if item.attempts >= settings.MEDIA_SYNC_MAX_ATTEMPTS:
        item.unconfirmed = True  # it may have been carried out: a retry looks first
        item_finish(
            item=item,
            job=job,
            succeeded=False,
            failure_class=failure.failure_class,
            http_status=failure.http_status,
            message=f"{failure.message}, {item.attempts} times",
        )
        return
    item.status, item.failure_class = ItemStatus.PENDING, failure.failure_class
    item.message = f"{failure.message}: will look at the provider before sending again"
    with transaction.atomic():
        TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
            status=ItemStatus.PENDING,
            unconfirmed=True,
            claim_token=None,
            claimed_at=None,
            message=item.message,
            updated_at=timezone.now(),
        )
        audit_record_item(item=item, job=job, outcome=Outcome.PENDING)


def item_wait(
    *, item: TransferItem, job: TransferJob, message: str, reference: str = "", status: str = ""
) -> None:
    """The provider took the item and will decide later: it leaves the worker's hands (the sweep never
    hands it back) and the audit says so."""
    item.status = ItemStatus.WAITING
    item.message, item.reference, item.provider_status = message, reference[:100], status[:50]
    with transaction.atomic():
        TransferItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
            status=item.status,
            message=message,
            reference=item.reference,
            provider_status=item.provider_status,
            updated_at=timezone.now(),
        )
        audit_record_item(item=item, job=job, outcome=Outcome.PENDING)
