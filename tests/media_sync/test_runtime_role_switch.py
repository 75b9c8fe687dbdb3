"""The connection user each test gets when the suite runs as the runtime role (tests/runtime_role.py): a test
marked `db_owner` as the owner, any other as the runtime role, whichever test comes first in the session.
The session's first database test is set up before the switch exists; run each of these alone to see
that one too (README, "Tests")."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests.runtime_role import ROLE

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not ROLE or connection.vendor != "postgresql", reason="the runtime role: PostgreSQL with one named"
    ),
]


def connected_as() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def owner() -> str:
    # From the environment, not from the settings the switch changes.
    return urlsplit(os.environ["DATABASE_URL"]).username or ""


@pytest.mark.db_owner
def test_a_db_owner_test_is_connected_as_the_owner() -> None:
    assert owner() and owner() != ROLE
    assert connected_as() == owner()


def test_any_other_test_is_connected_as_the_runtime_role() -> None:
    assert connected_as() == ROLE
