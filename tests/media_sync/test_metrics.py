"""/metrics: Prometheus text about what the audit records, only with the bearer token, summed over
processes when they share PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults
from tests.media_sync.factories import run_command

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def token(settings: Any) -> str:
    settings.MEDIA_SYNC_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` carrying these labels (0 while there is none)."""
    total = 0.0
    for sample_labels, number in re.findall(rf"^{re.escape(name)}{{(.*)}} (\S+)$", text, re.MULTILINE):
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample_labels))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            total += float(number)
    return total


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"]
)
def test_metrics_refuse_a_caller_without_the_token(
    client: Client, token: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "media_sync_" not in response.content.decode()


def test_metrics_answer_nobody_while_no_token_is_set(client: Client, settings: Any) -> None:
    settings.MEDIA_SYNC_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_a_synced_order_counts_its_item_its_exchanges_and_the_wait_for_the_limit(
    client: Client, token: str, rc_sim: RecoveryConnectSimulator
) -> None:
    item = ("media_sync_items_finished_total", {"provider": "recoveryconnect", "outcome": "succeeded"})
    latency = ("media_sync_provider_request_seconds_count", {"provider": "recoveryconnect"})
    waited = ("media_sync_rate_limit_wait_seconds_total", {"provider": "recoveryconnect"})
    before = scrape(client)
    rc_sim.add_order(57076600, 9100600, photos=[{"id": 1, "name": "a.jpg"}])
    assert run_command("rc_sync_photos", "--order", "57076600", "--sync")[0] == 0
    after = scrape(client)
    assert value(after, item[0], **item[1]) == value(before, item[0], **item[1]) + 1
    assert value(after, latency[0], **latency[1]) >= value(before, latency[0], **latency[1]) + 1
    assert value(after, waited[0], **waited[1]) > value(before, waited[0], **waited[1])
    assert value(after, "media_sync_open_items", state="pending") == 0


def test_a_429_from_the_provider_is_counted(
    client: Client, token: str, rc_sim: RecoveryConnectSimulator
) -> None:
    throttled = "media_sync_provider_throttled_total"
    before = value(scrape(client), throttled, provider="recoveryconnect")
    rc_sim.add_order(57076601, 9100601, photos=[{"id": 2, "name": "b.jpg"}])
    rc_sim.faults = Faults(rate_limit_burst=1, retry_after_s=0)
    assert run_command("rc_sync_photos", "--order", "57076601", "--sync")[0] == 0  # retried after the 429
    assert value(scrape(client), throttled, provider="recoveryconnect") == before + 1


def test_processes_sharing_the_multiprocess_directory_are_summed(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))},
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_DEBUG": "1",
    }
    (tmp_path / "metrics").mkdir()

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "-v0")
    alert = "from media_sync.metrics import ALERTS; ALERTS.labels('suapi').inc()"
    manage("shell", "--no-imports", "-c", alert)
    manage("shell", "--no-imports", "-c", alert)
    served = manage(
        "shell", "--no-imports", "-c", "from media_sync.metrics import *; print(metrics_text().decode())"
    )
    assert value(served, "media_sync_alerts_sent_total", provider="suapi") == 2.0
