"""The RecoveryConnect simulator's documents: an order's documents, their list and transfer endpoints, the
pre-signed links that serve them, their demo seed and their control routes.

Field names follow docs/providers/recoveryconnect.md, "Documents" (the public page names no fields)."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

from integrations.recoveryconnect.simulator.api import _Api, _storage_error, _transfer_to
from integrations.recoveryconnect.simulator.state import SimOrder
from integrations.simkit import SimRequest, SimResponse, json_response
from integrations.simkit.pictures import one_page_pdf

FIRST_DOCUMENT_ID = 7300100
# "a download link that expires after about 30 minutes"
DOCUMENT_URL_TTL_S = 1800
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# (internal order id, name, uploaded by): what the demo orders hold.
DEMO_DOCUMENTS: list[tuple[int, str, str]] = [
    (57076503, "condition-report.pdf", "Dana Whitfield"),
    (57076503, "release-form.pdf", "Marco Ruiz"),
    (57076504, "condition-report.pdf", "Dana Whitfield"),
    (57076507, "release-form.pdf", "Priya Nair"),
    (57076507, "personal-property-inventory.pdf", "Marco Ruiz"),
]


@dataclass
class SimDocument:
    id: int
    name: str
    uploaded_by: str = ""
    created_at: float = 0.0  # on the simulator clock


@dataclass(frozen=True)
class DocumentTransfer:
    source_order_id: int
    document_id: int
    dest_client_order_id: int
    new_document_id: int
    at: float


def document_pdf(document_id: int, name: str) -> bytes:
    """What a document link serves: a real one-page PDF with the document's name on it."""
    return one_page_pdf(f"{name} (document {document_id})")


def _document_dict(order_id: int, document: SimDocument) -> dict[str, Any]:
    return {"order_id": order_id, **vars(document)}


class _Documents(_Api):
    """Documents per order (by internal order id), beside the photos the other parts keep."""

    def _clear_state(self) -> None:
        super()._clear_state()
        self.documents: dict[int, list[SimDocument]] = {}  # internal order id -> its documents
        self.document_transfers: list[DocumentTransfer] = []
        self.omit_document_ids: set[int] = set()  # left out of transfer answers (the knob)
        self.uploader_as_object = False  # answer "uploaded_by": {"name": ...} instead of a string
        self._next_document_id = FIRST_DOCUMENT_ID

    def add_document(
        self,
        order_id: int,
        name: str,
        uploaded_by: str = "",
        *,
        id: int | None = None,
        created_at: str | None = None,
    ) -> SimDocument:
        with self.lock:
            if int(order_id) not in self.orders:
                raise ValueError(f"Order {order_id} does not exist.")
            document_id = int(id) if id is not None else self._new_document_id()
            if self._find_document(document_id) is not None:
                raise ValueError(f"Document id {document_id} is already used.")
            at = calendar.timegm(time.strptime(created_at, TIME_FORMAT)) if created_at else self.clock.now()
            document = SimDocument(document_id, str(name), str(uploaded_by), at)
            self.documents.setdefault(int(order_id), []).append(document)
            return document

    def seed_demo(self) -> None:
        super().seed_demo()
        for order_id, name, uploaded_by in DEMO_DOCUMENTS:
            self.add_document(order_id, name, uploaded_by)

    def _new_document_id(self) -> int:
        while self._find_document(self._next_document_id) is not None:
            self._next_document_id += 1
        self._next_document_id += 1
        return self._next_document_id - 1

    def remove_document(self, order_id: int, document_id: int) -> SimDocument:
        """Take a document off an order "at the provider" (someone deleted it there), for the checks."""
        with self.lock:
            documents = self.documents.get(int(order_id), [])
            document = next((d for d in documents if d.id == int(document_id)), None)
            if document is None:
                raise ValueError(f"Order {order_id} has no document {document_id}.")
            documents.remove(document)
            return document

    def _find_document(self, document_id: int) -> SimDocument | None:
        return next((d for ds in self.documents.values() for d in ds if d.id == document_id), None)

    # --- The API -------------------------------------------------------------------------------------

    def _list_documents(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        data = [
            {
                "id": document.id,
                "order_id": order.internal_id,
                "name": document.name,
                "uploaded_by": {"name": document.uploaded_by}
                if self.uploader_as_object
                else document.uploaded_by,
                "created_at": time.strftime(TIME_FORMAT, time.gmtime(document.created_at)),
                "document_url": self._signed_url(
                    request, f"/documents/{document.id}.pdf", DOCUMENT_URL_TTL_S
                ),
            }
            for document in self.documents.get(order.internal_id, [])
        ]
        return json_response(200, {"data": data})

    def _transfer_documents(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self._order_or_error(request, order_id)
        if isinstance(order, SimResponse):
            return order
        destinations = _transfer_to(request)
        if isinstance(destinations, SimResponse):
            return destinations
        # Every document of the order, one orders[] entry per document and destination, as for photos.
        entries = []
        for document in list(self.documents.get(order.internal_id, [])):
            for dest_id in destinations:
                ok = self._copy_document(order, document, dest_id)
                if document.id not in self.omit_document_ids:
                    status = "success" if ok else "fail"
                    entries.append({"id": dest_id, "attachments": [{"id": document.id, "status": status}]})
        return json_response(200, {"orders": entries})

    def _copy_document(self, source: SimOrder, document: SimDocument, dest_client_order_id: int) -> bool:
        dest = self._by_client_id(dest_client_order_id)
        if dest is None or dest.closed or dest is source:
            return False
        copy = SimDocument(self._new_document_id(), document.name, document.uploaded_by, self.clock.now())
        self.documents.setdefault(dest.internal_id, []).append(copy)
        self.document_transfers.append(
            DocumentTransfer(source.internal_id, document.id, dest_client_order_id, copy.id, self.clock.now())
        )
        return True

    def _document_file(self, request: SimRequest, document_id: str) -> SimResponse:
        refused = self._link_refused(request, f"/documents/{int(document_id)}.pdf")
        if refused is not None:
            return refused
        document = self._find_document(int(document_id))
        if document is None:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        return SimResponse(200, {"Content-Type": "application/pdf"}, document_pdf(document.id, document.name))

    # --- Control routes ------------------------------------------------------------------------------

    def _control_add_document(self, request: SimRequest) -> SimResponse:
        body = request.json()
        if not isinstance(body, dict):
            return json_response(400, {"message": "Body must be a JSON object of add_document arguments."})
        try:
            document = self.add_document(**body)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
        return json_response(201, _document_dict(int(body["order_id"]), document))

    def _control_remove_document(self, request: SimRequest, order_id: str, document_id: str) -> SimResponse:
        try:
            document = self.remove_document(int(order_id), int(document_id))
        except ValueError as error:
            return json_response(404, {"message": str(error)})
        return json_response(200, {"removed": document.id, "order_id": int(order_id)})

    def _control_documents(self, request: SimRequest) -> SimResponse:
        listed = [_document_dict(order_id, d) for order_id, ds in self.documents.items() for d in ds]
        return json_response(200, {"documents": listed})

    def _control_document_transfers(self, request: SimRequest) -> SimResponse:
        return json_response(200, {"transfers": [vars(transfer) for transfer in self.document_transfers]})

    def _control_document_behaviour(self, request: SimRequest) -> SimResponse:
        body = request.json()
        allowed = {"omit_document_ids", "uploader_as_object"}
        if not isinstance(body, dict) or not set(body) <= allowed:
            return json_response(400, {"message": f"Allowed keys: {', '.join(sorted(allowed))}."})
        if "omit_document_ids" in body:
            self.omit_document_ids = {int(document_id) for document_id in body["omit_document_ids"]}
        if "uploader_as_object" in body:
            self.uploader_as_object = bool(body["uploader_as_object"])
        return json_response(
            200,
            {
                "omit_document_ids": sorted(self.omit_document_ids),
                "uploader_as_object": self.uploader_as_object,
            },
        )

    def add_document_routes(self) -> None:
        self.add_route("GET", r"/api/v130/orders/(?P<order_id>\d+)/documents", self._list_documents)
        self.add_route(
            "PUT", r"/api/v150/orders/(?P<order_id>\d+)/documents/transfer", self._transfer_documents
        )
        self.add_route("GET", r"(?:/[\w.-]+)*/documents/(?P<document_id>\d+)\.pdf", self._document_file)
        self.add_route("POST", "/_sim/recoveryconnect/documents", self._control_add_document)
        self.add_route("GET", "/_sim/recoveryconnect/documents", self._control_documents)
        self.add_route(
            "POST",
            r"/_sim/recoveryconnect/orders/(?P<order_id>\d+)/documents/(?P<document_id>\d+)/remove",
            self._control_remove_document,
        )
        self.add_route("GET", "/_sim/recoveryconnect/document-transfers", self._control_document_transfers)
        self.add_route("POST", "/_sim/recoveryconnect/documents/behaviour", self._control_document_behaviour)
