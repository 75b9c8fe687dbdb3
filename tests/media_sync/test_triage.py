"""Failure groups and their triage: items join one group per cause, a recurrence reopens a resolved
group, each action is an append-only event with the role rules, and nothing in the audit changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from media_sync.models import (
    STILL_OPEN,
    AuditEvent,
    FailureGroup,
    GroupStatus,
    ItemStatus,
    TransferItem,
    TransferJob,
    TriageAction,
    TriageEvent,
)
from media_sync.selectors_dashboard import dashboard_top_failures
from media_sync.services.alerts import alerts_check
from media_sync.services.demo import demo_documents_load, demo_orders_load, demo_users_reset
from media_sync.services.demo_triage import demo_open_failures
from media_sync.services.items import item_finish
from media_sync.services.jobs import job_refresh_status
from media_sync.services.refusals import InputRefused
from media_sync.services.triage import triage_act, triage_retry
from media_sync.services.triage_mail import triage_summary_send
from tests.media_sync.factories import login, rc_transfer

pytestmark = pytest.mark.django_db


def fail(item: TransferItem, message: str, failure_class: str = "not_found") -> TransferItem:
    """End the item failed the way a runner does (items.item_finish), and read it back."""
    item_finish(item=item, job=item.job, succeeded=False, failure_class=failure_class, message=message)
    return TransferItem.objects.get(pk=item.pk)


def group_of(item: TransferItem) -> FailureGroup:
    return FailureGroup.objects.get(items__pk=item.pk)


@pytest.fixture
def job(rc_sim: RecoveryConnectSimulator) -> TransferJob:
    """Four photos of order 57076503 to one destination, not run yet (pending items)."""
    return rc_transfer(rc_sim, [9100002], photos=4)


@pytest.fixture
def group(job: TransferJob) -> FailureGroup:
    """Two items failed for one cause: an open group."""
    first, second, *_ = job.items.all()
    fail(first, "photo 180461378 not found at order 9100002")
    return group_of(fail(second, "photo 180461379 not found at order 9100002"))


@pytest.fixture
def leo() -> User:
    return login(Client(), "leo", "Team leads")


@pytest.fixture
def olga() -> User:
    return login(Client(), "olga", "Operators")


# --- Grouping ----------------------------------------------------------------------------------------


def test_same_cause_with_different_ids_is_one_group(job: TransferJob) -> None:
    first, second, third, fourth = job.items.all()
    a = fail(first, "photo 180461378 not found at order 9100002 (ref 0f8fad5b-d9cb-469f-a165-70867728950e)")
    b = fail(second, "photo 180461379 not found at order 9100003 (ref 7c9e6679-7425-40de-944b-e07fc1f90ae7)")
    other_message = fail(third, "order is closed")
    other_class = fail(fourth, "photo 180461381 not found at order 9100002", failure_class="provider_rule")
    assert a.failure_group_id == b.failure_group_id is not None
    assert len({a.failure_group_id, other_message.failure_group_id, other_class.failure_group_id}) == 3
    group = group_of(a)
    assert (group.provider, group.operation, group.failure_class) == (
        "recoveryconnect",
        job.operation,
        "not_found",
    )
    assert group.pattern == "photo # not found at order # (ref #)"
    assert group.status == GroupStatus.OPEN and group.owner is None


def test_a_succeeded_item_joins_no_group(job: TransferJob) -> None:
    item = job.items.first()
    assert item is not None
    item_finish(item=item, job=job, succeeded=True, provider_status="success")
    assert FailureGroup.objects.count() == 0
    assert TransferItem.objects.get(pk=item.pk).failure_group_id is None


def test_the_same_cause_twice_upserts_one_row(job: TransferJob) -> None:
    """The unique signature decides: a second failure of the cause touches the row, never adds one."""
    first, second, *_ = job.items.all()
    fail(first, "photo 1 not found at order 2")
    before = FailureGroup.objects.get()
    fail(second, "photo 3 not found at order 4")
    after = FailureGroup.objects.get()
    assert after.pk == before.pk and after.last_seen > before.last_seen
    assert after.first_seen == before.first_seen


def test_a_recurrence_reopens_a_resolved_group_and_says_so(
    group: FailureGroup, job: TransferJob, leo: User
) -> None:
    triage_act(group=group, action=TriageAction.RESOLVE, by=leo, reason="fixed_at_provider")
    resolved_at = FailureGroup.objects.get(pk=group.pk).opened_at
    third = job.items.filter(status=ItemStatus.PENDING).first()
    assert third is not None
    fail(third, "photo 180461380 not found at order 9100002")
    group.refresh_from_db()
    assert (group.status, group.resolution) == (GroupStatus.OPEN, "")
    assert group.opened_at > resolved_at  # its age counts again from the recurrence
    reopen = group.events.get(action=TriageAction.REOPEN)
    assert reopen.item_id == third.pk and reopen.actor == "" and reopen.status == GroupStatus.OPEN
    assert "failed again" in reopen.note


def test_a_recurrence_leaves_an_ignored_group_ignored(
    group: FailureGroup, job: TransferJob, leo: User
) -> None:
    triage_act(group=group, action=TriageAction.IGNORE, by=leo)
    third = job.items.filter(status=ItemStatus.PENDING).first()
    assert third is not None
    fail(third, "photo 180461380 not found at order 9100002")
    group.refresh_from_db()
    assert group.status == GroupStatus.IGNORED
    assert not group.events.filter(action=TriageAction.REOPEN).exists()


# --- Actions and their events --------------------------------------------------------------------------


def test_each_action_on_a_group_writes_its_event(group: FailureGroup, leo: User, olga: User) -> None:
    audit_before = list(AuditEvent.objects.values_list())
    triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=olga)
    group.refresh_from_db()
    assert group.status == GroupStatus.ACKNOWLEDGED
    triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=olga, note="yours")
    triage_act(group=group, action=TriageAction.NOTE, by=olga, note="asked RecoveryConnect")
    triage_act(group=group, action=TriageAction.RESOLVE, by=leo, reason="not_needed")
    group.refresh_from_db()
    assert (group.status, group.owner, group.resolution) == (GroupStatus.RESOLVED, olga, "not_needed")
    events = list(
        group.events.order_by("id").values_list("action", "actor", "owner", "reason", "note", "status")
    )
    assert events == [
        ("acknowledge", "olga", "", "", "", "acknowledged"),
        ("assign", "leo", "olga", "", "yours", "acknowledged"),
        ("note", "olga", "", "", "asked RecoveryConnect", "acknowledged"),
        ("resolve", "leo", "", "not_needed", "", "resolved"),
    ]
    assert list(AuditEvent.objects.values_list()) == audit_before  # triage changes nothing in the audit


def test_an_action_on_some_items_writes_one_event_each_and_leaves_the_group(
    group: FailureGroup, leo: User
) -> None:
    first, _ = group.items.order_by("id")
    triage_act(group=group, action=TriageAction.IGNORE, by=leo, items=[first], note="test photo")
    group.refresh_from_db()
    assert group.status == GroupStatus.OPEN
    (event,) = TriageEvent.objects.all()
    assert (event.item_id, event.action, event.status, event.note) == (
        first.pk,
        "ignore",
        "ignored",
        "test photo",
    )


def test_an_action_that_changes_nothing_is_refused_and_writes_nothing(
    group: FailureGroup, leo: User, olga: User
) -> None:
    triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=olga)
    triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=olga)
    with pytest.raises(InputRefused, match="already acknowledged: nothing to change"):
        triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=olga)
    triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=leo)  # another person has seen it too
    with pytest.raises(InputRefused, match="already assigned to olga"):
        triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=olga)
    triage_act(group=group, action=TriageAction.RESOLVE, by=leo, reason="not_needed")
    with pytest.raises(InputRefused, match="already resolved"):
        triage_act(group=group, action=TriageAction.RESOLVE, by=leo, reason="not_needed")
    # Another reason, another owner, or a note still change something.
    triage_act(group=group, action=TriageAction.RESOLVE, by=leo, reason="fixed_at_provider")
    triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=leo)
    triage_act(group=group, action=TriageAction.NOTE, by=olga, note="again")
    assert list(group.events.order_by("id").values_list("action", flat=True)) == [
        "acknowledge",
        "assign",
        "acknowledge",
        "resolve",
        "resolve",
        "assign",
        "note",
    ]


@pytest.mark.parametrize(
    ("action", "fields", "refusal"),
    [
        (TriageAction.RESOLVE, {}, "needs a reason"),
        (TriageAction.NOTE, {"note": "  "}, "needs some words"),
        (TriageAction.ASSIGN, {}, "operator or a team lead"),
        ("delete", {}, "no such triage action"),
    ],
)
def test_an_incomplete_action_is_refused_and_writes_nothing(
    group: FailureGroup, leo: User, action: str, fields: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(InputRefused, match=refusal):
        triage_act(group=group, action=action, by=leo, **fields)
    assert not TriageEvent.objects.exists()


def test_a_failure_is_assigned_only_to_an_operator_or_a_team_lead(group: FailureGroup, leo: User) -> None:
    stranger = User.objects.create_user("sam", is_staff=True)
    with pytest.raises(InputRefused, match="operator or a team lead"):
        triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=stranger)
    triage_act(group=group, action=TriageAction.ASSIGN, by=leo, owner=leo)
    assert FailureGroup.objects.get(pk=group.pk).owner == leo


def test_items_of_another_group_are_refused(group: FailureGroup, job: TransferJob, leo: User) -> None:
    other = fail(job.items.filter(status=ItemStatus.PENDING).first(), "order is closed")  # type: ignore[arg-type]
    with pytest.raises(InputRefused, match="this group's failed items"):
        triage_act(group=group, action=TriageAction.NOTE, by=leo, items=[other], note="x")


def test_retrying_a_group_retries_exactly_its_failed_items(
    group: FailureGroup, job: TransferJob, olga: User
) -> None:
    third, fourth = job.items.filter(status=ItemStatus.PENDING)
    fail(third, "order is closed")  # another cause: stays failed
    item_finish(item=fourth, job=job, succeeded=True)
    job_refresh_status(job=job)
    assert triage_retry(group=group, by=olga, enqueue=False) == 2
    statuses = dict(job.items.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["failed", "pending", "pending", "succeeded"]
    assert statuses[third.pk] == "failed"
    (event,) = TriageEvent.objects.filter(action=TriageAction.RETRY)
    assert event.actor == "olga" and "2 failed items" in event.note
    assert triage_retry(group=group, by=olga, enqueue=False) == 0  # nothing failed left in it


# --- Append-only ----------------------------------------------------------------------------------------


@pytest.mark.db_owner  # plays someone with the owner's rights, or shows the trigger refuses the owner too
def test_the_database_refuses_to_change_or_delete_a_triage_event(group: FailureGroup, olga: User) -> None:
    (event,) = triage_act(group=group, action=TriageAction.NOTE, by=olga, note="original")
    for sql in ("UPDATE media_sync_triageevent SET note = 'rewritten'", "DELETE FROM media_sync_triageevent"):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert TriageEvent.objects.get(pk=event.pk).note == "original"


# --- The pages: roles, CSRF ---------------------------------------------------------------------------


def post_triage(client: Client, group: FailureGroup, **data: Any) -> int:
    response = client.post(reverse("admin:media_sync_failuregroup_triage", args=[group.pk]), data)
    return response.status_code


@pytest.mark.parametrize(
    ("action", "data", "operator", "lead"),
    [
        ("acknowledge", {}, 302, 302),
        ("note", {"note": "looking"}, 302, 302),
        ("assign", {"owner": "OWNER"}, 403, 302),
        ("resolve", {"reason": "retried"}, 403, 302),
        ("ignore", {}, 403, 302),
    ],
)
def test_operators_acknowledge_and_note_team_leads_also_decide(
    group: FailureGroup, action: str, data: dict[str, Any], operator: int, lead: int
) -> None:
    clients = {role: Client() for role in ("", "Operators", "Team leads")}
    users = {
        role: login(client, f"user{n}", role or None) for n, (role, client) in enumerate(clients.items())
    }
    data = {key: users["Operators"].pk if value == "OWNER" else value for key, value in data.items()}
    expected = {"": 403, "Operators": operator, "Team leads": lead}
    for role, client in clients.items():
        events = TriageEvent.objects.count()
        assert post_triage(client, group, action=action, **data) == expected[role], role
        assert TriageEvent.objects.count() == events + (expected[role] == 302), role
    assert TriageEvent.objects.filter(action=action, actor="user2").count() == 1


def test_a_triage_post_without_the_csrf_token_is_refused(group: FailureGroup) -> None:
    client = Client(enforce_csrf_checks=True)
    login(client, "leo2", "Team leads")
    assert post_triage(client, group, action="acknowledge") == 403
    assert not TriageEvent.objects.exists()
    page = client.get(reverse("admin:media_sync_failuregroup_change", args=[group.pk]))
    token = page.context["csrf_token"]
    assert post_triage(client, group, action="acknowledge", csrfmiddlewaretoken=str(token)) == 302
    assert TriageEvent.objects.count() == 1


def test_only_operators_retry_a_group(group: FailureGroup, job: TransferJob) -> None:
    job.items.filter(status=ItemStatus.PENDING).update(status=ItemStatus.SUCCEEDED)
    job.status = "partly_failed"
    job.save()
    url = reverse("admin:media_sync_failuregroup_retry", args=[group.pk])
    lead = Client()
    login(lead, "leo3", "Team leads")
    assert lead.post(url).status_code == 403
    operator = Client()
    login(operator, "olga3", "Operators")
    assert operator.post(url).status_code == 302
    assert group.items.filter(status=ItemStatus.PENDING).count() == 2


def test_the_group_page_shows_the_form_each_role_may_use(group: FailureGroup) -> None:
    url = reverse("admin:media_sync_failuregroup_change", args=[group.pk])
    operator, lead = Client(), Client()
    login(operator, "olga4", "Operators")
    login(lead, "leo4", "Team leads")
    for client, shown, hidden in ((operator, "acknowledge", "resolve"), (lead, "resolve", "nothing")):
        page = client.get(url).text
        assert f'value="{shown}"' in page and f'value="{hidden}"' not in page
        assert "photo # not found at order #" in page
        assert "<td>not found</td>" in page and "not_found" not in page  # the class in the filters' words


def test_the_job_page_links_each_failed_item_to_its_group(group: FailureGroup, job: TransferJob) -> None:
    link = reverse("admin:media_sync_failuregroup_change", args=[group.pk])
    client = Client()
    login(client, "olga5", "Operators")
    page = client.get(reverse("admin:media_sync_transferjob_change", args=[job.pk])).text
    assert page.count(f'href="{link}"') == 2  # the two failed items, not the pending ones
    progress = client.get(reverse("admin:media_sync_transferjob_progress", args=[job.pk])).json()
    assert sum(f'href="{link}"' in row["html"] for row in progress["rows"]) == 2
    # Someone who may read jobs but not failure groups gets no link to a page they cannot open.
    reader = User.objects.create_user("rita", is_staff=True)
    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_transferjob"]))
    client.force_login(reader)
    assert link not in client.get(reverse("admin:media_sync_transferjob_change", args=[job.pk])).text


def test_open_failures_lists_what_is_still_open_oldest_first_with_counts(
    group: FailureGroup, job: TransferJob, leo: User
) -> None:
    newer = group_of(fail(job.items.filter(status="pending")[0], "order closed"))
    client = Client()
    client.force_login(leo)
    page = client.get(reverse("admin:media_sync_failuregroup_changelist"))
    text = page.text
    assert text.index("photo # not found at order #") < text.index("order closed")
    assert [row.pk for row in page.context["cl"].result_list] == [group.pk, newer.pk]
    (provider,) = page.context["by_provider"]
    assert (provider.label, provider.groups, provider.failed) == ("RecoveryConnect", 2, 3)
    triage_act(group=newer, action=TriageAction.RESOLVE, by=leo, reason="not_needed")
    page = client.get(reverse("admin:media_sync_failuregroup_changelist"))
    assert [row.pk for row in page.context["cl"].result_list] == [group.pk]
    every = client.get(reverse("admin:media_sync_failuregroup_changelist") + "?state=all")
    assert len(every.context["cl"].result_list) == 2


def test_the_record_timeline_shows_its_triage_events(group: FailureGroup, leo: User, olga: User) -> None:
    first = group.items.order_by("id").first()
    assert first is not None
    triage_act(group=group, action=TriageAction.NOTE, by=olga, items=[first], note="on the photo")
    triage_act(group=group, action=TriageAction.ACKNOWLEDGE, by=leo)
    client = Client()
    client.force_login(leo)
    photo = client.get(reverse("admin:media_sync_auditevent_timeline", args=["photo", first.item]))
    assert [event.action for event in photo.context["triage"]] == ["acknowledge", "note"]
    order = client.get(reverse("admin:media_sync_auditevent_timeline", args=["order", "57076503"]))
    assert len(order.context["triage"]) == 2
    other = client.get(reverse("admin:media_sync_auditevent_timeline", args=["photo", "1"]))
    assert other.context["triage"] == []


def test_triage_events_export_as_csv_with_formulas_neutralised(
    group: FailureGroup, leo: User, olga: User
) -> None:
    triage_act(group=group, action=TriageAction.NOTE, by=olga, note='=HYPERLINK("http://x")')
    client = Client()
    client.force_login(leo)
    response = client.get(reverse("admin:media_sync_failuregroup_export") + f"?group={group.pk}")
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert lines[0].startswith("timestamp,group_id,provider,operation,failure_class,pattern,job_id,item")
    assert len(lines) == 2 and "'=HYPERLINK" in lines[1] and ",olga," in lines[1]
    operator = Client()
    operator.force_login(olga)
    assert operator.get(reverse("admin:media_sync_failuregroup_export")).status_code == 403


def test_the_dashboard_counts_its_top_causes_by_the_groups_pattern(group: FailureGroup) -> None:
    """One pattern-making for both: the two failures of the group are one top cause of the dashboard."""
    today = timezone.localdate()
    (top,) = dashboard_top_failures(since=today, until=today)
    assert (top["message"], top["n"], top["failure_class"]) == (group.pattern, 2, "not_found")


# --- E-mail --------------------------------------------------------------------------------------------


def test_the_daily_summary_is_off_by_default_and_lists_what_is_still_open(
    group: FailureGroup, leo: User, settings: Any
) -> None:
    User.objects.filter(pk=leo.pk).update(email="leo@example.com")
    assert triage_summary_send() == 0 and mail.outbox == []
    settings.MEDIA_SYNC_TRIAGE_SUMMARY = True
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = "https://media-sync.example"
    assert triage_summary_send() == 1
    (message,) = mail.outbox
    assert message.to == ["leo@example.com"] and "1 failure group still open" in message.subject
    assert "photo # not found at order #" in message.body
    assert f"https://media-sync.example/admin/media_sync/failuregroup/{group.pk}/change/" in message.body


def test_a_failure_rate_alert_links_to_its_failure_groups(
    group: FailureGroup, leo: User, settings: Any
) -> None:
    User.objects.filter(pk=leo.pk).update(email="leo@example.com")
    settings.MEDIA_SYNC_ALERT_MIN_ITEMS, settings.MEDIA_SYNC_ALERT_THRESHOLD = 2, 0.2
    settings.MEDIA_SYNC_PUBLIC_BASE_URL = "https://media-sync.example"
    assert len(alerts_check()) == 1
    (message,) = mail.outbox
    assert f"https://media-sync.example/admin/media_sync/failuregroup/{group.pk}/change/" in message.body
    assert "2 failed, RecoveryConnect: photo # not found at order #" in message.body


def test_the_demo_leaves_open_failures_to_triage(rc_sim: RecoveryConnectSimulator) -> None:
    rc_sim.seed_demo()
    demo_users_reset(password="demo-password-for-tests")
    demo_orders_load()
    demo_documents_load()
    demo_open_failures()
    groups = FailureGroup.objects.filter(status__in=STILL_OPEN)
    assert groups.count() >= 2
    assert groups.filter(status=GroupStatus.OPEN).exists()
    owned = groups.get(status=GroupStatus.ACKNOWLEDGED)
    assert owned.owner is not None and owned.owner.username == "operator"
    assert owned.items.filter(status=ItemStatus.FAILED, destination="9100003").count() == 2
    # The demo started again on the same database: its triage is already there, and is not repeated.
    events = TriageEvent.objects.count()
    demo_open_failures()
    assert TriageEvent.objects.count() == events
    assert groups.get(status=GroupStatus.ACKNOWLEDGED).owner == owned.owner


def test_nobody_deletes_a_triage_event_or_a_group_through_the_admin(group: FailureGroup, olga: User) -> None:
    triage_act(group=group, action=TriageAction.NOTE, by=olga, note="kept")
    root = Client()
    root.force_login(User.objects.create_superuser("root2", password="x"))
    assert not admin.site.is_registered(TriageEvent)  # no page lists, changes or deletes one
    delete = reverse("admin:media_sync_failuregroup_delete", args=[group.pk])
    assert root.get(delete).status_code == 403
    assert root.post(delete, {"post": "yes"}).status_code == 403
    assert TriageEvent.objects.count() == 1 and FailureGroup.objects.filter(pk=group.pk).exists()
