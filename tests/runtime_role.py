"""The PostgreSQL tests as the runtime role (README, "Database roles"), when MEDIA_SYNC_TEST_DB_ROLE names
one that exists (CI's PostgreSQL pass creates it).

pytest-django creates and migrates the test database as the owner (DATABASE_URL's user); the grants are
then given as a migrate gives them, and every test connects as the runtime role: the app's work, the
workers the crash tests start (their URL is built from the same settings) and the live servers. Two
things stay with the owner, because the runtime role may not do them to the audit: emptying the tables
after a test whose transactions committed (TRUNCATE), and tests marked `db_owner` (they edit the audit
behind the app's back, to show the trigger refuses the owner too). Dropping the database at the end is
the owner's as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from media_sync.db import db_grant_runtime_role

ROLE = os.environ.get("MEDIA_SYNC_TEST_DB_ROLE", "")
MARKER = "db_owner: runs connected as the database's owner even when the tests run as the runtime role"
_owner: dict[str, str] = {}
# Whether the test being set up is marked db_owner: the session's first database test sets up
# django_db_setup (below) inside its own set-up, after pytest_runtest_setup has already run for it.
_current: dict[str, bool] = {}


def _connect_as(user: str) -> None:
    # Every connection shares these settings; one left open elsewhere is closed when it is next used
    # here (close_all reaches this thread's and this context's).
    connections.close_all()
    connection.settings_dict["USER"] = user


def _commits(item: pytest.Item) -> bool:
    """Whether the test's transactions commit, so that its database is emptied afterwards."""
    marker = item.get_closest_marker("django_db")
    transactional = bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback"))
    )
    return transactional or bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's set-up (the owner creates and migrates), then the grants to the runtime role."""
    if not ROLE or connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE])
            if cursor.fetchone() is None:
                raise pytest.UsageError(f"MEDIA_SYNC_TEST_DB_ROLE: no role {ROLE!r} on this server")
        db_grant_runtime_role(role=ROLE)
    _owner["user"] = connection.settings_dict["USER"]
    _connect_as(_role_for_current())
    yield
    _connect_as(_owner.pop("user"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _current["db_owner"] = item.get_closest_marker("db_owner") is not None
    if "user" in _owner:
        _connect_as(_role_for_current())
    yield


def _role_for_current() -> str:
    return _owner["user"] if _current.get("db_owner") else ROLE


@pytest.fixture(autouse=True)
def _owner_empties_the_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test whose transactions committed, the owner empties the tables (TRUNCATE, the audit's
    included). Set up after pytest-django's database fixture, so torn down before it flushes, and after
    every fixture the test asked for (a browser's own connections are closed by then)."""
    if "user" not in _owner or not _commits(request.node):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    _connect_as(_owner["user"])
