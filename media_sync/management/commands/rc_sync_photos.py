from __future__ import annotations

from media_sync.management.rc_options import OrderRefreshCommand
from media_sync.models import Operation, TransferJob
from media_sync.services.recoveryconnect import rc_refresh_start


class Command(OrderRefreshCommand):
    operation = Operation.RC_SYNC_PHOTOS
    help = "List an order's photos at RecoveryConnect and mirror them."

    def refresh_start(self, *, order_ids: list[int], triggered_by: str, enqueue: bool) -> TransferJob:
        return rc_refresh_start(order_ids=order_ids, triggered_by=triggered_by, enqueue=enqueue)
