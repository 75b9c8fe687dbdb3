"""Test set-up: no test reaches the internet; the simulators run on loopback over real HTTP."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test.signals import setting_changed
from django_q.conf import Conf

from integrations.corrigopro import client as cp_client_module
from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.recoveryconnect import client as rc_client_module
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import RunningServer, serve
from integrations.suapi.simulator import SuApiSimulator
from media_sync.db import set_audit_locked
from tests import runtime_role
from tests.runtime_role import (  # noqa: F401  (PostgreSQL as the runtime role: see that module)
    _owner_empties_the_tables,
    django_db_setup,
    pytest_runtest_setup,
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _refuse_non_loopback(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach the network (tried {host})")


def _connect(sock: socket.socket, address: Any) -> None:
    _refuse_non_loopback(sock, address)
    return _real_connect(sock, address)


def _connect_ex(sock: socket.socket, address: Any) -> int:
    _refuse_non_loopback(sock, address)
    return _real_connect_ex(sock, address)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", runtime_role.MARKER)
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]


@pytest.fixture(scope="session", autouse=True)
def _plain_http() -> None:
    # Before any live server builds its middleware: tests talk plain http on loopback.
    django_settings.SECURE_SSL_REDIRECT = False
    django_settings.SESSION_COOKIE_SECURE = False
    django_settings.CSRF_COOKIE_SECURE = False
    # No test runs collectstatic: pages name the plain files, which the finders serve.
    django_settings.STORAGES = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A test module's import may already have built the storages (the manifest one): drop them, as a
    # settings override would, or the first tests ask the manifest for admin/css/base.css and fail.
    setting_changed.send(sender=None, setting="STORAGES", value=django_settings.STORAGES, enter=True)


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_SYNC_HTTP_TIMEOUT = (2.0, 2.0)
    settings.MEDIA_SYNC_MAX_ATTEMPTS = 3
    settings.MEDIA_SYNC_BACKOFF_BASE = 0.01
    settings.MEDIA_SYNC_BACKOFF_MAX = 0.05
    # The shared limits stay on (every request goes through them), at a pace no test notices.
    providers = ("recoveryconnect", "corrigopro", "suapi")
    settings.MEDIA_SYNC_PROVIDER_LIMITS = {name: {"RATE": 1000.0, "CONCURRENCY": 4} for name in providers}
    # Tasks run in-process where a test enqueues them; test_broker.py exercises the real broker.
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(scope="session")
def rc_server() -> Iterator[tuple[RecoveryConnectSimulator, RunningServer]]:
    simulator = RecoveryConnectSimulator()
    with serve(simulator) as server:
        yield simulator, server


@pytest.fixture
def rc_sim(
    rc_server: tuple[RecoveryConnectSimulator, RunningServer], settings: Any
) -> RecoveryConnectSimulator:
    """A fresh RecoveryConnect simulator the app is configured to call."""
    simulator, server = rc_server
    simulator.reset()
    rc_client_module.TOKENS.clear()
    settings.RECOVERYCONNECT = {"BASE_URL": server.url, "USERNAME": "demo", "PASSWORD": "demo-password"}
    return simulator


@pytest.fixture(scope="session")
def cp_server() -> Iterator[tuple[CorrigoProSimulator, RunningServer]]:
    simulator = CorrigoProSimulator(mount_prefix="")
    with serve(simulator) as server:
        yield simulator, server


@pytest.fixture
def cp_sim(
    cp_server: tuple[CorrigoProSimulator, RunningServer], settings: Any, tmp_path: Path
) -> CorrigoProSimulator:
    """A fresh CorrigoPro simulator the app is configured to call, its certificate pinned in settings."""
    simulator, server = cp_server
    simulator.reset()
    cp_client_module.TOKENS.clear()
    settings.CORRIGOPRO = {
        "BASE_URL": server.url,
        "TOKEN_URL": f"{server.url}/oauth/token",
        "CLIENT_ID": "demo-client",
        "CLIENT_SECRET": "demo-secret",
        "WEBHOOK_CERTIFICATE": str(simulator.save_certificate(tmp_path / "corrigopro.pem")),
        "WEBHOOK_AUDIENCE": "CorrigoProDirect",
    }
    return simulator


@pytest.fixture
def live_app(live_server: Any) -> Iterator[Any]:
    """The app served on a loopback port, for callers that must reach it over HTTP (webhooks, a browser).
    Afterwards the test database is emptied, audit rows included (see media_sync/db.py); the next test
    locks the audit again."""
    yield live_server
    set_audit_locked(False)


@pytest.fixture(autouse=True)
def _audit_locked() -> None:
    set_audit_locked(True)


@pytest.fixture(scope="session")
def su_server() -> Iterator[tuple[SuApiSimulator, RunningServer]]:
    simulator = SuApiSimulator()
    with serve(simulator) as server:
        yield simulator, server


@pytest.fixture
def su_sim(su_server: tuple[SuApiSimulator, RunningServer], settings: Any) -> SuApiSimulator:
    """A fresh SU API simulator the app is configured to call."""
    simulator, server = su_server
    simulator.reset()
    settings.SUAPI = {"BASE_URL": server.url, "APP_ID": "demo-app", "API_KEY": "demo-key"}
    return simulator
