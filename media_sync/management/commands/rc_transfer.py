from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from media_sync.management.jobcommand import EXIT_FAILED, JobCommand
from media_sync.management.rc_options import add_transfer_arguments, transfer_source_and_destinations
from media_sync.models import ItemStatus, Operation, Provider, RecoveryConnectOrder, RecoveryConnectPhoto
from media_sync.selectors import DoneBefore, rc_transfers_done
from media_sync.services.audit import audit_name_items
from media_sync.services.ids import parse_ids
from media_sync.services.recoveryconnect import (
    rc_refresh_start,
    rc_transfer_all_start,
    rc_transfer_photos_start,
)
from media_sync.services.refusals import InputRefused
from media_sync.services.run import job_run


class Command(JobCommand):
    provider = Provider.RECOVERYCONNECT
    operation = Operation.RC_TRANSFER_PHOTOS  # without --photo: Operation.RC_TRANSFER_ALL, set in handle()
    help = (
        "Transfer an order's photos to other orders at RecoveryConnect. With --photo: one "
        "transfer-specific-photo call per photo; without: the transfer-all-photos call."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_transfer_arguments(parser)
        parser.add_argument("--photo", action="append", metavar="PHOTO_ID", help="photo id (repeatable)")
        parser.add_argument(
            "--again",
            action="store_true",
            help="send photos already transferred to a destination again (else: skipped, with a message)",
        )
        super().add_arguments(parser)

    def refusal_about(self, options: dict[str, Any]) -> tuple[str, str]:
        return f"order {options['order']}", audit_name_items(options["photo"] or ["all photos"], "photos")

    def handle(self, *args: Any, **options: Any) -> None:
        # A refusal is recorded under the operation asked for, one the audit's Operation filter offers.
        self.operation = Operation.RC_TRANSFER_PHOTOS if options["photo"] else Operation.RC_TRANSFER_ALL

        def start(enqueue: bool) -> Any:
            order_id, destinations = transfer_source_and_destinations(options)
            order = RecoveryConnectOrder.objects.filter(order_id=order_id).first() or self.mirror(
                order_id, options["user"]
            )
            photos = list(order.photos.select_related("order"))
            if options["photo"]:
                photo_ids = parse_ids(options["photo"], what="photo id")
                photos = [photo for photo in photos if photo.photo_id in photo_ids]
                missing = sorted(set(photo_ids) - {photo.photo_id for photo in photos})
                if missing:
                    raise InputRefused(
                        f"photo {', '.join(map(str, missing))} is not a photo of order {order_id} "
                        f"(refresh with rc_sync_photos --order {order_id})"
                    )
            leave_out = {} if options["again"] else self.skip_done(photos, destinations)
            if not options["photo"]:
                return rc_transfer_all_start(
                    order=order,
                    destinations=destinations,
                    triggered_by=options["user"],
                    enqueue=enqueue,
                    leave_out=leave_out,
                )
            return rc_transfer_photos_start(
                photos=photos,
                destinations=destinations,
                triggered_by=options["user"],
                enqueue=enqueue,
                leave_out=leave_out,
            )

        self.start_job(options, start)

    def mirror(self, order_id: int, user: str) -> RecoveryConnectOrder:
        """An order not mirrored yet is listed at RecoveryConnect first (its photos and recoveries, in the
        audit, run here whatever --sync says: the transfer needs its photos)."""
        job = rc_refresh_start(order_ids=[order_id], triggered_by=user, enqueue=False)
        job_run(job_id=job.pk)
        item = job.items.get()
        order = RecoveryConnectOrder.objects.filter(order_id=order_id).first()
        if item.status != ItemStatus.SUCCEEDED or order is None:
            raise CommandError(
                f"order {order_id} could not be mirrored first (job {job.pk}): {item.message}",
                returncode=EXIT_FAILED,
            )
        self.stdout.write(f"order {order_id} mirrored first (job {job.pk}): {item.message}")
        return order

    def skip_done(
        self, photos: list[RecoveryConnectPhoto], destinations: list[int]
    ) -> dict[tuple[int, int], DoneBefore]:
        """The pairs already transferred, each said as skipped."""
        done = rc_transfers_done(photo_ids=[photo.photo_id for photo in photos], destinations=destinations)
        for (photo_id, destination), before in done.items():
            self.stdout.write(
                f"{photo_id} -> {destination}: skipped, already transferred {before} (--again sends it again)"
            )
        return done
