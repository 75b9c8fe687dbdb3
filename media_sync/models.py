"""Provider mirrors, jobs and their items, and the append-only audit."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Provider(models.TextChoices):
    RECOVERYCONNECT = "recoveryconnect", "RecoveryConnect"
    CORRIGOPRO = "corrigopro", "CorrigoPro"
    SUAPI = "suapi", "SU API"


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PENDING = "pending", "Pending"


class ThumbnailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    NOT_A_PICTURE = "not_a_picture", "Not a picture"


class Pictured(models.Model):
    """A provider's picture we show: a thumbnail and a larger preview made by a worker from the bytes the
    provider serves, kept in media storage (the provider's link is never stored)."""

    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", max_length=300, blank=True)
    preview = models.FileField(upload_to="previews/%Y/%m/", max_length=300, blank=True)
    thumbnail_status = models.CharField(
        max_length=20, choices=ThumbnailStatus.choices, default=ThumbnailStatus.PENDING
    )
    thumbnail_error = models.TextField(blank=True)

    class Meta:
        abstract = True


# --- RecoveryConnect mirror -------------------------------------------------------------------------


class RecoveryConnectOrder(models.Model):
    """An MBSI order as we know it. Transfers address destinations by *client* order id."""

    order_id = models.PositiveBigIntegerField("internal order id", unique=True)
    client_order_id = models.PositiveBigIntegerField(
        "client order id",
        null=True,
        blank=True,
        db_index=True,
        help_text="The client's own reference; transfers to this order use it.",
    )
    description = models.CharField(max_length=200, blank=True)
    photos_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-order_id"]
        verbose_name = "RecoveryConnect order"

    def __str__(self) -> str:
        client = f" (client {self.client_order_id})" if self.client_order_id else ""
        return f"Order {self.order_id}{client}"


class RecoveryConnectPhoto(Pictured):
    """A photo listed at RecoveryConnect. Its pre-signed URL is short-lived and never stored."""

    photo_id = models.PositiveBigIntegerField(unique=True)
    order = models.ForeignKey(RecoveryConnectOrder, on_delete=models.CASCADE, related_name="photos")
    name = models.CharField(max_length=255, blank=True)
    type_id = models.IntegerField(null=True, blank=True)
    type_name = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order_id", "photo_id"]
        verbose_name = "RecoveryConnect photo"

    def __str__(self) -> str:
        return f"Photo {self.photo_id} {self.name}".strip()


# --- Local files -----------------------------------------------------------------------------------


class MediaFile(models.Model):
    """A file we hold (django-storages: local disk or S3), checked when it came in."""

    file = models.FileField(upload_to="uploads/%Y/%m/%d/", max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    mime_type = models.CharField(max_length=100)
    uploaded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "media file"

    def __str__(self) -> str:
        return f"{self.original_name} ({self.size} bytes)"


# --- CorrigoPro mirror ------------------------------------------------------------------------------


class CorrigoWorkOrder(models.Model):
    work_order_id = models.PositiveBigIntegerField("work order id", unique=True)
    status = models.CharField(
        max_length=30, blank=True, help_text="As last seen: from a webhook, an error answer, or set by hand."
    )
    description = models.CharField(max_length=200, blank=True)
    attachments_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-work_order_id"]
        verbose_name = "CorrigoPro work order"

    def __str__(self) -> str:
        return f"Work order {self.work_order_id}" + (f" ({self.status})" if self.status else "")


class CorrigoAttachment(Pictured):
    """An attachment at CorrigoPro. Removed ones stay, marked, so a late "added" webhook cannot revive it."""

    attachment_id = models.CharField(max_length=36, unique=True)
    work_order = models.ForeignKey(CorrigoWorkOrder, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    document_type = models.CharField(max_length=30, blank=True)
    visibility = models.CharField(max_length=30, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    performed_by = models.CharField(max_length=100, blank=True)
    added_by = models.CharField(
        max_length=20, blank=True, help_text="'us', 'customer' or empty when unknown."
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["work_order_id", "name"]
        verbose_name = "CorrigoPro attachment"

    def __str__(self) -> str:
        return f"{self.name or self.attachment_id}" + (" (removed)" if self.removed_at else "")


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Stored (unknown event)"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One webhook message, stored once per provider MessageId: redeliveries find it and stop there."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    message_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60)
    work_order_id = models.PositiveBigIntegerField(null=True, blank=True)
    body = models.JSONField()
    status = models.CharField(max_length=20, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    deliveries = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["provider", "message_id"], name="unique_webhook_message")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"


# --- SU API (Booking.com) mirror ------------------------------------------------------------------


class SuProperty(models.Model):
    hotel_id = models.CharField("hotel id", max_length=50, unique=True)
    channel_hotel_id = models.CharField("channel hotel id", max_length=50)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hotel_id"]
        verbose_name = "Booking.com property"
        verbose_name_plural = "Booking.com properties"

    def __str__(self) -> str:
        return f"{self.name or self.hotel_id} ({self.hotel_id} / {self.channel_hotel_id})"


class SuPhoto(models.Model):
    """A property photo we hold, measured when it came in."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="photos")
    media = models.OneToOneField(MediaFile, on_delete=models.PROTECT, related_name="su_photo")
    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", max_length=300, blank=True)
    # The larger picture, made from the stored photo the first time someone opens it.
    preview = models.FileField(upload_to="previews/%Y/%m/", max_length=300, blank=True)
    image_format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # dHash: 64 bits as 16 hex digits; a small Hamming distance means "looks the same".
    phash = models.CharField(max_length=16, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Booking.com photo"

    def __str__(self) -> str:
        return f"{self.media.original_name} ({self.width}x{self.height})"


class BatchStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    POLLING = "polling", "Waiting for Booking.com"
    FINISHED = "finished", "Finished"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class SuBatch(models.Model):
    """A photo batch sent through the SU API, followed by polling pendingImages until every photo ends."""

    property = models.ForeignKey(SuProperty, on_delete=models.CASCADE, related_name="batches")
    job = models.OneToOneField("TransferJob", on_delete=models.PROTECT, related_name="su_batch")
    batch_id = models.CharField("photo batch id", max_length=50, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.SENDING)
    status_reason = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A poller holds the batch until this time: two pollers never work on one batch at once.
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Booking.com photo batch"
        verbose_name_plural = "Booking.com photo batches"

    def __str__(self) -> str:
        return f"Batch {self.batch_id or '(not sent)'} for {self.property.hotel_id}"


class SuBatchPhoto(models.Model):
    batch = models.ForeignKey(SuBatch, on_delete=models.CASCADE, related_name="photos")
    photo = models.ForeignKey(SuPhoto, on_delete=models.PROTECT, null=True, blank=True, related_name="sent")
    item = models.OneToOneField("TransferItem", on_delete=models.PROTECT, related_name="su_photo")
    # The URL's path only: its query carries the signature, which is never stored.
    url_path = models.CharField(max_length=500)
    photo_pending_id = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, blank=True)
    status_message = models.TextField(blank=True)
    booking_photo_id = models.CharField("Booking.com photo id", max_length=50, blank=True)
    duplicate_of = models.CharField(max_length=50, blank=True)
    request_timestamp = models.CharField(max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "photo in a batch"

    def __str__(self) -> str:
        return f"{self.url_path.rsplit('/', 1)[-1]}: {self.status or 'not sent'}"


# --- Jobs -------------------------------------------------------------------------------------------


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed"


OPERATION_LABELS = {
    "rc_sync_photos": "Refresh RecoveryConnect photos",
    "rc_transfer_photos": "Transfer RecoveryConnect photos",
    "rc_transfer_all": "Transfer all RecoveryConnect photos of an order",
    "cp_sync": "Refresh CorrigoPro attachments",
    "cp_upload": "Upload to CorrigoPro",
    "cp_update": "Change a CorrigoPro attachment",
    "cp_delete": "Delete a CorrigoPro attachment",
    "cp_download": "Download a CorrigoPro attachment",
    "su_create_batch": "Send photos to Booking.com",
    "su_delete": "Delete a photo from Booking.com",
    "su_follow_batch": "Follow a Booking.com batch sent elsewhere",
}

# Every operation an audit row can name: jobs', provider calls' and webhooks'. Fixed, so the audit list's
# filter needs no SELECT DISTINCT over the table.

# What an audit row's operation is, in words; an operation missing here is shown as it is stored.
AUDIT_OPERATION_LABELS = {
    "rc_sync_photos": "refresh photos",
    "rc_transfer_photos": "transfer photos",
    "rc_transfer_all": "transfer all photos",
    "cp_sync": "refresh attachments",
    "cp_upload": "upload attachment",
    "cp_update": "change attachment",
    "cp_delete": "delete attachment",
    "cp_download": "download attachment",
    "su_create_batch": "send photos",
    "su_delete": "delete photo",
    "su_follow_batch": "follow a batch sent elsewhere",
    "auth": "sign in",
    "list_photos": "list photos",
    "transfer_photo": "transfer photo",
    "transfer_all_photos": "transfer all photos",
    "fetch_photo": "fetch a photo (thumbnail)",
    "list_attachments": "list attachments",
    "upload_attachment": "upload attachment",
    "update_attachment": "change attachment",
    "delete_attachment": "delete attachment",
    "download_url": "ask for a download link",
    "download_file": "download file",
    "create": "send photo batch",
    "pendingImages": "check pending photos",
    "retrieveAll": "list gallery",
    "delete": "delete photo",
    "su_photo_add": "add photo",
    "webhook_AttachmentAdded": "webhook: attachment added",
    "webhook_AttachmentRemoved": "webhook: attachment removed",
    "webhook_NewWorkOrder": "webhook: new work order",
    "login_lockout": "login locked out",
}
# Every operation the audit can record: the Operation filter's fixed choices.
AUDIT_OPERATIONS = tuple(AUDIT_OPERATION_LABELS)

FINISHED_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.PARTLY_FAILED, JobStatus.FAILED)


class TransferJob(models.Model):
    """One operator request. Its status is derived from its items (services.jobs.job_refresh_status)."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    operation = models.CharField(max_length=40)
    subject = models.CharField(max_length=200, help_text="What the job is about, e.g. the source order.")
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    triggered_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "job"
        permissions = [("run_jobs", "Can run transfers, refreshes and retries")]
        indexes = [models.Index(fields=["status", "enqueued_at"])]

    def __str__(self) -> str:
        return f"Job {self.pk}: {self.get_operation_display()} {self.subject}"

    def get_operation_display(self) -> str:
        return OPERATION_LABELS.get(self.operation, self.operation.replace("_", " "))

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


class ProviderAnswer(models.Model):
    """What the provider said about an item: kept on the item, copied into its audit row."""

    provider_status = models.CharField(max_length=50, blank=True)  # the provider's own word
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    failure_class = models.CharField(max_length=30, blank=True)
    message = models.TextField(blank=True)
    reference = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True


ANSWER_FIELDS = ("provider_status", "http_status", "error_code", "failure_class", "message", "reference")


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    # Sent, and the provider decides later (a Booking.com photo batch): never handed back by the sweep.
    WAITING = "waiting", "Waiting for the provider"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class TransferItem(ProviderAnswer):
    """One unit of work: a photo to a destination, a file, a batch. Claimed with a conditional UPDATE."""

    job = models.ForeignKey(TransferJob, on_delete=models.CASCADE, related_name="items")
    item = models.CharField(max_length=100, help_text="Provider id of what is moved, e.g. a photo id.")
    destination = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Handed back after a call whose answer never came (a timeout, a lost connection, a worker that
    # died): the provider may have done it, so the next worker looks there before sending again.
    unconfirmed = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "item", "destination"], name="unique_item_per_job")
        ]
        indexes = [
            models.Index(fields=["status", "claimed_at"]),
            # A worker's next item: the job's pending ones, oldest first.
            models.Index(fields=["job", "status", "id"], name="item_next_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.item} -> {self.destination}" if self.destination else self.item


# --- Alerts ---------------------------------------------------------------------------------------


class FailureAlert(models.Model):
    """One email per provider per window: the row is the proof it went out, and the guard against twice."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    window_start = models.DateTimeField()
    total = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "window_start"], name="one_alert_per_window")
        ]

    def __str__(self) -> str:
        return (
            f"{self.provider}: {self.failed} of {self.total} failed from {self.window_start:%Y-%m-%d %H:%M}"
        )


# --- Audit ------------------------------------------------------------------------------------------


class AuditKind(models.TextChoices):
    HTTP = "http", "HTTP exchange"
    ITEM = "item", "Item result"
    WEBHOOK = "webhook", "Webhook received"
    REFUSAL = "refusal", "Refused before sending"
    LOCKOUT = "lockout", "Login locked out"


class AuditEvent(ProviderAnswer):
    """Append-only: rows are inserted, never changed. A database trigger refuses UPDATE and DELETE."""

    timestamp = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=10, choices=AuditKind.choices)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    operation = models.CharField(max_length=40)
    # PROTECT and no ON DELETE action: a job with audit rows can never be deleted from under them.
    job = models.ForeignKey(TransferJob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=200, blank=True)
    item = models.CharField(max_length=100, blank=True)
    destination = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    attempt = models.PositiveIntegerField(default=1)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    triggered_by = models.CharField(max_length=150, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=300, blank=True)
    request_summary = models.TextField(blank=True)
    response_summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "audit event"
        permissions = [("export_auditevent", "Can export the audit as CSV")]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="audit_recent"),
            models.Index(fields=["provider", "-timestamp"], name="audit_provider_recent"),
            models.Index(fields=["outcome", "-timestamp"], name="audit_outcome_recent"),
            # Each list filter, newest first; a team lead's usual view is one provider's failures.
            models.Index(fields=["outcome", "provider", "-timestamp"], name="audit_outcome_provider_recent"),
            models.Index(fields=["failure_class", "-timestamp"], name="audit_failure_recent"),
            models.Index(fields=["operation", "-timestamp"], name="audit_operation_recent"),
            models.Index(fields=["error_code", "-timestamp"], name="audit_error_code_recent"),
            models.Index(fields=["triggered_by", "-timestamp"], name="audit_user_recent"),
            # The list's exact-match search: photo, attachment, order or batch ids and provider references.
            # Newest first as well: a record's timeline (selectors.audit_timeline) filters on these.
            models.Index(fields=["item", "-timestamp"], name="audit_item_recent"),
            models.Index(fields=["destination", "-timestamp"], name="audit_destination_recent"),
            models.Index(fields=["reference"], name="audit_reference"),
            models.Index(fields=["subject", "-timestamp"], name="audit_subject_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.provider} {self.operation} {self.outcome}"


class ProviderPace(models.Model):
    """A provider's shared request rate: when the next request may start, whichever worker sends it.
    Time is Unix seconds from the sending machine's clock (machines are expected to run NTP)."""

    provider = models.CharField(max_length=20, choices=Provider.choices, primary_key=True)
    next_at = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.provider}: next request at {self.next_at:.3f}"


class ProviderLease(models.Model):
    """One of a provider's concurrency slots; held by a worker for one request. A lease that outlives
    its expiry belongs to a worker that died, and is free again."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    slot = models.PositiveSmallIntegerField()
    holder = models.UUIDField(null=True, blank=True)
    expires_at = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "slot"], name="provider_lease_slot")]

    def __str__(self) -> str:
        return f"{self.provider} slot {self.slot}"
