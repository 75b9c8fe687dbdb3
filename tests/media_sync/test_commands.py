"""rc_sync_photos and rc_transfer: the flags, output lines and exit codes of README.md's "Commands"."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import AuditEvent, JobStatus, RecoveryConnectOrder, TransferJob
from tests.media_sync.factories import order_on_both_sides, run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(rc_sim: RecoveryConnectSimulator) -> RecoveryConnectOrder:
    order = order_on_both_sides(rc_sim, 57076503, 9100001, [180461378, 180461379], locked=(180461379,))
    rc_sim.add_order(57076502, 9100002)
    return order


def test_rc_sync_photos_sync_mirrors_and_prints_one_line(rc_sim: RecoveryConnectSimulator) -> None:
    rc_sim.add_order(57076600, 9100600, photos=[{"id": 1, "name": "a.jpg"}, {"id": 2, "name": "b.jpg"}])
    code, out = run_command("rc_sync_photos", "--order", "57076600", "--sync")
    assert code == 0
    assert out == "57076600 -> mirror: succeeded [200] 2 photos listed: 2 new, 0 removed\n"
    assert RecoveryConnectOrder.objects.get(order_id=57076600).photos.count() == 2


def test_rc_sync_photos_without_sync_enqueues_and_prints_the_job_id(rc_sim: RecoveryConnectSimulator) -> None:
    code, out = run_command("rc_sync_photos", "--order", "57076600")
    job = TransferJob.objects.get()
    assert (code, out) == (0, f"job {job.pk} enqueued\n")


def test_rc_sync_photos_of_an_unknown_order_exits_1(rc_sim: RecoveryConnectSimulator) -> None:
    code, out = run_command("rc_sync_photos", "--order", "404404", "--sync")
    assert code == 1
    assert out == "404404 -> mirror: failed [404] HTTP 404: Order not found.\n"


def test_rc_transfer_with_photos_prints_each_item_and_exits_1_on_a_fail(source: RecoveryConnectOrder) -> None:
    code, out = run_command(
        "rc_transfer",
        "--order",
        "57076503",
        "--to",
        "9100002",
        "--photo",
        "180461378",
        "--photo",
        "180461379",
        "--sync",
        "--user",
        "ops-script",
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "180461378 -> 9100002: succeeded [success]"
    assert lines[1].startswith("180461379 -> 9100002: failed [fail] RecoveryConnect answered fail")
    assert TransferJob.objects.get().triggered_by == "ops-script"


def test_rc_transfer_all_exits_0_when_every_item_succeeded(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator
) -> None:
    rc_sim.orders[57076503].photos[1].locked = False
    code, out = run_command("rc_transfer", "--order", "57076503", "--to", "9100002", "--sync")
    assert code == 0 and len(out.splitlines()) == 2
    assert TransferJob.objects.get().operation == "rc_transfer_all"
    assert TransferJob.objects.get().status == JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--order", "57076503", "--to", "abc"], "'abc' is not a client order id"),
        (["--order", "57076503", "--to", "-1"], "'-1' is not a client order id"),
        (["--order", "x1", "--to", "9100002"], "'x1' is not a order id"),
        (["--order", "57076503", "--to", "9100001"], "is the source order itself"),
        (
            ["--order", "57076503", "--to", "9100002", "--photo", "999"],
            "photo 999 is not a photo of order 57076503",
        ),
    ],
)
def test_rc_transfer_refuses_bad_input_with_exit_2_and_sends_nothing(
    source: RecoveryConnectOrder, rc_sim: RecoveryConnectSimulator, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as refused:
        call_command("rc_transfer", *args, "--sync")
    assert refused.value.returncode == 2
    assert not TransferJob.objects.exists()
    refusal = AuditEvent.objects.get()
    # Under the operation asked for, one the audit's Operation filter offers (it was "rc_transfer").
    asked = "rc_transfer_photos" if "--photo" in args else "rc_transfer_all"
    assert (refusal.kind, refusal.provider, refusal.operation) == ("refusal", "recoveryconnect", asked)
    assert refusal.message == str(refused.value)
    assert [entry for entry in rc_sim.log if entry.method == "PUT"] == []
