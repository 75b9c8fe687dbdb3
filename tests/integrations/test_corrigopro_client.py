"""The CorrigoPro client against its simulator, over real HTTP."""

from __future__ import annotations

import contextlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.corrigopro.client import CorrigoProClient, new_message_id
from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from integrations.errors import FailureClass, ProviderError
from integrations.http import Exchange, RetryPolicy
from integrations.simkit import Faults
from integrations.tokens import TokenCache

JPEG = tiny_jpeg()


@pytest.fixture
def client(cp_sim: CorrigoProSimulator, settings: Any, exchanges: list[Exchange]) -> CorrigoProClient:
    cp_sim.add_work_order(1001, status="Accepted")
    cp_sim.add_work_order(1002, status="Rejected")
    cp_sim.add_work_order(1003, status="Recalled")
    config = settings.CORRIGOPRO
    return CorrigoProClient(
        base_url=config["BASE_URL"],
        token_url=config["TOKEN_URL"],
        client_id="demo-client",
        client_secret="demo-secret",
        timeout=(1.0, 2.0),
        retry=RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.01),
        on_exchange=exchanges.append,
        token_cache=TokenCache(),
    )


def upload(client: CorrigoProClient, work_order_id: int = 1001, content: bytes = JPEG, **fields: Any) -> Any:
    values = {"name": "after.jpg", "mime_type": "image/jpeg", "performed_by": "Ann Tech"} | fields
    return client.upload_attachment(
        work_order_id=work_order_id,
        open_file=lambda: io.BytesIO(content),
        size=len(content),
        message_id=values.pop("message_id", new_message_id()),
        **values,
    )


def test_upload_streams_the_file_and_every_field(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    uploaded = upload(client, document_type="Picture", visibility="CruOnly", performed_by_phone="555-0100")
    stored = cp_sim.attachment(uploaded.attachment_id)
    assert stored is not None and stored.content == JPEG
    assert (stored.name, stored.mime_type, stored.document_type, stored.visibility, stored.performed_by) == (
        "after.jpg",
        "image/jpeg",
        "Picture",
        "CruOnly",
        "Ann Tech",
    )
    assert uploaded.message_id == cp_sim.uploads[-1].message_id and len(uploaded.message_id) <= 36


def test_list_attachments_parses_each(client: CorrigoProClient) -> None:
    uploaded = upload(client)
    (listed,) = client.list_attachments(work_order_id=1001)
    assert (listed.id, listed.name, listed.mime_type, listed.size, listed.performed_by) == (
        uploaded.attachment_id,
        "after.jpg",
        "image/jpeg",
        len(JPEG),
        "Ann Tech",
    )


def test_token_is_cached_and_fetched_again_after_a_401(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    client.list_attachments(work_order_id=1001)
    client.list_attachments(work_order_id=1001)
    assert cp_sim.token_count == 1
    cp_sim.expire_tokens()
    client.list_attachments(work_order_id=1001)
    assert cp_sim.token_count == 2


def test_bad_client_secret_is_a_permanent_auth_error(
    cp_sim: CorrigoProSimulator, settings: Any, exchanges: list[Exchange]
) -> None:
    config = settings.CORRIGOPRO
    client = CorrigoProClient(
        base_url=config["BASE_URL"],
        token_url=config["TOKEN_URL"],
        client_id="demo-client",
        client_secret="wrong",
        token_cache=TokenCache(),
        on_exchange=exchanges.append,
    )
    with pytest.raises(ProviderError) as caught:
        client.list_attachments(work_order_id=1001)
    assert (
        caught.value.failure_class == FailureClass.AUTH and "CORRIGOPRO_CLIENT_SECRET" in caught.value.message
    )
    assert "wrong" not in repr(exchanges)


@pytest.mark.parametrize(
    ("work_order_id", "code", "failure_class"),
    [
        (1002, "3001", FailureClass.PROVIDER_RULE),
        (1003, "3005", FailureClass.NOT_FOUND),
        (9999, "3005", FailureClass.NOT_FOUND),
    ],
)
def test_upload_refusals_carry_the_documented_code(
    client: CorrigoProClient, work_order_id: int, code: str, failure_class: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        upload(client, work_order_id=work_order_id)
    assert (caught.value.code, caught.value.failure_class, caught.value.transient) == (
        code,
        failure_class,
        False,
    )
    assert f"({code}" in caught.value.message


def test_validation_errors_are_named_in_the_message(client: CorrigoProClient) -> None:
    with pytest.raises(ProviderError) as caught:
        upload(client, performed_by="x" * 101)
    assert caught.value.code == "2100" and "PerformedBy.Name" in caught.value.message


def test_update_and_delete_then_delete_again_is_3003(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    attachment_id = upload(client).attachment_id
    message_id = new_message_id()
    assert (
        client.update_attachment(
            work_order_id=1001,
            attachment_id=attachment_id,
            name="renamed.jpg",
            document_type="Misc",
            message_id=message_id,
        )
        == message_id
    )
    stored = cp_sim.attachment(attachment_id)
    assert stored is not None and (stored.name, stored.document_type) == ("renamed.jpg", "Misc")
    client.delete_attachment(work_order_id=1001, attachment_id=attachment_id, message_id=new_message_id())
    with pytest.raises(ProviderError) as caught:
        client.delete_attachment(work_order_id=1001, attachment_id=attachment_id, message_id=new_message_id())
    assert (caught.value.code, caught.value.failure_class) == ("3003", FailureClass.NOT_FOUND)


def test_a_bare_404_is_a_not_found_without_a_body(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    cp_sim.bare_404_next = True
    with pytest.raises(ProviderError) as caught:
        client.delete_attachment(
            work_order_id=1001, attachment_id=new_message_id(), message_id=new_message_id()
        )
    assert (caught.value.http_status, caught.value.failure_class) == (404, FailureClass.NOT_FOUND)


def test_download_link_gives_the_file_and_expires_after_15_minutes(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator, exchanges: list[Exchange]
) -> None:
    attachment_id = upload(client).attachment_id
    url = client.download_url(work_order_id=1001, attachment_id=attachment_id)
    assert b"".join(client.iter_file(client.open_download(url))) == JPEG
    assert "signature=" not in repr(exchanges)  # the link's signature never reaches the audit
    cp_sim.clock.advance(15 * 60 + 1)
    with pytest.raises(ProviderError) as caught:
        client.open_download(url)
    assert caught.value.http_status == 403


def test_a_retried_upload_reopens_the_file(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator, tmp_path: Path
) -> None:
    client.fetch_token()
    path = tmp_path / "after.jpg"
    path.write_bytes(JPEG)
    opened: list[int] = []

    def open_file() -> Any:
        opened.append(1)
        return path.open("rb")

    cp_sim.faults = Faults(rate_limit_burst=1)
    uploaded = client.upload_attachment(
        work_order_id=1001,
        open_file=open_file,
        size=len(JPEG),
        name="after.jpg",
        mime_type="image/jpeg",
        performed_by="Ann",
        message_id=new_message_id(),
    )
    assert len(opened) == 2
    stored = cp_sim.attachment(uploaded.attachment_id)
    assert stored is not None and stored.content == JPEG


def test_html_where_json_was_promised_is_a_parse_error(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    client.fetch_token()
    cp_sim.garbage_next = "html"
    with pytest.raises(ProviderError) as caught:
        client.list_attachments(work_order_id=1001)
    assert caught.value.failure_class == FailureClass.PARSE


def test_upload_request_summary_names_the_file_size_not_its_bytes(
    client: CorrigoProClient, exchanges: list[Exchange]
) -> None:
    upload(client)
    (summary,) = [e.request_summary for e in exchanges if e.operation == "upload_attachment"]
    assert f"<{len(JPEG)} bytes>" in summary and "Ann Tech" in summary


def test_no_test_reaches_beyond_loopback() -> None:
    with pytest.raises(requests.ConnectionError, match="may not reach the network"):
        requests.get("http://192.0.2.1/", timeout=1)


# --- save_file: a download streamed into a writer ----------------------------------------------------


def test_save_file_streams_a_download_link_into_the_writer_once_per_attempt(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    attachment = cp_sim.customer_add_attachment(1001, content=JPEG)
    url = client.download_url(work_order_id=1001, attachment_id=attachment.id)
    cp_sim.garbage_next = "truncated"  # the first GET of the file gives half of it
    starts: list[bytearray] = []

    def start() -> Any:
        starts.append(bytearray())
        return starts[-1].extend

    assert client.save_file(url, max_bytes=len(JPEG), expected_size=len(JPEG), start=start) == len(JPEG)
    # Shorter than listed: a broken download, tried again from a fresh start.
    assert [bytes(body) for body in starts] == [JPEG[: len(JPEG) // 2], JPEG]


def test_save_file_refuses_by_content_length_before_writing_a_byte(
    client: CorrigoProClient, cp_sim: CorrigoProSimulator
) -> None:
    attachment = cp_sim.customer_add_attachment(1001, content=JPEG)
    url = client.download_url(work_order_id=1001, attachment_id=attachment.id)
    started: list[bytes] = []
    with pytest.raises(ProviderError) as raised:
        client.save_file(url, max_bytes=len(JPEG) - 1, expected_size=None, start=lambda: started.append)
    assert raised.value.failure_class == FailureClass.TOO_LARGE and not raised.value.transient
    assert started == []


class _Endless(BaseHTTPRequestHandler):
    """A file server that names no length (chunked) and sends more than any limit: only counting stops it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"\xff" * 65536
        with contextlib.suppress(OSError):
            for _ in range(64):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_save_file_refuses_a_body_of_no_stated_length_as_soon_as_it_passes_the_limit(
    client: CorrigoProClient,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    written = bytearray()
    try:
        with pytest.raises(ProviderError) as raised:
            client.save_file(
                f"http://127.0.0.1:{server.server_port}/file",
                max_bytes=200_000,
                expected_size=None,
                start=lambda: written.extend,
            )
    finally:
        server.shutdown()
        server.server_close()
    assert raised.value.failure_class == FailureClass.TOO_LARGE
    assert len(written) <= 200_000  # never a byte past the limit handed on
