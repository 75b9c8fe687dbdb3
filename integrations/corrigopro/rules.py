"""What CorrigoPro allows and what its answers tell us, in its own terms (docs/providers/corrigopro.md).

We check these before sending, so an operator hears the reason at once instead of from a refused call.
"""

from __future__ import annotations

import re
from enum import StrEnum


class WorkOrderStatus(StrEnum):
    """The statuses CorrigoPro's pages mention. The full list is not public: a mirror may hold others."""

    NEW = "New"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    RECALLED = "Recalled"
    PAUSED = "Paused"
    ON_HOLD = "OnHold"


# Statuses in which CorrigoPro refuses uploads.
CLOSED_STATUSES = (WorkOrderStatus.REJECTED, WorkOrderStatus.RECALLED)
# What CorrigoPro's error codes tell us about the work order, when our mirror said otherwise.
STATUS_FROM_CODE = {"3001": WorkOrderStatus.REJECTED, "3005": WorkOrderStatus.RECALLED}
# The code CorrigoPro answers for an attachment it does not (or no longer) hold.
UNKNOWN_ATTACHMENT = "3003"

DOCUMENT_TYPES = ("Document", "Picture", "Signature", "InvoicePrintout", "ServiceContract", "Misc")
VISIBILITIES = ("None", "CruOnly", "CruSubs", "CruLeads", "CruLead", "All")
# What CorrigoPro gives an attachment uploaded without a visibility.
DEFAULT_VISIBILITY = "All"
MAX_FILE_SIZE = 20 * 1024 * 1024
MAX_PERFORMED_BY = 100
MAX_MESSAGE_ID = 36
# CorrigoPro wants the "name with the extension of the file": a dot in a directory part is no extension.
NAME_WITH_EXTENSION = re.compile(r".+\.[A-Za-z0-9]{1,10}")


def metadata_problem(*, name: str, document_type: str, visibility: str) -> str:
    """Why CorrigoPro would refuse an attachment's name, document type or visibility; "" if it would not.
    An empty document type or visibility is left out of the request, which CorrigoPro allows."""
    if not NAME_WITH_EXTENSION.fullmatch(name):
        return f"the name {name!r} needs a file extension (e.g. .jpg, .pdf)"
    if document_type and document_type not in DOCUMENT_TYPES:
        return f"document type {document_type!r} is not one of {', '.join(DOCUMENT_TYPES)}"
    if visibility and visibility not in VISIBILITIES:
        return f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}"
    return ""
