"""Security across the app: every form refuses a POST without its CSRF token, the webhook trusts its
signature instead, and no secret (password, token, client secret, API key, link signature, SECRET_KEY)
reaches the logs, the audit, the CSV exports or the items. Who may open or change what: test_roles.py."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import boto3  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from moto import mock_aws

from integrations.corrigopro import client as cp_client_module
from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.corrigopro.webhook_auth import sign_token
from integrations.recoveryconnect import client as rc_client_module
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator, demo_picture
from media_sync.models import (
    AuditEvent,
    CorrigoAttachment,
    CorrigoWorkOrder,
    RecoveryConnectPhoto,
    SuBatch,
    SuPhoto,
    SuProperty,
    TransferItem,
    TransferJob,
    WebhookDelivery,
)
from tests.media_sync.access import (
    ACTIONS,
    OPERATOR,
    ROOT,
    ROUTES,
    World,
    concrete,
    post_changes,
    visitor_clients,
)
from tests.media_sync.factories import attachment_added, login, order_on_both_sides

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db
WEBHOOK = reverse("webhook-corrigopro")
TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- CSRF ---------------------------------------------------------------------------------------------


def csrf_token(client: Client) -> str:
    """The token the browser would send: the admin sets its cookie on any page with a form."""
    client.get(reverse("admin:index"))
    return client.cookies["csrftoken"].value


def refused_for_csrf(response: Response) -> bool:
    return response.status_code == 403 and "CSRF verification failed" in response.text


# Every admin URL where a POST may change something (access.ROUTES says which), and every action.
FORMS = [route for route, spec in ROUTES.items() if route.startswith("admin/") and spec.writers]
RUNNABLE_ACTIONS = [key for key, action in ACTIONS.items() if action.runners]


@pytest.mark.parametrize("route", FORMS)
def test_every_form_refuses_a_post_without_its_csrf_token(world: World, route: str) -> None:
    spec, url = ROUTES[route], concrete(route, world)
    visitor = OPERATOR if OPERATOR in spec.writers else ROOT
    assert visitor in spec.writers
    client = visitor_clients(enforce_csrf_checks=True)[visitor]

    refused, changed = post_changes(client, url, spec.payload(world))
    assert refused_for_csrf(refused) and not changed

    # The very same POST with its token goes through: the 403 was the token, not the visitor.
    token = csrf_token(client)
    _, changed = post_changes(client, url, {**spec.payload(world), "csrfmiddlewaretoken": token})
    assert changed


@pytest.mark.parametrize(("key", "name"), RUNNABLE_ACTIONS)
def test_every_action_and_its_confirmation_refuse_a_post_without_the_csrf_token(
    world: World, key: str, name: str
) -> None:
    action = ACTIONS[(key, name)]
    client = visitor_clients(enforce_csrf_checks=True)[OPERATOR if OPERATOR in action.runners else ROOT]
    url = reverse(f"admin:{key.replace('/', '_')}_changelist")
    chosen = {"action": name, "_selected_action": [str(world.objects[key].pk)]}
    steps = [chosen, *([{**chosen, **action.confirm(world)}] if action.confirm else [])]
    for data in steps:
        refused, changed = post_changes(client, url, data)
        assert refused_for_csrf(refused) and not changed, data

    _, changed = post_changes(client, url, {**steps[-1], "csrfmiddlewaretoken": csrf_token(client)})
    assert changed


def test_login_and_logout_refuse_a_post_without_the_csrf_token() -> None:
    User.objects.create_user("olga", password="Passphrase-4-olga", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "olga", "password": "Passphrase-4-olga"}
    index, login_url, logout_url = reverse("admin:index"), reverse("admin:login"), reverse("admin:logout")

    assert refused_for_csrf(client.post(login_url, credentials))
    assert client.get(index).status_code == 302  # still anonymous
    client.get(login_url)
    token = client.cookies["csrftoken"].value
    assert client.post(login_url, {**credentials, "csrfmiddlewaretoken": token}).status_code == 302
    assert client.get(index).status_code == 200

    assert refused_for_csrf(client.post(logout_url))
    assert client.get(index).status_code == 200  # still logged in
    token = client.cookies["csrftoken"].value  # rotated at login
    assert client.post(logout_url, {"csrfmiddlewaretoken": token}).status_code == 200
    assert client.get(index).status_code == 302


def test_the_webhook_needs_no_csrf_token_but_refuses_an_unsigned_or_forged_delivery(
    cp_sim: CorrigoProSimulator,
) -> None:
    client = Client(enforce_csrf_checks=True)
    now = int(time.time())
    claims = {"aud": "CorrigoProDirect", "iat": now, "exp": now + 600}
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def deliver(authorization: str | None) -> int:
        headers = {"Event-Type": "AttachmentAdded"}
        if authorization:
            headers["Authorization"] = authorization
        payload = json.dumps(attachment_added())
        return client.post(WEBHOOK, payload, content_type="application/json", headers=headers).status_code

    assert deliver(None) == 401
    assert deliver("Bearer " + sign_token(claims, private_key=forger)) == 401
    assert not WebhookDelivery.objects.exists()
    assert deliver("Bearer " + sign_token(claims, private_key=cp_sim.private_key)) == 200
    assert WebhookDelivery.objects.count() == 1


def test_every_post_form_in_our_templates_carries_the_csrf_token() -> None:
    forms = [
        (path.relative_to(TEMPLATES), form)
        for path in TEMPLATES.rglob("*.html")
        for form in re.findall(r"<form\b[^>]*>.*?</form>", path.read_text(), re.S | re.I)
        if re.search(r"""<form\b[^>]*method=["']post["']""", form, re.I)
    ]
    assert len(forms) >= 3  # the action form, the object form, the job's retry, the batch's refresh
    assert [name for name, form in forms if "{% csrf_token %}" not in form] == []


def test_pages_send_a_content_security_policy_that_runs_no_inline_script_or_style(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", password="unused-password-1"))
    policy = client.get("/admin/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_no_template_of_ours_has_an_inline_style_or_script() -> None:
    """The policy would block them: a page's look and behaviour come from static files only."""
    found = [
        (str(path.relative_to(TEMPLATES)), match)
        for path in TEMPLATES.rglob("*.html")
        for match in re.findall(
            r"\sstyle=|<style\b|<script\b(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=", path.read_text()
        )
    ]
    assert found == []


# --- No secret in logs, audit rows, exports or items -------------------------------------------------


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG from every thread (the live server's, the simulators'): the root logger and
    every logger configured quieter (urllib3 in settings)."""
    caplog.set_level(logging.DEBUG)
    for name, existing in list(logging.root.manager.loggerDict.items()):
        if isinstance(existing, logging.Logger) and existing.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@dataclass
class Secrets:
    """Every secret in play, by what it is; each value distinctive enough that a match means a leak."""

    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, *values: str) -> None:
        self.values.setdefault(kind, set()).update(value for value in values if value)

    def found_in(self, text: str) -> dict[str, list[str]]:
        """Which secrets appear in the text, as they are or URL-encoded."""
        found: dict[str, list[str]] = {}
        for kind, values in self.values.items():
            hits = [value for value in values if value in text or quote(value, safe="") in text]
            if hits:
                found[kind] = sorted(hits)
        return found


def distinct(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


def query_values(url: str, *names: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return [value for name in names for value in query.get(name, [])]


def recording(into: list[str], real: Callable[..., str]) -> Callable[..., str]:
    """`real`, keeping a copy of everything it returns."""

    def record(*args: Any, **kwargs: Any) -> str:
        into.append(real(*args, **kwargs))
        return into[-1]

    return record


def all_rows_text(*models: Any) -> str:
    return "\n".join(
        repr(row) for model in models for row in model._base_manager.order_by("pk").values_list()
    )


def logged_in(username: str, role: str) -> Client:
    client = Client()
    login(client, username, role)
    return client


def changelist(model: str) -> str:
    return reverse(f"admin:media_sync_{model}_changelist")


def started(response: Response) -> bool:
    """The admin accepted the work and went on to the job's page."""
    return response.status_code == 302 and "/media_sync/transferjob/" in response["Location"]


def recoveryconnect_work(
    operator: Client, rc_sim: RecoveryConnectSimulator, settings: Any, found: Secrets
) -> None:
    """A transfer, a 401 answered with a fresh login, a refused login."""
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379])
    rc_sim.add_order(57076502, 9100002)
    photos = [str(pk) for pk in RecoveryConnectPhoto.objects.values_list("pk", flat=True)]
    transfer = {
        "action": "transfer_photos",
        "_selected_action": photos,
        "apply": "1",
        "destinations": "9100002",
    }
    assert started(operator.post(changelist("recoveryconnectphoto"), transfer))
    rc_sim.expire_tokens()
    refresh = {"action": "refresh_photos", "_selected_action": [order.pk]}
    assert started(operator.post(changelist("recoveryconnectorder"), refresh))
    assert rc_sim.auth_count == 2  # the 401 was answered with a new login
    wrong = distinct("rc-wrong-password")
    found.add("RecoveryConnect password", wrong)
    settings.RECOVERYCONNECT = {**settings.RECOVERYCONNECT, "PASSWORD": wrong}
    rc_client_module.TOKENS.clear()
    assert started(operator.post(changelist("recoveryconnectorder"), refresh))
    assert TransferItem.objects.filter(message__contains="refused the login").exists()
    found.add("RecoveryConnect bearer token", *rc_sim.tokens)


def corrigopro_work(
    operator: Client,
    lead: Client,
    cp_sim: CorrigoProSimulator,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    app_url: str,
    found: Secrets,
) -> None:
    """An upload, a download through a fresh link, a 401, a webhook, a stale webhook, a refused secret."""
    signed: list[str] = []  # access and webhook tokens, as the simulator signs them
    monkeypatch.setattr("integrations.corrigopro.simulator.auth.sign_token", recording(signed, sign_token))
    link_signatures: list[str] = []
    monkeypatch.setattr(cp_sim, "_sign_link", recording(link_signatures, cp_sim._sign_link))

    cp_sim.add_work_order(1001, status="Accepted")
    work_order = CorrigoWorkOrder.objects.create(work_order_id=1001, status="Accepted")
    upload = reverse("admin:media_sync_corrigoworkorder_upload", args=[work_order.pk])
    file = SimpleUploadedFile("after.jpg", tiny_jpeg(), "image/jpeg")
    assert started(operator.post(upload, {"file": file, "performed_by": "Ann"}))
    attachment = CorrigoAttachment.objects.get()
    download = lead.get(reverse("admin:media_sync_corrigoattachment_download", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == tiny_jpeg()  # type: ignore[attr-defined]
    cp_sim.expire_tokens()
    sync = {"action": "refresh_attachments", "_selected_action": [work_order.pk]}
    assert started(operator.post(changelist("corrigoworkorder"), sync))
    assert cp_sim.token_count == 2  # the 401 was answered with a new token

    monkeypatch.setattr(cp_sim, "webhook_url", app_url + WEBHOOK)
    cp_sim.customer_add_attachment(1001, name="customer.jpg")
    assert cp_sim.deliveries[-1].status == 200
    stale = sign_token({"aud": "CorrigoProDirect", "iat": 1, "exp": 2}, private_key=cp_sim.private_key)
    headers = {"Authorization": f"Bearer {stale}", "Event-Type": "AttachmentAdded"}
    refused = Client().post(
        WEBHOOK, json.dumps(attachment_added()), content_type="application/json", headers=headers
    )
    assert refused.status_code == 401

    wrong = distinct("cp-wrong-secret")
    found.add("CorrigoPro client secret", wrong)
    settings.CORRIGOPRO = {**settings.CORRIGOPRO, "CLIENT_SECRET": wrong}
    cp_client_module.TOKENS.clear()
    assert started(operator.post(changelist("corrigoworkorder"), sync))
    assert TransferItem.objects.filter(message__contains="refused the client credentials").exists()
    found.add("CorrigoPro token (access or webhook)", *cp_sim.tokens, *signed, stale)
    found.add("CorrigoPro download link signature", *link_signatures)


def send_to_booking(operator: Client, photos: list[SuPhoto]) -> None:
    chosen = [str(photo.pk) for photo in photos]
    send = {"action": "send_to_booking", "_selected_action": chosen, "include": chosen, "apply": "1"}
    assert started(operator.post(changelist("suphoto"), {**send, "tags": ["13"]}))


def add_photo(operator: Client, hotel: SuProperty, n: int) -> SuPhoto:
    picture = SimpleUploadedFile(f"room-{n}.jpg", demo_picture(n), "image/jpeg")
    assert operator.post(reverse("admin:media_sync_suphoto_add"), {"property": hotel.pk, "file": picture})
    return SuPhoto.objects.get(media__original_name=f"room-{n}.jpg")


def suapi_work(operator: Client, su_sim: SuApiSimulator, settings: Any, found: Secrets) -> None:
    """Photos sent as our signed links and fetched by Booking.com from the live app; a photo on S3 sent
    as S3's own pre-signed link (moto stands in for S3); a wrong API key."""
    su_sim.seed_demo()
    hotel = SuProperty.objects.create(hotel_id="NT7", channel_hotel_id="12837615")
    send_to_booking(operator, [add_photo(operator, hotel, 31), add_photo(operator, hotel, 32)])
    su_sim.clock.advance(30)
    batch = SuBatch.objects.get()
    refreshed = operator.post(reverse("admin:media_sync_subatch_refresh", args=[batch.pk]))
    assert refreshed.status_code == 302 and "/media_sync/subatch/" in refreshed["Location"]
    assert sorted(status for _, status in su_sim.downloads) == ["ok", "ok"]

    right = settings.SUAPI
    wrong = distinct("su-wrong-key")
    found.add("SU API key", wrong)
    settings.SUAPI = {**right, "API_KEY": wrong}
    send_to_booking(operator, [add_photo(operator, hotel, 33)])
    assert TransferItem.objects.filter(message__contains="refused the credentials").exists()
    settings.SUAPI = right

    with mock_aws():
        settings.AWS_STORAGE_BUCKET_NAME = "media-sync-test"
        settings.AWS_S3_REGION_NAME = "us-east-1"
        settings.AWS_S3_ACCESS_KEY_ID = "AKIAMEDIASYNCTEST"
        settings.AWS_S3_SECRET_ACCESS_KEY = distinct("aws-secret")
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
        found.add("AWS secret access key", settings.AWS_S3_SECRET_ACCESS_KEY)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="media-sync-test")
        send_to_booking(operator, [add_photo(operator, hotel, 34)])
        # The last step on S3: the settings fixture puts local storage back after the test.

    sent = [photo.url for batch in su_sim.batches.values() for photo in batch.photos]
    found.add("our media link signature", *(s for url in sent for s in query_values(url, "signature")))
    found.add("S3 link signature", *(s for url in sent for s in query_values(url, "X-Amz-Signature")))


def test_no_secret_reaches_the_logs_the_audit_the_exports_or_the_items(
    live_app: Any,
    rc_sim: RecoveryConnectSimulator,
    cp_sim: CorrigoProSimulator,
    su_sim: SuApiSimulator,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    every_log: pytest.LogCaptureFixture,
) -> None:
    """Real work end to end, started the way operators start it (admin POSTs; on the live server's
    database the jobs run as their transaction commits), each provider also refusing a login or
    answering 401 once. Distinctive secrets, so that finding one anywhere means it leaked."""
    found = Secrets()
    settings.SECRET_KEY = distinct("django-secret-key")
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = live_app.url
    found.add("SECRET_KEY", settings.SECRET_KEY)
    operator, lead = logged_in("olga", "Operators"), logged_in("leo", "Team leads")  # sessions signed with it
    rc_password, cp_secret, su_key = distinct("rc-password"), distinct("cp-secret"), distinct("su-key")
    monkeypatch.setattr(rc_sim, "password", rc_password)
    monkeypatch.setattr(cp_sim, "client_secret", cp_secret)
    monkeypatch.setattr(su_sim, "api_key", su_key)
    settings.RECOVERYCONNECT = {**settings.RECOVERYCONNECT, "PASSWORD": rc_password}
    settings.CORRIGOPRO = {**settings.CORRIGOPRO, "CLIENT_SECRET": cp_secret}
    settings.SUAPI = {**settings.SUAPI, "API_KEY": su_key}
    found.add("RecoveryConnect password", rc_password)
    found.add("CorrigoPro client secret", cp_secret)
    found.add("SU API key", su_key)

    recoveryconnect_work(operator, rc_sim, settings, found)
    corrigopro_work(operator, lead, cp_sim, settings, monkeypatch, live_app.url, found)
    suapi_work(operator, su_sim, settings, found)

    # --- Every kind of secret was really in play ---
    assert {kind for kind, values in found.values.items() if values} == {
        "SECRET_KEY",
        "RecoveryConnect password",
        "RecoveryConnect bearer token",
        "CorrigoPro client secret",
        "CorrigoPro token (access or webhook)",
        "CorrigoPro download link signature",
        "SU API key",
        "our media link signature",
        "S3 link signature",
        "AWS secret access key",
    }
    assert len(found.values["RecoveryConnect bearer token"]) >= 2
    assert len(found.values["our media link signature"]) >= 2

    # --- ...and none of them is kept where people read ---
    export = lead.get(reverse("admin:media_sync_auditevent_export"))
    assert export.status_code == 200
    exported = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    assert exported.count("\n") > 20
    out = io.StringIO()
    call_command("export_audit", "--output", "-", stdout=out)
    media_sync_tables = list(apps.get_app_config("media_sync").get_models())
    places = {
        "logs": every_log.text,
        "audit rows": all_rows_text(AuditEvent),
        "items": all_rows_text(TransferItem),
        "every media_sync table": all_rows_text(*media_sync_tables),
        "admin CSV export": exported,
        "export_audit": out.getvalue(),
    }
    assert AuditEvent.objects.count() > 20 and TransferJob.objects.count() >= 8
    assert {place: found.found_in(text) for place, text in places.items()} == {place: {} for place in places}

    # The scan can fail. The DEBUG lines where links used to leak were captured, redacted: urllib3's
    # request line of the download, botocore signing the S3 link. And a secret planted in a log line by
    # the app's code is found.
    assert re.search(r'"GET /files/[\w-]+\?\[redacted\] HTTP/1.1" 200', every_log.text)
    assert any(record.name == "botocore.auth" for record in every_log.records)
    token = next(iter(found.values["RecoveryConnect bearer token"]))
    logging.getLogger("media_sync.services.jobs").debug("calling with Bearer %s", token)
    assert found.found_in(every_log.text) == {"RecoveryConnect bearer token": [token]}
