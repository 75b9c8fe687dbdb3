"""corrigo_* commands: flags, output lines and exit codes of README.md's "Commands"."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.corrigopro.simulator import CorrigoProSimulator, tiny_jpeg
from media_sync.models import AuditEvent, CorrigoAttachment, CorrigoWorkOrder, TransferJob
from tests.media_sync.factories import run_command

pytestmark = pytest.mark.django_db
JPEG = tiny_jpeg()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "after.jpg"
    path.write_bytes(JPEG)
    return path


@pytest.fixture
def uploaded(cp_sim: CorrigoProSimulator, photo: Path) -> CorrigoAttachment:
    cp_sim.add_work_order(1001)
    code, _ = run_command(
        "corrigo_upload", "--work-order", "1001", "--file", str(photo), "--performed-by", "Ann", "--sync"
    )
    assert code == 0
    return CorrigoAttachment.objects.get()


def test_upload_sync_prints_the_item_and_exits_0(cp_sim: CorrigoProSimulator, photo: Path) -> None:
    cp_sim.add_work_order(1001)
    code, out = run_command(
        "corrigo_upload",
        "--work-order",
        "1001",
        "--file",
        str(photo),
        "--name",
        "done.jpg",
        "--document-type",
        "Picture",
        "--visibility",
        "CruOnly",
        "--performed-by",
        "Ann",
        "--sync",
    )
    attachment = CorrigoAttachment.objects.get()
    assert code == 0
    assert out == f"done.jpg -> 1001: succeeded [200] attachment {attachment.attachment_id} added\n"
    assert cp_sim.attachment(attachment.attachment_id) is not None


def test_upload_to_a_work_order_the_provider_rejected_exits_1(
    cp_sim: CorrigoProSimulator, photo: Path
) -> None:
    cp_sim.add_work_order(1002, status="Rejected")
    code, out = run_command("corrigo_upload", "--work-order", "1002", "--file", str(photo), "--sync")
    assert code == 1 and out.startswith("after.jpg -> 1002: failed [3001]")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--work-order", "abc"], "'abc' is not a work order id"),
        (["--work-order", "1001", "--performed-by", "x" * 101], "PerformedBy.Name is 101 characters"),
        (["--work-order", "1001", "--name", "noext"], "needs a file extension"),
        (["--work-order", "1001", "--visibility", "Everyone"], "visibility 'Everyone' is not one of"),
    ],
)
def test_upload_refusals_exit_2_and_write_nothing(
    cp_sim: CorrigoProSimulator, photo: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command("corrigo_upload", "--file", str(photo), *args, "--sync")
    assert refused.value.returncode == 2
    assert not TransferJob.objects.exists() and not CorrigoWorkOrder.objects.exists()
    assert AuditEvent.objects.get(kind="refusal", operation="cp_upload").message == str(refused.value)
    assert cp_sim.log == []


def test_upload_of_a_missing_file_exits_2(cp_sim: CorrigoProSimulator, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a readable file") as refused:
        call_command("corrigo_upload", "--work-order", "1001", "--file", str(tmp_path / "nope.jpg"))
    assert refused.value.returncode == 2


def test_sync_lists_and_mirrors(cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment) -> None:
    code, out = run_command("corrigo_sync", "--work-order", "1001", "--sync")
    assert (code, out) == (0, "1001 -> mirror: succeeded [200] 1 attachments listed: 0 new, 0 removed\n")


def test_update_then_delete_then_delete_again(
    cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment
) -> None:
    guid = uploaded.attachment_id
    code, out = run_command(
        "corrigo_update", "--work-order", "1001", "--attachment", guid, "--name", "fixed.jpg", "--sync"
    )
    assert code == 0 and out.startswith(f"{guid} -> 1001: succeeded [200] changed")
    code, out = run_command("corrigo_delete", "--work-order", "1001", "--attachment", guid, "--sync")
    assert code == 0 and "deleted" in out
    with pytest.raises(CommandError, match="already removed") as refused:
        call_command("corrigo_delete", "--work-order", "1001", "--attachment", guid, "--sync")
    assert refused.value.returncode == 2


def test_an_unknown_attachment_is_a_provider_failure(
    cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment
) -> None:
    code, out = run_command(
        "corrigo_delete",
        "--work-order",
        "1001",
        "--attachment",
        "00000000-0000-4000-8000-000000000000",
        "--sync",
    )
    assert code == 1 and "[3003]" in out


@pytest.mark.parametrize(
    ("guid", "work_order", "message"),
    [
        ("not-a-guid", "1001", "is not an attachment id"),
        (None, "2002", "belongs to Work order 1001"),
    ],
)
def test_wrong_attachment_ids_exit_2(
    cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment, guid: str | None, work_order: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command(
            "corrigo_delete", "--work-order", work_order, "--attachment", guid or uploaded.attachment_id
        )
    assert refused.value.returncode == 2


def test_download_saves_the_file(
    cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment, tmp_path: Path
) -> None:
    target = tmp_path / "copy.jpg"
    code, out = run_command(
        "corrigo_download",
        "--work-order",
        "1001",
        "--attachment",
        uploaded.attachment_id,
        "--output",
        str(target),
    )
    assert code == 0 and out.endswith(f"succeeded [200] {len(JPEG)} bytes downloaded\n")
    assert target.read_bytes() == JPEG
    assert not (tmp_path / "copy.jpg.partial").exists()


def test_download_of_a_removed_attachment_exits_1_and_writes_no_file(
    cp_sim: CorrigoProSimulator, uploaded: CorrigoAttachment, tmp_path: Path
) -> None:
    cp_sim.customer_remove_attachment(1001, uploaded.attachment_id)
    target = tmp_path / "copy.jpg"
    code, out = run_command(
        "corrigo_download",
        "--work-order",
        "1001",
        "--attachment",
        uploaded.attachment_id,
        "--output",
        str(target),
    )
    assert code == 1 and "[3003]" in out
    assert list(tmp_path.glob("copy.jpg*")) == []
