"""The app's models, one module a noun; import them from here."""

from media_sync.models.audit import AuditEvent, AuditKind
from media_sync.models.corrigopro import CorrigoAttachment, CorrigoWorkOrder, WebhookDelivery, WebhookStatus
from media_sync.models.jobs import (
    ANSWER_FIELDS,
    FINISHED_JOB_STATUSES,
    CheckResult,
    ItemStatus,
    JobStatus,
    ProviderAnswer,
    TransferItem,
    TransferJob,
)
from media_sync.models.media import MediaFile, Pictured, ThumbnailStatus
from media_sync.models.providers import FailureAlert, ProviderLease, ProviderPace
from media_sync.models.recoveryconnect import (
    RecoveryConnectDocument,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    RecoveryConnectRecovery,
)
from media_sync.models.saved_views import SavedView
from media_sync.models.seals import AuditArchive, AuditSeal
from media_sync.models.suapi import BatchStatus, SuBatch, SuBatchPhoto, SuPhoto, SuProperty
from media_sync.models.suapi_gallery import GalleryOrigin, SuGalleryPhoto, SuRoom, SuTag
from media_sync.models.triage import (
    STILL_OPEN,
    FailureGroup,
    GroupStatus,
    ResolveReason,
    TriageAction,
    TriageEvent,
)
from media_sync.models.vocabulary import JOB_TITLES, Operation, Outcome, Provider

__all__ = [
    "ANSWER_FIELDS",
    "FINISHED_JOB_STATUSES",
    "JOB_TITLES",
    "STILL_OPEN",
    "AuditArchive",
    "AuditEvent",
    "AuditKind",
    "AuditSeal",
    "BatchStatus",
    "CheckResult",
    "CorrigoAttachment",
    "CorrigoWorkOrder",
    "FailureAlert",
    "FailureGroup",
    "GalleryOrigin",
    "GroupStatus",
    "ItemStatus",
    "JobStatus",
    "MediaFile",
    "Operation",
    "Outcome",
    "Pictured",
    "Provider",
    "ProviderAnswer",
    "ProviderLease",
    "ProviderPace",
    "RecoveryConnectDocument",
    "RecoveryConnectOrder",
    "RecoveryConnectPhoto",
    "RecoveryConnectRecovery",
    "ResolveReason",
    "SavedView",
    "SuBatch",
    "SuBatchPhoto",
    "SuGalleryPhoto",
    "SuPhoto",
    "SuProperty",
    "SuRoom",
    "SuTag",
    "ThumbnailStatus",
    "TransferItem",
    "TransferJob",
    "TriageAction",
    "TriageEvent",
    "WebhookDelivery",
    "WebhookStatus",
]
