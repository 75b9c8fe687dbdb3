"""In-memory stand-in for MBSI RecoveryConnect (auth, photos, transfers, recoveries, uploads), over HTTP.

Wire formats follow docs/providers/recoveryconnect.md. MBSI does not publish its
error bodies, so the 401/404/422 shapes below are our choice (Laravel-style, which the API's style suggests).
"""

from integrations.recoveryconnect.simulator.app import RecoveryConnectSimulator
from integrations.recoveryconnect.simulator.demo import DEMO_ORDERS, photo_jpeg
from integrations.recoveryconnect.simulator.documents import DEMO_DOCUMENTS, FIRST_DOCUMENT_ID, document_pdf
from integrations.recoveryconnect.simulator.state import FIRST_PHOTO_ID

__all__ = [
    "DEMO_DOCUMENTS",
    "DEMO_ORDERS",
    "FIRST_DOCUMENT_ID",
    "FIRST_PHOTO_ID",
    "RecoveryConnectSimulator",
    "document_pdf",
    "photo_jpeg",
]
