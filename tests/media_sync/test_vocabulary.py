"""Every operation the audit can record is one of the audit's operations (the Operation filter's fixed
choices, each with its words): a new one spelled only at its call site would never be filterable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from integrations.corrigopro.webhooks import EventType
from media_sync.models import AUDIT_OPERATION_LABELS, AUDIT_OPERATIONS, OPERATION_LABELS

ROOT = Path(__file__).resolve().parents[2]


def spelled_operations() -> set[str]:
    """`operation="…"` in the provider clients and the app: every literal the code writes."""
    found: set[str] = set()
    for path in [*ROOT.glob("integrations/*/client.py"), *ROOT.glob("media_sync/**/*.py")]:
        found |= set(re.findall(r'\boperation="([A-Za-z_]+)"', path.read_text()))
    return found


def test_every_operation_the_code_spells_is_in_the_audit_vocabulary() -> None:
    spelled = spelled_operations()
    assert {"auth", "list_photos", "fetch_photo", "login_lockout", "su_photo_add"} <= spelled  # it finds them
    assert sorted(spelled - set(AUDIT_OPERATIONS)) == []


def test_every_job_operation_and_webhook_event_is_in_the_audit_vocabulary() -> None:
    assert set(OPERATION_LABELS) <= set(AUDIT_OPERATIONS)
    assert {f"webhook_{event}" for event in EventType} <= set(AUDIT_OPERATIONS)
    assert all(AUDIT_OPERATION_LABELS[operation] for operation in AUDIT_OPERATIONS)


@pytest.mark.parametrize("name", [n for n, app in get_commands().items() if app == "media_sync"])
def test_every_command_refuses_under_an_audit_operation(name: str) -> None:
    command = load_command_class("media_sync", name)
    operation = getattr(command, "operation", None)
    assert operation is None or operation in AUDIT_OPERATIONS
