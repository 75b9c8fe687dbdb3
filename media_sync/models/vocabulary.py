"""The words every part of the app shares: the providers, what an operation is called, how it ended.
Stored values never change (they are in the audit); the labels are how the pages say them."""

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    RECOVERYCONNECT = "recoveryconnect", "RecoveryConnect"
    CORRIGOPRO = "corrigopro", "CorrigoPro"
    SUAPI = "suapi", "SU API"


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PENDING = "pending", "Pending"


class Operation(models.TextChoices):
    """Every operation an audit row can name: jobs', provider calls' (each client's `Call`) and webhooks'.
    Fixed, so the audit list's Operation filter needs no SELECT DISTINCT over the table."""

    # Jobs: what an operator asks for (JOB_TITLES says each in full).
    RC_SYNC_PHOTOS = "rc_sync_photos", "refresh photos"
    RC_TRANSFER_PHOTOS = "rc_transfer_photos", "transfer photos"
    RC_TRANSFER_ALL = "rc_transfer_all", "transfer all photos"
    RC_UPLOAD_PHOTOS = "rc_upload_photos", "upload photos"
    RC_SYNC_DOCUMENTS = "rc_sync_documents", "refresh documents"
    RC_TRANSFER_DOCUMENTS = "rc_transfer_documents", "transfer documents"
    CP_SYNC = "cp_sync", "refresh attachments"
    CP_UPLOAD = "cp_upload", "upload attachment"
    CP_UPDATE = "cp_update", "change attachment"
    CP_DELETE = "cp_delete", "delete attachment"
    CP_DOWNLOAD = "cp_download", "download attachment"
    CP_KEEP = "cp_keep", "keep a copy"
    SU_CREATE_BATCH = "su_create_batch", "send photos"
    SU_DELETE = "su_delete", "delete photo"
    # A batch sent from elsewhere (su_pending with a batch id we never sent): its photos are learnt from
    # the first read, and nothing of it can be sent again from here.
    SU_FOLLOW_BATCH = "su_follow_batch", "follow a batch sent elsewhere"
    SU_SYNC_GALLERY = "su_sync_gallery", "refresh gallery"
    SU_SET_TAGS = "su_set_tags", "change tags"
    SU_ORDER_PHOTOS = "su_order_photos", "order gallery"
    SU_ROOM_PHOTOS = "su_room_photos", "change a room's photos"
    # Provider calls: the values of integrations' `Call` enums.
    AUTH = "auth", "sign in"
    LIST_PHOTOS = "list_photos", "list photos"
    TRANSFER_PHOTO = "transfer_photo", "transfer photo"
    TRANSFER_ALL_PHOTOS = "transfer_all_photos", "transfer all photos"
    FETCH_PHOTO = "fetch_photo", "fetch a photo (thumbnail)"
    LIST_RECOVERIES = "list_recoveries", "list recoveries"
    LIST_RECOVERY_PHOTOS = "list_recovery_photos", "list a recovery's photos"
    UPLOAD_PHOTO = "upload_photo", "upload photo"
    UPLOAD_PERSONAL_PHOTO = "upload_personal_photo", "upload personal-property photo"
    LIST_DOCUMENTS = "list_documents", "list documents"
    TRANSFER_DOCUMENTS = "transfer_documents", "transfer documents"
    LIST_ATTACHMENTS = "list_attachments", "list attachments"
    UPLOAD_ATTACHMENT = "upload_attachment", "upload attachment"
    UPDATE_ATTACHMENT = "update_attachment", "change attachment"
    DELETE_ATTACHMENT = "delete_attachment", "delete attachment"
    DOWNLOAD_URL = "download_url", "ask for a download link"
    DOWNLOAD_FILE = "download_file", "download file"
    CREATE = "create", "send photo batch"
    PENDING_IMAGES = "pendingImages", "check pending photos"
    RETRIEVE_ALL = "retrieveAll", "list gallery"
    DELETE = "delete", "delete photo"
    SHOW = "show", "show photo"
    UPDATE = "update", "change photo tags"
    IMAGE_ORDER = "imageOrder", "order photos"
    RETRIEVE_ASSOCIATE_IMAGES = "retrieveAssociateImages", "read gallery order"
    ASSOCIATE = "associate", "add photos to a room"
    UNASSOCIATE = "unassociate", "take photos out of a room"
    RETRIEVE_TAGS = "retrieveTags", "list photo tags"
    # Done here, not at a provider.
    SU_PHOTO_ADD = "su_photo_add", "add photo"
    LOGIN_LOCKOUT = "login_lockout", "login locked out"
    CP_KEPT_DOWNLOAD = "cp_kept_download", "download our copy"
    # A finished job's succeeded items looked for at the destination (services/checks.py): reads only.
    CHECK = "check", "check at the provider"
    # Webhooks: "webhook_" and the event's type.
    WEBHOOK_ATTACHMENT_ADDED = "webhook_AttachmentAdded", "webhook: attachment added"
    WEBHOOK_ATTACHMENT_REMOVED = "webhook_AttachmentRemoved", "webhook: attachment removed"
    WEBHOOK_NEW_WORK_ORDER = "webhook_NewWorkOrder", "webhook: new work order"
    # Any other event type (or none): the sender chose it, so it is never made into an operation.
    WEBHOOK_OTHER = "webhook", "webhook: other event"


# A job's operation said in full, as its page and the job list say it.
JOB_TITLES = {
    Operation.RC_SYNC_PHOTOS: "Refresh RecoveryConnect photos",
    Operation.RC_TRANSFER_PHOTOS: "Transfer RecoveryConnect photos",
    Operation.RC_TRANSFER_ALL: "Transfer all RecoveryConnect photos of an order",
    Operation.RC_UPLOAD_PHOTOS: "Upload photos to a RecoveryConnect recovery",
    Operation.RC_SYNC_DOCUMENTS: "Refresh RecoveryConnect documents",
    Operation.RC_TRANSFER_DOCUMENTS: "Transfer the RecoveryConnect documents of an order",
    Operation.CP_SYNC: "Refresh CorrigoPro attachments",
    Operation.CP_UPLOAD: "Upload to CorrigoPro",
    Operation.CP_UPDATE: "Change a CorrigoPro attachment",
    Operation.CP_DELETE: "Delete a CorrigoPro attachment",
    Operation.CP_DOWNLOAD: "Download a CorrigoPro attachment",
    Operation.CP_KEEP: "Keep a copy of CorrigoPro attachments",
    Operation.SU_CREATE_BATCH: "Send photos to Booking.com",
    Operation.SU_DELETE: "Delete a photo from Booking.com",
    Operation.SU_FOLLOW_BATCH: "Follow a Booking.com batch sent elsewhere",
    Operation.SU_SYNC_GALLERY: "Refresh a Booking.com gallery",
    Operation.SU_SET_TAGS: "Change a Booking.com photo's tags",
    Operation.SU_ORDER_PHOTOS: "Order a Booking.com gallery",
    Operation.SU_ROOM_PHOTOS: "Change a Booking.com room's photos",
}


# The fields take their choices from these callables, so a new operation or job needs no migration: the
# database stores plain strings and only forms and filters read the choices.
def operation_choices() -> list[tuple[str, str]]:
    return Operation.choices


def job_operation_choices() -> list[tuple[str, str]]:
    return list(JOB_TITLES.items())


def failure_class_words(value: str) -> str:
    """A failure class as the pages and filters say it ("not found", not "not_found")."""
    return value.replace("_", " ") or "—"
