"""Every operation the audit can record is one of `Operation` (the Operation filter's fixed choices, each
with its words): a new one spelled only at its call site would never be filterable."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from integrations.corrigopro.webhooks import EventType
from media_sync.models import JOB_TITLES, AuditEvent, Operation, Provider, TransferJob

ROOT = Path(__file__).resolve().parents[2]


def spelled_operations() -> set[str]:
    """Every provider client's `Call`: the names the clients record (no other spelling exists, as
    test_operations_and_providers_are_never_spelled_as_strings checks)."""
    found: set[str] = set()
    for path in ROOT.glob("integrations/*/calls.py"):
        found |= {
            str(call) for call in importlib.import_module(f"integrations.{path.parent.name}.calls").Call
        }
    return found


def test_every_operation_the_code_spells_is_in_the_audit_vocabulary() -> None:
    spelled = spelled_operations()
    assert {"auth", "list_photos", "download_file", "pendingImages"} <= spelled  # it finds every Call
    assert sorted(spelled - set(Operation.values)) == []


def test_every_job_operation_and_webhook_event_is_in_the_audit_vocabulary() -> None:
    assert set(JOB_TITLES) <= set(Operation)
    assert {f"webhook_{event}" for event in EventType} <= set(Operation.values)
    assert all(operation.label and operation.label != operation.value for operation in Operation)


def test_the_audit_and_jobs_take_their_operations_from_the_vocabulary() -> None:
    assert list(AuditEvent._meta.get_field("operation").choices or ()) == Operation.choices
    assert list(TransferJob._meta.get_field("operation").choices or ()) == list(JOB_TITLES.items())
    job = TransferJob(operation=Operation.CP_SYNC)
    assert job.get_operation_display() == "Refresh CorrigoPro attachments"


def test_operations_and_providers_are_never_spelled_as_strings() -> None:
    """The app and the clients name them through the enums only: a literal is a name no test checks."""
    literal = re.compile(r"""\b(?:operation|provider)\s*(?:=|==|:\s*str\s*=)\s*["'](\w+)["']""")
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in [*ROOT.glob("integrations/*/client.py"), *ROOT.glob("media_sync/**/*.py")]
        if "migrations" not in path.parts
        for name in literal.findall(path.read_text())
    }
    assert sorted(found) == []


def test_the_app_and_the_clients_name_the_same_providers() -> None:
    clients = {
        importlib.import_module(f"integrations.{path.parent.name}.client").PROVIDER
        for path in ROOT.glob("integrations/*/client.py")
    }
    assert clients == set(Provider.values)


@pytest.mark.parametrize("name", [n for n, app in get_commands().items() if app == "media_sync"])
def test_every_command_refuses_under_an_audit_operation(name: str) -> None:
    command = load_command_class("media_sync", name)
    operation = getattr(command, "operation", None)
    assert operation is None or operation in Operation.values
