"""Hostile inputs, one table: each gets a clear error, the failures that must be audited are, and nothing
else changes (mirrors, stored files, jobs, webhook deliveries, what the simulated providers hold or saw).

Groups: files, ids, provider responses, webhook requests, CSV cells, URLs. Providers are reached over real
HTTP on loopback (the simulators of conftest.py, or a canned provider answering what no doc promises).
"""

from __future__ import annotations

import csv
import io
import json
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max, QuerySet
from django.test import Client, TestCase
from PIL import Image

from integrations.corrigopro.client import CorrigoProClient
from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg, tiny_pdf
from integrations.corrigopro.webhook_auth import sign_token
from integrations.errors import FailureClass
from integrations.recoveryconnect.client import RecoveryConnectClient
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import (
    Faults,
    RunningServer,
    SimResponse,
    SimulatorApp,
    gateway_error_page,
    json_response,
    serve,
)
from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    AuditKind,
    CorrigoAttachment,
    CorrigoWorkOrder,
    ItemStatus,
    MediaFile,
    Outcome,
    RecoveryConnectOrder,
    RecoveryConnectPhoto,
    SuBatch,
    SuPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
    WebhookDelivery,
)
from media_sync.services.media import media_file_store, media_link
from media_sync.services.suapi_photos import su_photo_add
from tests.media_sync.factories import order_on_both_sides

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
WEBHOOK_URL = "/webhooks/corrigopro/"
ATTACHMENT = "6f1c2a4e-0000-4000-8000-000000000001"  # on work order 1001, at CorrigoPro and mirrored
UNKNOWN_ATTACHMENT = "00000000-0000-4000-8000-00000000dead"
SQLISH = "' OR 1=1; DROP TABLE media_sync_transferjob; --"
FORMULA = "=cmd|' /C calc'!A0"
NOT_A_PICTURE = "the file is not a readable picture"
OUTSIDE = "pixels is outside Booking.com's 300x300 to 14000x14000"
BOMB = f"the picture is too large to decode safely (over {Image.MAX_IMAGE_PIXELS} pixels)"
LINK_REFUSED = "This link is not valid or has expired."
HTML_NOT_JSON = "provider answered HTTP 200 with HTML where JSON was expected"


# --- A provider that answers what its documentation never promised --------------------------------------


class CannedProvider(SimulatorApp):
    """Logs in whoever asks (RecoveryConnect's auth route) and answers every other call with `answer`."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = json_response(200, {})
        token = {"access_token": "canned-token", "expires_in": 3600, "token_type": "Bearer"}
        self.add_route("POST", "/api/v140/auth", lambda request: json_response(200, token))
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.add_route(method, r"/.*", lambda request: self.answer)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.answer = json_response(200, {})


@pytest.fixture(scope="module")
def canned_server() -> Iterator[tuple[CannedProvider, RunningServer]]:
    provider = CannedProvider()
    with serve(provider) as server:
        yield provider, server


# --- The world every case starts from ---------------------------------------------------------------------


@dataclass
class World:
    rc: RecoveryConnectSimulator
    cp: CorrigoProSimulator
    su: SuApiSimulator
    canned: CannedProvider
    canned_url: str
    settings: Any
    client: Client
    inputs: Path
    outputs: Path
    photo: MediaFile  # a stored picture (a Booking.com photo) that signed links serve
    plan: MediaFile  # another stored file

    def file(self, name: str, content: bytes) -> str:
        path = self.inputs / name
        path.write_bytes(content)
        return str(path)

    def sparse(self, name: str, size: int) -> str:
        """A file of `size` bytes that occupies no disk: size is checked before any byte is read."""
        path = self.inputs / name
        with path.open("wb") as handle:
            handle.truncate(size)
        return str(path)


@pytest.fixture
def world(
    rc_sim: RecoveryConnectSimulator,
    cp_sim: CorrigoProSimulator,
    su_sim: SuApiSimulator,
    canned_server: tuple[CannedProvider, RunningServer],
    settings: Any,
    tmp_path: Path,
) -> World:
    order_on_both_sides(rc_sim, 57076503, 9100001, [11, 12])
    rc_sim.add_order(57076502, 9100002)
    cp_sim.add_work_order(1001, attachments=[{"id": ATTACHMENT, "name": "leak.jpg"}])
    cp_sim.add_work_order(1002, status="Rejected")
    cp_sim.add_work_order(1003, status="Recalled")
    accepted = CorrigoWorkOrder.objects.create(work_order_id=1001, status="Accepted")
    CorrigoWorkOrder.objects.create(work_order_id=1002, status="Rejected")
    CorrigoWorkOrder.objects.create(work_order_id=1003, status="Recalled")
    CorrigoAttachment.objects.create(attachment_id=ATTACHMENT, work_order=accepted, name="leak.jpg")
    su_sim.seed_demo()  # NT7 (12837615) and NT8 (12837616)
    nt7 = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    SuProperty.objects.create(hotel_id="NT8", channel_hotel_id="999")  # our mapping, not the provider's
    SuProperty.objects.create(hotel_id="ZZ9", channel_hotel_id="55555")  # unknown to the provider
    photo = su_photo_add(
        property=nt7,
        source=SimpleUploadedFile("lobby.jpg", demo_picture(20)),
        name="lobby.jpg",
        uploaded_by="o",
    )
    plan = media_file_store(
        source=ContentFile(tiny_pdf(), name="plan.pdf"),
        name="plan.pdf",
        mime_type="application/pdf",
        uploaded_by="o",
    )
    canned, server = canned_server
    canned.reset()
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    return World(
        rc=rc_sim,
        cp=cp_sim,
        su=su_sim,
        canned=canned,
        canned_url=server.url,
        settings=settings,
        client=Client(),
        inputs=tmp_path / "in",
        outputs=tmp_path / "out",
        photo=photo.media,
        plan=plan,
    )


def state(w: World) -> dict[str, object]:
    """What a hostile input must leave as it was, by area; the test compares it before and after."""
    media_root = Path(django_settings.MEDIA_ROOT)

    def pks(rows: QuerySet[Any]) -> list[Any]:
        return sorted(rows.values_list("pk", flat=True))

    return {
        "mirrors": (
            sorted(RecoveryConnectOrder.objects.values_list("order_id", "client_order_id")),
            sorted(RecoveryConnectPhoto.objects.values_list("photo_id", "order__order_id", "name")),
            sorted(CorrigoWorkOrder.objects.values_list("work_order_id", "status")),
            sorted((a.attachment_id, a.name, a.removed_at is None) for a in CorrigoAttachment.objects.all()),
            sorted(SuProperty.objects.values_list("hotel_id", "channel_hotel_id")),
        ),
        "media": (pks(MediaFile.objects.all()), pks(SuPhoto.objects.all())),
        "storage": sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()),
        "outputs": sorted(p.name for p in w.outputs.iterdir()),
        "jobs": (
            TransferJob.objects.count(),
            sorted(Counter(TransferItem.objects.values_list("status", flat=True)).items()),
            sorted(SuBatch.objects.values_list("status", flat=True)),
        ),
        "webhook deliveries": sorted(WebhookDelivery.objects.values_list("message_id", "status")),
        "providers": (
            len(w.rc.transfers),
            {order_id: [p.id for p in order.photos] for order_id, order in w.rc.orders.items()},
            len(w.cp.uploads),
            {
                wo.id: (wo.status, [(a.id, a.name, a.removed) for a in wo.attachments])
                for wo in w.cp.work_orders.values()
            },
            sorted(w.su.batches),
            {hotel: [p.photo_id for p in prop.photos] for hotel, prop in w.su.properties.items()},
        ),
        "sent": (len(w.rc.log), len(w.cp.log), len(w.su.log), len(w.canned.log)),
    }


# --- How a case is told, and what it expects ---------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the caller is told: an exit code or HTTP status (0 for a CSV cell), and the text that says why."""

    code: int
    text: str


@dataclass(frozen=True)
class Audit:
    """The audit row that must record it: its kind, failure class and (part of) its message."""

    kind: str
    failure_class: str
    message: str


@dataclass(frozen=True)
class Case:
    id: str
    act: Callable[[World], Answer]
    answer: Answer
    audit: Audit | None = None  # None: nothing is written to the audit
    arrange: Callable[[World], None] | None = None  # runs before the "before" snapshot
    changes: frozenset[str] = frozenset()  # the state areas that must change (the record of the failure)
    xfail: str = ""

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.xfail)] if self.xfail else []
        return pytest.param(self, id=self.id, marks=marks)


def cli(*args: str) -> Answer:
    """A management command as README.md's "Commands" describes it: exit 2 and one line (stderr) when
    refused, else the exit code and the per-item lines."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return Answer(error.returncode, str(error))
    except SystemExit as exit_:
        return Answer(int(exit_.code or 0), out.getvalue())
    return Answer(0, out.getvalue())


def refusal(case_id: str, act: Callable[[World], Answer], message: str, **more: Any) -> Case:
    """Refused before any provider call: exit 2, the reason on stderr and in the audit, nothing written."""
    return Case(
        case_id,
        act,
        Answer(2, message),
        Audit(AuditKind.REFUSAL, FailureClass.INVALID_INPUT, message),
        **more,
    )


PROVIDER_ANSWERED = frozenset({"jobs", "sent"})


def provider_failure(
    case_id: str,
    act: Callable[[World], Answer],
    line: str,
    failure_class: str,
    changes: frozenset[str] = PROVIDER_ANSWERED,
    **more: Any,
) -> Case:
    """The provider was asked and the item failed: exit 1, the item's line, its failure class in the audit;
    the job and the exchanges are the record, nothing else changes (a failed list deletes no mirror)."""
    message = line.split("] ", 1)[1]
    return Case(
        case_id,
        act,
        Answer(1, line),
        Audit(AuditKind.ITEM, failure_class, message),
        changes=changes,
        **more,
    )


# --- Inputs ------------------------------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A valid PNG header claiming `width` x `height` pixels, with almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def picture(size: tuple[int, int], image_format: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, image_format)
    return out.getvalue()


HTML_PAGE = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
NOISE = bytes(range(256)) * 8
PNG = picture((8, 8), "PNG")


def upload(path: str, *more: str, work_order: str = "1001") -> Answer:
    return cli(
        "corrigo_upload", "--work-order", work_order, "--file", path, "--performed-by", "Ann", *more, "--sync"
    )


def send(*more: str, hotel: str = "NT7", channel: str = "12837615") -> Answer:
    return cli("su_create_batch", "--hotel", hotel, "--channel-hotel", channel, *more, "--sync")


FILES = [
    refusal(
        "files-corrigopro-over-20MB",
        lambda w: upload(w.sparse("big.jpg", 21 * MB)),
        "the file is 21.0 MB; the limit is 20 MB",
    ),
    refusal(
        "files-booking-over-50MB",
        lambda w: send("--file", w.sparse("big.jpg", 51 * MB)),
        "big.jpg: 51.0 MB is over Booking.com's 50 MB",
    ),
    refusal("files-corrigopro-empty", lambda w: upload(w.file("empty.pdf", b"")), "the file is empty"),
    refusal(
        "files-booking-empty",
        lambda w: send("--file", w.file("empty.jpg", b"")),
        "empty.jpg: the file is empty",
    ),
    refusal(
        "files-booking-truncated-jpeg",
        lambda w: send("--file", w.file("cut.jpg", demo_picture(3)[:2000])),
        f"cut.jpg: {NOT_A_PICTURE}",
    ),
    refusal(
        "files-corrigopro-truncated-jpeg",
        lambda w: upload(w.file("cut.jpg", demo_picture(3)[:2000])),
        NOT_A_PICTURE,
    ),
    refusal(
        "files-corrigopro-random-bytes-as-jpg",
        lambda w: upload(w.file("noise.jpg", NOISE)),
        "the content is not a readable image/jpeg file",
    ),
    refusal(
        "files-booking-random-bytes-as-jpg",
        lambda w: send("--file", w.file("noise.jpg", NOISE)),
        f"noise.jpg: {NOT_A_PICTURE}",
    ),
    refusal(
        "files-corrigopro-html-renamed-jpg",
        lambda w: upload(w.file("page.jpg", HTML_PAGE)),
        "the content is not a readable image/jpeg file",
    ),
    refusal(
        "files-corrigopro-png-declared-jpeg",
        lambda w: upload(w.file("photo.jpg", PNG), "--mime-type", "image/jpeg"),
        "the content is image/png, not image/jpeg as declared",
    ),
    refusal(
        "files-corrigopro-png-named-jpg",
        lambda w: upload(w.file("photo.jpg", PNG)),
        "the extension .jpg does not match the type image/png",
    ),
    refusal(
        "files-corrigopro-name-without-extension",
        lambda w: upload(w.file("scan", tiny_jpeg())),
        "the name 'scan' needs a file extension (e.g. .jpg, .pdf)",
    ),
    refusal(
        "files-corrigopro-path-traversal-name",
        lambda w: upload(w.file("after.jpg", tiny_jpeg()), "--name", "../../etc/passwd"),
        "the name '../../etc/passwd' needs a file extension",
    ),
    refusal(
        "files-corrigopro-decompression-bomb",
        lambda w: upload(w.file("bomb.png", png_header(30000, 30000))),
        BOMB,
    ),
    refusal(
        "files-booking-decompression-bomb",
        lambda w: send("--file", w.file("bomb.png", png_header(30000, 30000))),
        f"bomb.png: {BOMB}",
    ),
    refusal(
        "files-booking-too-small",
        lambda w: send("--file", w.file("small.jpg", picture((299, 400)))),
        f"small.jpg: 299x400 {OUTSIDE}",
    ),
    refusal(
        "files-booking-too-wide",
        lambda w: send("--file", w.file("wide.jpg", picture((14001, 300)))),
        f"wide.jpg: 14001x300 {OUTSIDE}",
    ),
    refusal(
        "files-booking-gif",
        lambda w: send("--file", w.file("anim.gif", picture((400, 400), "GIF"))),
        "anim.gif: GIF format is not taken; send JPEG or PNG",
    ),
    refusal(
        "files-booking-good-then-bad-stores-neither",
        lambda w: send("--file", w.file("good.jpg", demo_picture(5)), "--file", w.file("bad.jpg", NOISE)),
        f"bad.jpg: {NOT_A_PICTURE}",
    ),
    refusal(
        "files-booking-bad-tag-after-good-photos-stores-nothing",
        lambda w: send("--file", w.file("good.jpg", demo_picture(5)), "--tag", "0"),
        "tags are positive numbers (Booking.com tag ids)",
    ),
    refusal(
        "files-corrigopro-download-onto-a-directory",
        lambda w: cli(
            "corrigo_download",
            "--work-order",
            "1001",
            "--attachment",
            ATTACHMENT,
            "--output",
            str(w.outputs / "copy.jpg"),
        ),
        "copy.jpg: it is a directory",
        arrange=lambda w: (w.outputs / "copy.jpg").mkdir(),
    ),
]


def rc_sync(order: str) -> Callable[[World], Answer]:
    return lambda w: cli("rc_sync_photos", "--order", order, "--sync")


def rc_transfer(*args: str) -> Callable[[World], Answer]:
    return lambda w: cli("rc_transfer", "--order", "57076503", *args, "--sync")


def corrigo(command: str, *args: str) -> Callable[[World], Answer]:
    return lambda w: cli(command, *args, "--sync")


IDS = [
    refusal("ids-order-not-numeric", rc_sync("abc"), "'abc' is not a order id: use digits only"),
    refusal("ids-order-negative", rc_sync("-7"), "'-7' is not a order id: use digits only"),
    refusal("ids-order-zero", rc_sync("0"), "0 is not a order id: it must be a positive number"),
    refusal(
        "ids-order-beyond-bigint",
        rc_sync("99999999999999999999"),
        "99999999999999999999 is not a order id: it must be a positive number",
    ),
    refusal("ids-order-non-ascii-digits", rc_sync("١٢٣"), "'١٢٣' is not a order id: use digits only"),
    refusal(
        "ids-destination-sql",
        rc_transfer("--to", f"9100002{SQLISH}"),
        f"{'9100002' + SQLISH!r} is not a client order id: use digits only",
    ),
    refusal(
        "ids-photo-exponent", rc_transfer("--to", "9100002", "--photo", "1e3"), "'1e3' is not a photo id"
    ),
    refusal(
        "ids-upload-to-rejected-work-order",
        lambda w: upload(w.file("after.jpg", tiny_jpeg()), work_order="1002"),
        "work order 1002 is Rejected: CorrigoPro takes no uploads",
    ),
    refusal(
        "ids-upload-to-recalled-work-order",
        lambda w: upload(w.file("after.jpg", tiny_jpeg()), work_order="1003"),
        "work order 1003 is Recalled: CorrigoPro takes no uploads",
    ),
    refusal(
        "ids-attachment-not-a-guid",
        corrigo("corrigo_update", "--work-order", "1001", "--attachment", SQLISH, "--name", "x.jpg"),
        f"{SQLISH!r} is not an attachment id (a GUID)",
    ),
    refusal(
        "ids-attachment-path-traversal-on-download",
        lambda w: cli(
            "corrigo_download",
            "--work-order",
            "1001",
            "--attachment",
            "../../etc/passwd",
            "--output",
            str(w.outputs / "copy.jpg"),
        ),
        "'../../etc/passwd' is not an attachment id (a GUID)",
    ),
    refusal(
        "ids-batch-unknown-sql",
        lambda w: cli("su_pending", "--hotel", "NT7", "--channel-hotel", "12837615", "--batch", SQLISH),
        f"{SQLISH!r} is not a photo batch id",
    ),
    refusal(
        "ids-hotel-blank",
        lambda w: send("--url", "https://photos.example/a.jpg", hotel="   "),
        "--hotel and --channel-hotel must not be empty",
    ),
    refusal(
        "ids-hotel-mapped-to-another-channel",
        lambda w: send("--url", "https://photos.example/a.jpg", channel="999"),
        "hotel NT7 is mapped to channel hotel 12837615, not 999",
    ),
    provider_failure(
        "ids-order-unknown-at-recoveryconnect",
        rc_sync("404404"),
        "404404 -> mirror: failed [404] HTTP 404: Order not found.",
        FailureClass.NOT_FOUND,
    ),
    provider_failure(
        "ids-work-order-unknown-at-corrigopro",
        corrigo("corrigo_sync", "--work-order", "4040"),
        "4040 -> mirror: failed [3005] the work order is unknown to CorrigoPro or was recalled "
        "(3005: Work order not found or recalled)",
        FailureClass.NOT_FOUND,
    ),
    provider_failure(
        "ids-attachment-unknown-at-corrigopro",
        corrigo("corrigo_delete", "--work-order", "1001", "--attachment", UNKNOWN_ATTACHMENT),
        f"{UNKNOWN_ATTACHMENT} -> 1001: failed [3003] CorrigoPro does not know the attachment "
        "(or another referenced entity) (3003: Referenced entity not found)",
        FailureClass.NOT_FOUND,
    ),
]


# --- Provider responses ------------------------------------------------------------------------------------


def rc_signed_in(w: World) -> None:
    """A token in the process cache, so the fault below hits the API call, not the login."""
    config = w.settings.RECOVERYCONNECT
    RecoveryConnectClient(
        base_url=config["BASE_URL"], username=config["USERNAME"], password=config["PASSWORD"]
    ).login()


def cp_signed_in(w: World) -> None:
    config = w.settings.CORRIGOPRO
    CorrigoProClient(
        base_url=config["BASE_URL"],
        token_url=config["TOKEN_URL"],
        client_id=config["CLIENT_ID"],
        client_secret=config["CLIENT_SECRET"],
    ).fetch_token()


def rc_garbles(mode: str) -> Callable[[World], None]:
    """RecoveryConnect does the work and mangles its next answer ("html" page or "truncated" JSON)."""

    def arrange(w: World) -> None:
        rc_signed_in(w)
        w.rc.garbage_next = mode

    return arrange


def rc_faults(**faults: Any) -> Callable[[World], None]:
    def arrange(w: World) -> None:
        rc_signed_in(w)
        w.rc.faults = Faults(**faults)

    return arrange


def cp_garbles(w: World) -> None:
    cp_signed_in(w)
    w.cp.garbage_next = "html"


def cp_bare_404(w: World) -> None:
    cp_signed_in(w)
    w.cp.bare_404_next = True  # a 404 without CorrigoPro's error body, as a gateway answers


def rc_tokens_die_at_once(w: World) -> None:
    w.rc.token_ttl_s = 0  # every login succeeds, every call with its token answers 401


def rc_canned(response: SimResponse) -> Callable[[World], None]:
    def arrange(w: World) -> None:
        w.settings.RECOVERYCONNECT = {**w.settings.RECOVERYCONNECT, "BASE_URL": w.canned_url}
        w.canned.answer = response

    return arrange


def su_canned(response: SimResponse) -> Callable[[World], None]:
    def arrange(w: World) -> None:
        w.settings.SUAPI = {**w.settings.SUAPI, "BASE_URL": w.canned_url}
        w.canned.answer = response

    return arrange


def rc_hangs(w: World) -> None:
    w.settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 0.3)
    # Long past the client's three 0.3 s waits: the simulator logs a request when it answers, so it
    # has logged none of them yet when the test compares (and the next test's reset drops them).
    rc_faults(hang_rate=1.0, hang_s=3.0)(w)


MIRROR_RC = rc_sync("57076503")  # a mirrored order: a failed list must not delete its photos
MIRROR_CP = corrigo("corrigo_sync", "--work-order", "1001")  # the same for a work order's attachments
RC_LINE = "57076503 -> mirror: failed"
CP_LINE = "1001 -> mirror: failed"
SU_LINE = "1. a.jpg -> NT7: failed"


def su_send_url(hotel: str = "NT7", channel: str = "12837615", *more: str) -> Callable[[World], Answer]:
    return lambda w: send("--url", "https://photos.example/a.jpg", *more, hotel=hotel, channel=channel)


PROVIDER_RESPONSES = [
    provider_failure(
        "provider-recoveryconnect-html-for-json",
        MIRROR_RC,
        f"{RC_LINE} [200] {HTML_NOT_JSON}",
        FailureClass.PARSE,
        arrange=rc_garbles("html"),
    ),
    provider_failure(
        "provider-recoveryconnect-truncated-json",
        MIRROR_RC,
        f"{RC_LINE} [200] provider answered HTTP 200 with invalid JSON where JSON was expected",
        FailureClass.PARSE,
        arrange=rc_garbles("truncated"),
    ),
    provider_failure(
        "provider-recoveryconnect-wrong-shape",
        MIRROR_RC,
        f"{RC_LINE} [200] unexpected response shape: data is not a list",
        FailureClass.PARSE,
        arrange=rc_canned(json_response(200, {"data": {"id": 11}})),
    ),
    provider_failure(
        "provider-recoveryconnect-photo-without-id",
        MIRROR_RC,
        f"{RC_LINE} [200] unexpected response shape: photo id is not an integer",
        FailureClass.PARSE,
        arrange=rc_canned(json_response(200, {"data": [{"name": "a.jpg", "order_id": 57076503}]})),
    ),
    provider_failure(
        "provider-recoveryconnect-json-list-for-object",
        MIRROR_RC,
        f"{RC_LINE} [200] unexpected response shape: photos response is not an object",
        FailureClass.PARSE,
        arrange=rc_canned(json_response(200, [11, 12])),
    ),
    provider_failure(
        "provider-recoveryconnect-401-after-a-fresh-login",
        MIRROR_RC,
        f"{RC_LINE} [401] HTTP 401: Unauthenticated.",
        FailureClass.AUTH,
        arrange=rc_tokens_die_at_once,
    ),
    provider_failure(
        "provider-recoveryconnect-hangs",
        MIRROR_RC,
        f"{RC_LINE} [-] no answer within 0.3 s",
        FailureClass.TIMEOUT,
        arrange=rc_hangs,
        changes=frozenset({"jobs"}),
    ),
    provider_failure(
        "provider-recoveryconnect-drops-the-connection",
        MIRROR_RC,
        f"{RC_LINE} [-] connection failed: ConnectionError",
        FailureClass.CONNECTION,
        arrange=rc_faults(drop_rate=1.0),
    ),
    provider_failure(
        "provider-recoveryconnect-503-page-every-time",
        MIRROR_RC,
        f"{RC_LINE} [503] HTTP 503: Service Unavailable",
        FailureClass.PROVIDER_ERROR,
        arrange=rc_canned(gateway_error_page(503)),
    ),
    provider_failure(
        "provider-recoveryconnect-429-past-the-retries",
        MIRROR_RC,
        f"{RC_LINE} [429] HTTP 429: Too Many Attempts.",
        FailureClass.RATE_LIMITED,
        arrange=rc_faults(rate_limit_burst=9, retry_after_s=0),
    ),
    provider_failure(
        "provider-corrigopro-refuses-the-credentials",
        MIRROR_CP,
        f"{CP_LINE} [401] CorrigoPro refused the client credentials: check CORRIGOPRO_CLIENT_ID and "
        "CORRIGOPRO_CLIENT_SECRET",
        FailureClass.AUTH,
        arrange=lambda w: setattr(
            w.settings, "CORRIGOPRO", {**w.settings.CORRIGOPRO, "CLIENT_SECRET": "guessed"}
        ),
    ),
    provider_failure(
        "provider-corrigopro-html-for-json",
        MIRROR_CP,
        f"{CP_LINE} [200] {HTML_NOT_JSON}",
        FailureClass.PARSE,
        arrange=cp_garbles,
    ),
    provider_failure(
        "provider-corrigopro-bare-404",
        corrigo("corrigo_sync", "--work-order", "4040"),
        "4040 -> mirror: failed [404] HTTP 404 Not Found",
        FailureClass.NOT_FOUND,
        arrange=cp_bare_404,
    ),
    provider_failure(
        "provider-suapi-fail-in-a-200-unknown-hotel",
        su_send_url("ZZ9", "55555"),
        "1. a.jpg -> ZZ9: failed [400] the hotel code is not known to the SU API "
        "(400: HotelCode: Invalid HotelCode ('ZZ9'))",
        FailureClass.INVALID_INPUT,
    ),
    provider_failure(
        "provider-suapi-fail-in-a-200-no-channel-mapping",
        su_send_url("NT8", "999"),
        "1. a.jpg -> NT8: failed [573] the property has no channel mapping for this channel hotel id "
        "(573: channel-mapping not found for this property!)",
        FailureClass.PROVIDER_RULE,
    ),
    provider_failure(
        "provider-suapi-fail-in-a-200-bad-tag",
        su_send_url("NT7", "12837615", "--tag", "999"),
        f"{SU_LINE} [574] an image tag is not valid (574: Invalid image tags: 999)",
        FailureClass.INVALID_INPUT,
    ),
    provider_failure(
        "provider-suapi-unknown-error-code",
        su_send_url(),
        f"{SU_LINE} [999] the SU API refused the request (999: Kaboom)",
        FailureClass.PROVIDER_RULE,
        arrange=su_canned(
            json_response(200, {"Status": "Fail", "Errors": [{"Code": "999", "ShortText": "Kaboom"}]})
        ),
    ),
    provider_failure(
        "provider-suapi-fail-without-a-reason",
        su_send_url(),
        f"{SU_LINE} [200] the SU API answered Fail without a reason",
        FailureClass.PROVIDER_RULE,
        arrange=su_canned(json_response(200, {"Status": "Fail", "Errors": []})),
    ),
    provider_failure(
        "provider-suapi-success-without-a-batch-id",
        su_send_url(),
        f"{SU_LINE} [200] unexpected response shape: no Photo_Batch_Id",
        FailureClass.PARSE,
        arrange=su_canned(json_response(200, {"Status": "Success", "Data": {}})),
    ),
    provider_failure(
        "provider-suapi-html-for-json",
        su_send_url(),
        f"{SU_LINE} [200] {HTML_NOT_JSON}",
        FailureClass.PARSE,
        arrange=su_canned(gateway_error_page(200)),
    ),
    provider_failure(
        "provider-suapi-json-list-for-object",
        su_send_url(),
        f"{SU_LINE} [200] unexpected response shape: not an object",
        FailureClass.PARSE,
        arrange=su_canned(json_response(200, [])),
    ),
    provider_failure(
        "provider-suapi-refuses-the-key",
        su_send_url(),
        f"{SU_LINE} [401] the SU API refused the credentials: check SUAPI_APP_ID and SUAPI_API_KEY",
        FailureClass.AUTH,
        arrange=lambda w: setattr(w.settings, "SUAPI", {**w.settings.SUAPI, "API_KEY": "guessed"}),
    ),
]


# --- Webhook requests --------------------------------------------------------------------------------------


def bearer(w: World, **claims: Any) -> str:
    now = int(time.time())
    return "Bearer " + sign_token(
        {"aud": "CorrigoProDirect", "iat": now, "exp": now + 1200} | claims, private_key=w.cp.private_key
    )


def added(
    message_id: str = "msg-1", work_order_id: object = 1001, attachment_id: str = ATTACHMENT
) -> dict[str, Any]:
    header = {"WorkOrderId": work_order_id, "Action": "AttachmentAdded", "MessageId": message_id}
    return {"AttachmentId": attachment_id, "Name": "leak.jpg", "MimeType": "image/jpeg", "Header": header}


def deliver(
    w: World,
    body: bytes | dict[str, Any],
    *,
    auth: str | None,
    content_type: str = "application/json",
    method: str = "POST",
) -> Answer:
    headers = {"Event-Type": "AttachmentAdded"} | ({"Authorization": auth} if auth is not None else {})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    # The processing task is queued on commit; a test's transaction never commits, so run it here.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = w.client.generic(method, WEBHOOK_URL, data, content_type=content_type, headers=headers)
    return Answer(response.status_code, response.content.decode())


def refused_webhook(case_id: str, auth: Callable[[World], str | None], reason: str) -> Case:
    return Case(
        case_id,
        lambda w: deliver(w, added(), auth=auth(w)),
        Answer(401, '"unauthorized"'),
        Audit(AuditKind.WEBHOOK, FailureClass.AUTH, f"webhook refused: {reason}"),
    )


def other_key(w: World) -> str:
    now = int(time.time())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return "Bearer " + sign_token({"aud": "CorrigoProDirect", "iat": now, "exp": now + 600}, private_key=key)


def unreadable_webhook(case_id: str, body: bytes, error: str, content_type: str = "application/json") -> Case:
    return Case(
        case_id,
        lambda w: deliver(w, body, auth=bearer(w), content_type=content_type),
        Answer(400, '"bad request"'),
        Audit(
            AuditKind.WEBHOOK, FailureClass.PARSE, f"the body is not JSON with a Header.MessageId ({error})"
        ),
    )


def oversized(w: World) -> None:
    w.settings.WEBHOOK_MAX_BYTES = 100


def delivered_once(w: World) -> None:
    assert deliver(w, added("msg-dup", attachment_id=UNKNOWN_ATTACHMENT), auth=bearer(w)).code == 200


WEBHOOKS = [
    refused_webhook("webhook-no-authorization", lambda w: None, "missing token"),
    refused_webhook("webhook-basic-scheme", lambda w: "Basic dXNlcjpwYXNz", "malformed token"),
    refused_webhook("webhook-garbage-token", lambda w: "Bearer " + "A" * 5000, "malformed token"),
    refused_webhook("webhook-signed-by-another-key", other_key, "bad signature"),
    refused_webhook(
        "webhook-expired-token",
        lambda w: bearer(w, iat=int(time.time()) - 3600, exp=int(time.time()) - 2400),
        "expired",
    ),
    refused_webhook(
        "webhook-token-from-the-future", lambda w: bearer(w, iat=int(time.time()) + 3600), "not yet valid"
    ),
    refused_webhook("webhook-wrong-audience", lambda w: bearer(w, aud="SomebodyElse"), "wrong audience"),
    unreadable_webhook("webhook-malformed-json", b'{"Header": {"MessageId": "m-1"', "JSONDecodeError"),
    unreadable_webhook(
        "webhook-json-without-message-id", b'{"Header": {"Action": "AttachmentAdded"}}', "KeyError"
    ),
    unreadable_webhook("webhook-blank-message-id", b'{"Header": {"MessageId": "   "}}', "ValueError"),
    unreadable_webhook(
        "webhook-form-encoded-body",
        b"Header.MessageId=m-1&AttachmentId=x",
        "JSONDecodeError",
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "webhook-oversized-body",
        lambda w: deliver(w, added(), auth=bearer(w)),
        Answer(413, "body missing or too large"),
        Audit(AuditKind.WEBHOOK, FailureClass.TOO_LARGE, "webhook refused unread"),
        arrange=oversized,
    ),
    Case(
        "webhook-get-instead-of-post",
        lambda w: deliver(w, b"", auth=bearer(w), method="GET"),
        Answer(405, ""),
    ),
    Case(
        "webhook-duplicate-delivery-is-applied-once",
        lambda w: deliver(w, added("msg-dup", attachment_id=UNKNOWN_ATTACHMENT), auth=bearer(w)),
        Answer(200, '"duplicate"'),
        Audit(AuditKind.WEBHOOK, "", "delivered again: already stored, nothing done twice"),
        arrange=delivered_once,
    ),
    Case(
        "webhook-work-order-id-not-a-number",
        lambda w: deliver(
            w, added("msg-abc", work_order_id="abc", attachment_id=UNKNOWN_ATTACHMENT), auth=bearer(w)
        ),
        Answer(200, '"accepted"'),  # stored as received (CorrigoPro must not resend it) and marked failed
        Audit(
            AuditKind.WEBHOOK,
            FailureClass.PARSE,
            "could not apply: ValueError('the delivery names no WorkOrderId')",
        ),
        changes=frozenset({"webhook deliveries"}),
    ),
]


# --- CSV cells ---------------------------------------------------------------------------------------------


def exported_row() -> dict[str, str]:
    out = io.StringIO()
    call_command("export_audit", "--output", "-", stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))[-1]  # oldest first: the newest row is last


def exported(column: str) -> Callable[[World], Answer]:
    return lambda w: Answer(0, f"{column}={exported_row()[column]!r}")


def audited(**fields: Any) -> Callable[[World], None]:
    values: dict[str, Any] = {
        "kind": AuditKind.ITEM,
        "provider": "recoveryconnect",
        "operation": "rc_transfer_photos",
        "outcome": Outcome.FAILED,
    }

    def arrange(w: World) -> None:
        AuditEvent.objects.create(**(values | fields))

    return arrange


def neutralised(value: str) -> str:
    """What the export must write for a cell a spreadsheet would run (OWASP: a leading quote)."""
    return "'" + value


def cell_case(column: str, value: str) -> Case:
    return Case(
        f"csv-{column}-starting-with-{value[:1].encode('unicode_escape').decode()}",
        exported(column),
        Answer(0, f"{column}={neutralised(value)!r}"),
        arrange=audited(**{column: value}),
    )


def exported_line(w: World) -> Answer:
    out = io.StringIO()
    call_command("export_audit", "--output", "-", stdout=out)
    return Answer(0, out.getvalue().splitlines()[-1])


def refused_by_formula_user(w: World) -> None:
    cli("rc_sync_photos", "--order", "abc", "--user", FORMULA)


def formula_attachment_delivered(w: World) -> None:
    deliver(w, added("msg-csv", attachment_id=FORMULA), auth=bearer(w))


CSV_CELLS = [
    cell_case("message", '=HYPERLINK("http://evil.example","click")'),
    cell_case("subject", "+1+1"),
    cell_case("reference", "-2+3+" + FORMULA),
    cell_case("item", "@SUM(1+1)*" + FORMULA),
    cell_case("destination", "\t=1+1"),
    cell_case("provider_status", "\r=1+1"),
    Case(
        "csv-carriage-return-inside-a-message-stays-in-its-row",
        exported("message"),
        Answer(0, "message='ok\\r=HYPERLINK(\"http://evil.example\")'"),  # quoted, so no row starts at the CR
        arrange=audited(message='ok\r=HYPERLINK("http://evil.example")'),
    ),
    Case(
        "csv-numbers-stay-numbers-beside-a-negative-code",
        exported_line,
        Answer(0, ",200,'-1,,,2,35,"),  # http_status, error_code, message, reference, attempt, duration_ms
        arrange=audited(http_status=200, error_code="-1", attempt=2, duration_ms=35),
    ),
    Case(
        "csv-triggered-by-from-a-refused-command",
        exported("triggered_by"),
        Answer(0, f"triggered_by={neutralised(FORMULA)!r}"),
        arrange=refused_by_formula_user,
    ),
    Case(
        "csv-item-from-a-signed-webhook",
        exported("item"),
        Answer(0, f"item={neutralised(FORMULA)!r}"),
        arrange=formula_attachment_delivered,
    ),
]


# --- URLs --------------------------------------------------------------------------------------------------


def fetch(url: Callable[[World], str], method: str = "GET") -> Callable[[World], Answer]:
    def act(w: World) -> Answer:
        response = w.client.generic(method, url(w).removeprefix(w.settings.MEDIA_SYNC_PUBLIC_BASE_URL))
        return Answer(response.status_code, b"".join(response).decode(errors="replace"))

    return act


def link(w: World, ttl: int = 60) -> str:
    return media_link(w.photo, ttl=ttl)


def forbidden(case_id: str, url: Callable[[World], str]) -> Case:
    return Case(case_id, fetch(url), Answer(403, LINK_REFUSED))


def replace_query(url: str, **values: str) -> str:
    path, _, query = url.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&")) | values
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def not_http(case_id: str, url: str) -> Case:
    return refusal(case_id, lambda w: send("--url", url), f"{url!r} is not an http(s) URL")


URLS = [
    forbidden("url-media-link-bad-signature", lambda w: replace_query(link(w), signature="forged")),
    forbidden("url-media-link-without-signature", lambda w: link(w).split("&signature=")[0]),
    forbidden("url-media-link-expired", lambda w: link(w, ttl=-10)),
    forbidden("url-media-link-expiry-not-a-number", lambda w: replace_query(link(w), expires="tomorrow")),
    forbidden(
        "url-media-link-expiry-pushed-later",
        lambda w: replace_query(link(w), expires=str(int(time.time()) + 10**6)),
    ),
    forbidden(
        "url-media-link-tampered-pk",
        lambda w: link(w).replace(f"/media-links/{w.photo.pk}/", f"/media-links/{w.plan.pk}/"),
    ),
    forbidden(
        "url-media-link-to-a-file-that-is-gone",
        lambda w: media_link(MediaFile(pk=w.plan.pk + 1000, original_name="gone.jpg"), ttl=60),
    ),
    Case(
        "url-media-link-pk-not-numeric",
        fetch(lambda w: link(w).replace(f"/media-links/{w.photo.pk}/", "/media-links/1x/")),
        Answer(404, "Not Found"),
    ),
    Case(
        "url-media-link-path-traversal-name",
        fetch(lambda w: link(w).replace("/lobby.jpg?", "/..%2F..%2Fconfig%2Fsettings.py?")),
        Answer(404, "Not Found"),
    ),
    Case("url-media-link-post", fetch(link, method="POST"), Answer(405, "")),
    not_http("url-batch-javascript", "javascript:alert(1)//.jpg"),
    not_http("url-batch-file", "file:///etc/passwd"),
    not_http("url-batch-ftp", "ftp://photos.example/a.jpg"),
    not_http("url-batch-no-host", "http:///a.jpg"),
    not_http("url-batch-scheme-relative", "//photos.example/a.jpg"),
    not_http("url-batch-data", "data:image/jpeg;base64,/9j/4AAQ"),
]

CASES = [*FILES, *IDS, *PROVIDER_RESPONSES, *WEBHOOKS, *CSV_CELLS, *URLS]


def latest(rows: QuerySet[Any]) -> int:
    return int(rows.aggregate(last=Max("pk"))["last"] or 0)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_a_hostile_input_gets_a_clear_error_is_audited_and_changes_nothing_else(
    case: Case, world: World
) -> None:
    if case.arrange is not None:
        case.arrange(world)
    before, last_event, last_job = (
        state(world),
        latest(AuditEvent.objects.all()),
        latest(TransferJob.objects.all()),
    )

    answer = case.act(world)

    assert answer.code == case.answer.code and case.answer.text in answer.text, answer
    after = state(world)
    changed = {area for area in before if before[area] != after[area]}
    assert changed == case.changes, {area: (before[area], after[area]) for area in changed}
    rows = list(AuditEvent.objects.filter(pk__gt=last_event).order_by("pk"))
    if case.audit is None:
        assert rows == []
    else:
        expected = case.audit
        assert any(
            (row.kind, row.failure_class) == (expected.kind, expected.failure_class)
            and expected.message in row.message
            for row in rows
        ), [(row.kind, row.failure_class, row.message) for row in rows]
    if "jobs" in case.changes:  # a provider answered: every item of the new job ended failed, none hangs
        items = TransferItem.objects.filter(job__pk__gt=last_job)
        assert items.exists() and set(items.values_list("status", flat=True)) == {ItemStatus.FAILED}


def test_the_table_is_large_and_spans_every_group() -> None:
    groups = Counter(case.id.split("-", 1)[0] for case in CASES)
    assert set(groups) == {"files", "ids", "provider", "webhook", "csv", "url"}
    assert sum(groups.values()) >= 40 and len({case.id for case in CASES}) == len(CASES)


# --- Controls: the same paths with good input do change things, so the table above can fail -------------


def test_a_good_upload_changes_what_the_table_says_must_not_change(world: World) -> None:
    before = state(world)
    answer = upload(world.file("after.jpg", tiny_jpeg()))
    after = state(world)
    assert answer.code == 0, answer
    assert {area for area in before if before[area] != after[area]} == {
        "mirrors",
        "media",
        "storage",
        "jobs",
        "providers",
        "sent",
    }


def test_an_untampered_media_link_serves_the_file(world: World) -> None:
    answer = world.client.get(link(world).removeprefix(world.settings.MEDIA_SYNC_PUBLIC_BASE_URL))
    assert answer.status_code == 200 and b"".join(answer) == demo_picture(20)


def test_a_good_webhook_and_a_good_batch_are_taken(world: World) -> None:
    assert deliver(world, added("msg-good", attachment_id=UNKNOWN_ATTACHMENT), auth=bearer(world)).code == 200
    assert CorrigoAttachment.objects.filter(attachment_id=UNKNOWN_ATTACHMENT).exists()
    answer = send("--file", world.file("good.jpg", demo_picture(5)), "--tag", "13")
    assert answer.code == 0 and "waiting [new]" in answer.text, answer
