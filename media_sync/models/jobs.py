"""Jobs and their items: one operator request, one unit of work each, and what the provider said."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from media_sync.models.vocabulary import Provider, failure_class_words, job_operation_choices


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed"


FINISHED_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.PARTLY_FAILED, JobStatus.FAILED)


class TransferJob(models.Model):
    """One operator request. Its status is derived from its items (services.jobs.job_refresh_status)."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    operation = models.CharField(max_length=40, choices=job_operation_choices)
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
        # The title names its kind of subject already ("… of an order"): the subject follows a dash.
        subject = f" — {self.subject}" if self.subject else ""
        return f"Job {self.pk}: {self.get_operation_display()}{subject}"

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


class CheckResult(models.TextChoices):
    """What a check at the provider found of a succeeded item (services/checks.py)."""

    CONFIRMED = "confirmed", "Confirmed at the provider"
    MISSING = "missing", "Missing at the provider"
    # Confirmed by an earlier check, gone now.
    REMOVED_LATER = "removed_later", "Removed later"
    DUPLICATE = "duplicate", "Ended as duplicate"
    EXPIRED = "expired", "Expired"


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
    # The latest check at the provider (each check is also an audit row of kind "check"). No result
    # with a check time: the item could not be checked (the message says why).
    checked_at = models.DateTimeField(null=True, blank=True)
    check_result = models.CharField(max_length=20, choices=CheckResult.choices, blank=True)
    check_message = models.TextField(blank=True)
    # Set when it ends failed (services/triage.py): the cause it is triaged under.
    failure_group = models.ForeignKey(
        "media_sync.FailureGroup", on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )

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

    @property
    def failure_class_words(self) -> str:
        return failure_class_words(self.failure_class)
