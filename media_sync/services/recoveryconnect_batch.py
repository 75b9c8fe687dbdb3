"""RecoveryConnect's per-photo transfer, batched: with MEDIA_SYNC_CALLS_PER_WORKER above 1, a worker makes
that many transfer calls at once (services/batches.py); what needs a look-up first (items handed back
unanswered) is then taken one at a time by the plain runner, as are transfer-all jobs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial

from integrations.recoveryconnect.client import RecoveryConnectClient
from media_sync.models import Operation, TransferItem, TransferJob
from media_sync.services.batches import BatchCall, batch_calls_per_worker, job_run_batched
from media_sync.services.recoveryconnect import (
    TransferPhotosParams,
    rc_client,
    rc_record_each,
    rc_run_transfer,
)


def _plan(
    source_of: dict[str, int], client: RecoveryConnectClient, claimed: list[TransferItem]
) -> list[BatchCall[RecoveryConnectClient]]:
    """One call per photo, naming every destination of it that was claimed (as the plain runner does)."""
    by_photo: dict[str, list[TransferItem]] = defaultdict(list)
    for item in claimed:
        by_photo[item.item].append(item)
    calls = []
    for photo_id, items in by_photo.items():
        order_id = source_of.get(photo_id)
        if order_id is None:  # never seen: a transfer's params name the order of every photo it asks for
            raise ValueError(f"photo {photo_id} has no source order in its job's params")
        destinations = [int(item.destination) for item in items]
        calls.append(
            BatchCall[RecoveryConnectClient](
                items=items,
                item=photo_id,
                destination=",".join(map(str, destinations)),
                request=client.transfer_photo_request(
                    order_id=order_id, photo_id=int(photo_id), transfer_to=destinations
                ),
                send=partial(_send, order_id, int(photo_id), destinations),
            )
        )
    return calls


def _send(order_id: int, photo_id: int, destinations: list[int], client: RecoveryConnectClient) -> object:
    return client.transfer_photo(order_id=order_id, photo_id=photo_id, transfer_to=destinations)


def _record(job: TransferJob, call: BatchCall[RecoveryConnectClient]) -> list[tuple[TransferItem, str]]:
    """The plain successes, to be recorded together; anything else item by item, as the plain runner."""
    outcomes = list(call.result)
    by_key = {(str(o.photo_id), str(o.destination)): o for o in outcomes}
    if len(by_key) != len(outcomes) or set(by_key) - {(i.item, i.destination) for i in call.items}:
        rc_record_each(job, call.items, outcomes)  # an answer about more than was asked: as ever
        return []
    succeeded, rest = [], []
    for item in call.items:
        outcome = by_key.pop((item.item, item.destination), None)
        if outcome is not None and outcome.succeeded:
            succeeded.append((item, outcome.status))
        else:
            rest.append(item)
    if rest:
        rc_record_each(job, rest, [o for o in outcomes if (str(o.photo_id), str(o.destination)) in by_key])
    return succeeded


def _run_transfer_photos(job: TransferJob) -> None:
    threads = batch_calls_per_worker()
    if threads > 1:
        params: TransferPhotosParams = job.params
        job_run_batched(
            job=job,
            threads=threads,
            make_client=lambda recorder: rc_client(recorder=recorder),
            plan=partial(_plan, {photo: int(order) for photo, order in params["photos"].items()}),
            record=_record,
        )
    rc_run_transfer(job)  # what is left: look-ups before sending again, one at a time


RUNNERS: dict[str, Callable[[TransferJob], None]] = {Operation.RC_TRANSFER_PHOTOS: _run_transfer_photos}
