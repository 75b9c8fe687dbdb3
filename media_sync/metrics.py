"""Prometheus metrics, summed over every process.

Each audit row is counted as it is written (items finished, provider latency, 429s, webhook deliveries),
so the metrics and the audit never disagree about what happened. With `PROMETHEUS_MULTIPROC_DIR` set (a
directory gunicorn's workers and the qclusters share), every process writes its counts there and `/metrics`
sums them; unset (one process: the demo, the tests), the process's own registry is served.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.db.models import Count
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from media_sync.models import AuditEvent, AuditKind, ItemStatus, TransferItem

ITEMS_FINISHED = Counter(
    "media_sync_items_finished",
    "Item results written to the audit.",
    ["provider", "operation", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "media_sync_provider_request_seconds",
    "Time each HTTP exchange with a provider took.",
    ["provider", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PROVIDER_THROTTLED = Counter(
    "media_sync_provider_throttled", "Provider answers of 429 Too Many Requests.", ["provider"]
)
LIMIT_WAIT = Counter(
    "media_sync_rate_limit_wait_seconds",
    "Time spent waiting for the shared provider rate limit and concurrency cap.",
    ["provider"],
)
WEBHOOKS = Counter("media_sync_webhook_deliveries", "Webhook deliveries received.", ["provider", "outcome"])
ALERTS = Counter("media_sync_alerts_sent", "Failure-rate alert emails sent.", ["provider"])


def metrics_observe_audit(event: AuditEvent) -> None:
    """Called for every audit row inserted (a post_save receiver, see apps.py)."""
    if event.kind == AuditKind.ITEM:
        ITEMS_FINISHED.labels(event.provider, event.operation, event.outcome).inc()
    elif event.kind == AuditKind.HTTP:
        if event.duration_ms is not None:
            PROVIDER_LATENCY.labels(event.provider, event.operation).observe(event.duration_ms / 1000)
        if event.http_status == 429:
            PROVIDER_THROTTLED.labels(event.provider).inc()
    elif event.kind == AuditKind.WEBHOOK:
        WEBHOOKS.labels(event.provider, event.outcome).inc()


class OpenItems(Collector):
    """Items not yet finished, by state: read from the database at scrape time (one GROUP BY), so every
    process's work is counted once."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "media_sync_open_items", "Items not yet finished, by state.", labels=["state"]
        )
        open_states = [ItemStatus.PENDING, ItemStatus.IN_PROGRESS, ItemStatus.WAITING]
        counts = dict(
            TransferItem.objects.filter(status__in=open_states)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for state in open_states:
            gauge.add_metric([state.value], counts.get(state, 0))
        yield gauge


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (ITEMS_FINISHED, PROVIDER_LATENCY, PROVIDER_THROTTLED, LIMIT_WAIT, WEBHOOKS, ALERTS):
            registry.register(collector)
    registry.register(OpenItems())
    return bytes(generate_latest(registry))
