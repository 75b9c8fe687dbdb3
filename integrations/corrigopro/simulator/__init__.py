"""In-memory stand-in for CorrigoPro Direct (OAuth, work-order attachments, download links, customer
webhooks), reached over real HTTP.

Wire formats follow docs/providers/corrigopro.md. Where the public pages are silent, these are our
choices (keep the client tolerant of them, not dependent on them):
- every coded error is HTTP 400 with `{"Code", "Message", "ValidationErrors", "MessageId"}`, not-found
  included; `bare_404_next` turns the next not-found into the documented bare 404;
- auth failures are 401 `{"Message": "Authorization has been denied for this request."}` (ASP.NET style);
- a Recalled work order answers 3005 to every call (the code's name is "not found or recalled"); Rejected
  only refuses uploads (3001), the one rule the docs state;
- PUT replaces the metadata: an omitted DocumentType becomes null, an omitted MessageVisibility "All";
- PUT and DELETE accept JSON, multipart or urlencoded bodies, and DELETE also the query string;
- a repeated upload MessageId answers the first AttachmentId and stores nothing (a retry after a lost
  answer); DELETE is not idempotent: deleting again answers 3003, so clients must read that as "gone";
- download links are `http://<Host><mount_prefix>/files/<id>?expires=<epoch>&signature=<hmac>`, served by
  this app without a bearer token, refused with an S3-style XML 403 once expired (on the simulator clock)
  or tampered with.
"""

from integrations.corrigopro.simulator.app import CorrigoProSimulator
from integrations.corrigopro.simulator.demo import DEMO_WORK_ORDERS, demo_attachments, tiny_jpeg, tiny_pdf
from integrations.corrigopro.simulator.state import MAX_FILE_SIZE, SimAttachment

__all__ = [
    "DEMO_WORK_ORDERS",
    "MAX_FILE_SIZE",
    "CorrigoProSimulator",
    "SimAttachment",
    "demo_attachments",
    "tiny_jpeg",
    "tiny_pdf",
]
