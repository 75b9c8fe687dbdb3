"""Roles and schedules are declared in code and put right on every migrate: a group changed by hand, or
a schedule deleted, is back after the next `migrate`."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_q.models import Schedule

from media_sync.roles import ROLES
from media_sync.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def codenames(name: str) -> set[str]:
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_each_role_holds_exactly_its_declared_permissions() -> None:
    for name, declared in ROLES.items():
        assert codenames(name) == set(declared)
    assert "run_jobs" in ROLES["Operators"] and "run_jobs" not in ROLES["Team leads"]
    assert "export_auditevent" in ROLES["Team leads"] and "export_auditevent" not in ROLES["Operators"]


def test_both_roles_may_read_every_model_the_admin_shows() -> None:
    """A model shown on an admin page (registered, or an inline of one) that a role may not view is
    silently left out of that page for the role: an order page without its recoveries."""
    shown = set()
    for model, model_admin in admin.site._registry.items():
        shown.add(model)
        shown.update(inline.model for inline in model_admin.inlines)
    ours = {model._meta.model_name for model in shown if model._meta.app_label == "media_sync"}
    assert "recoveryconnectrecovery" in ours
    for role in ROLES.values():
        assert {f"view_{name}" for name in ours} - set(role) == set()


def test_migrate_puts_a_changed_role_and_a_deleted_schedule_right() -> None:
    Group.objects.get(name="Team leads").permissions.clear()
    Schedule.objects.filter(name="media-sync: failure-rate alerts").delete()
    Schedule.objects.filter(name="media-sync: sweep stale jobs").update(minutes=60)
    call_command("migrate", verbosity=0)  # nothing to migrate: post_migrate still runs
    assert codenames("Team leads") == set(ROLES["Team leads"])
    for name, declared in SCHEDULES.items():
        schedule = Schedule.objects.get(name=name)
        assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
            declared["func"],
            declared["schedule_type"],
            -1,
        )
        assert schedule.minutes == declared.get("minutes", schedule.minutes)
