"""Failure-rate alerts: one email per provider per window to the team leads, with a link to the rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from media_sync.models import AuditEvent, AuditKind, FailureAlert, Outcome, TransferJob
from media_sync.services.alerts import alerts_check
from tests.media_sync.factories import role

pytestmark = pytest.mark.django_db


def results(provider: str, *, failed: int, succeeded: int) -> None:
    for outcome, count in ((Outcome.FAILED, failed), (Outcome.SUCCEEDED, succeeded)):
        for _ in range(count):
            AuditEvent.objects.create(kind=AuditKind.ITEM, provider=provider, operation="x", outcome=outcome)


@pytest.fixture
def leads() -> None:
    lead = User.objects.create_user("leo", email="leo@example.com")
    lead.groups.add(role("Team leads"))
    User.objects.create_user("olga", email="olga@example.com").groups.add(role("Operators"))


def test_a_failure_rate_over_the_threshold_mails_the_team_leads_once(leads: None, settings: Any) -> None:
    settings.MEDIA_SYNC_ALERT_MIN_ITEMS, settings.MEDIA_SYNC_ALERT_THRESHOLD = 10, 0.2
    results("corrigopro", failed=4, succeeded=6)
    results("recoveryconnect", failed=1, succeeded=9)  # 10 %: below the threshold
    (alert,) = alerts_check()
    assert (alert.provider, alert.failed, alert.total, alert.recipients) == ("corrigopro", 4, 10, 1)
    (message,) = mail.outbox
    assert message.to == ["leo@example.com"]
    assert "CorrigoPro failure rate 40 %" in message.subject
    assert "provider__exact=corrigopro&outcome__exact=failed" in message.body
    assert alerts_check() == [] and len(mail.outbox) == 1  # same window: no second email
    assert FailureAlert.objects.count() == 1


def test_too_few_items_raise_no_alert(leads: None, settings: Any) -> None:
    settings.MEDIA_SYNC_ALERT_MIN_ITEMS = 10
    results("suapi", failed=5, succeeded=0)
    assert alerts_check() == [] and mail.outbox == []


def test_an_item_is_counted_once_by_its_last_result_not_once_per_attempt(leads: None, settings: Any) -> None:
    settings.MEDIA_SYNC_ALERT_MIN_ITEMS, settings.MEDIA_SYNC_ALERT_THRESHOLD = 4, 0.5
    job = TransferJob.objects.create(provider="corrigopro", operation="cp_upload")
    for item, outcomes in (("a", "fff"), ("b", "fs"), ("c", "s"), ("d", "s")):
        for outcome in outcomes:
            AuditEvent.objects.create(
                kind=AuditKind.ITEM,
                provider="corrigopro",
                operation="cp_upload",
                job=job,
                item=item,
                destination="wo-1",
                outcome=Outcome.FAILED if outcome == "f" else Outcome.SUCCEEDED,
            )
    # Six results, four failed; but four items, one failed in the end: 25 %, under the threshold.
    assert alerts_check() == []
    settings.MEDIA_SYNC_ALERT_THRESHOLD = 0.25
    (alert,) = alerts_check()
    assert (alert.failed, alert.total) == (1, 4)
    assert "1 of 4 CorrigoPro items failed" in mail.outbox[0].body
