"""What /healthz asks: can this process reach the database, the broker and media storage, and when did a
qcluster last report. Each probe is one cheap round trip, so a load balancer may ask every few seconds."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.status import Stat

WORKERS_SEEN_KEY = "media_sync:qcluster_seen"
# A running qcluster reports every few seconds; none for this long means none is running.
WORKERS_QUIET_AFTER = timedelta(minutes=1)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    if get_broker().ping() is False:
        raise ConnectionError("the broker did not answer")


def _storage() -> None:
    """S3: one HEAD request. Local files: the media folder, or the folder it will be made in, is a
    writable folder (a fresh install has no media folder until its first file)."""
    if not isinstance(default_storage, FileSystemStorage):
        default_storage.exists("healthz-probe")
        return
    folder = Path(default_storage.location)
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"media folder {default_storage.location} cannot be written")


PROBES: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "storage": _storage}


def health_probe() -> dict[str, str]:
    """Each dependency's state: "ok", or the exception's class and message (never a credential: the
    drivers name hosts, not passwords)."""
    states = {}
    for name, probe in PROBES.items():
        try:
            probe()
        except Exception as error:
            states[name] = f"{type(error).__name__}: {error}"[:200]
        else:
            states[name] = "ok"
    return states


def workers_last_seen() -> datetime | None:
    """When a qcluster last reported its status: now if one is reporting, else the last time one was."""
    try:
        clusters = Stat.get_all()
    except Exception:
        clusters = []
    if clusters:
        now = timezone.now()
        cache.set(WORKERS_SEEN_KEY, now, timeout=None)
        return now
    seen: datetime | None = cache.get(WORKERS_SEEN_KEY)
    return seen


def workers_quiet(seen: datetime | None) -> bool:
    return seen is None or timezone.now() - seen > WORKERS_QUIET_AFTER
