"""/healthz: what a load balancer and an operator's monitoring read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from media_sync.health import WORKERS_SEEN_KEY

pytestmark = pytest.mark.django_db


def test_health_answers_200_naming_each_check_when_everything_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
    assert "workers_last_seen" in body


def test_health_answers_503_naming_media_storage_when_it_cannot_be_written(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"
    settings.STORAGES = {**settings.STORAGES}  # Django builds the storage again from the new root
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"
    assert "cannot be written" in body["checks"]["storage"]


@pytest.mark.parametrize(("seconds_ago", "status"), [(None, 503), (120, 503), (20, 200)])
def test_health_with_workers_asks_for_a_qcluster_seen_within_a_minute(
    client: Client, seconds_ago: int | None, status: int
) -> None:
    cache.delete(WORKERS_SEEN_KEY)
    if seconds_ago is not None:
        cache.set(WORKERS_SEEN_KEY, timezone.now() - timedelta(seconds=seconds_ago), timeout=None)
    assert client.get("/healthz").status_code == 200  # without ?workers=1 the workers are not asked
    response = client.get("/healthz?workers=1")
    assert response.status_code == status
    if status == 503:
        assert response.json()["checks"]["workers"] == "no qcluster seen within a minute"
    else:
        assert response.json()["workers_last_seen"] is not None


def test_health_is_one_cheap_round_trip_per_check(client: Client, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(4):  # SELECT 1, the cache read of the last heartbeat, the session
        assert client.get("/healthz").status_code == 200
