"""Transfers per second through real qcluster workers, against the limit min(W / L, R).

The RecoveryConnect simulator runs in its own process with latency L on every call and, when R is set,
its own rate limit of R requests per second (429 past it). A qcluster of W workers (Redis broker,
PostgreSQL in its own database, media_sync_bench_tp) works one job of 2,000 per-photo transfers shared
by all W workers; the app is configured with the same rate R, so it should never see a 429. The
transfer-all call (one call per order) moves the same 2,000 photos for comparison.

    .venv/bin/python bench/throughput.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit  # noqa: E402

URL = os.environ.get("BENCH_TP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/media_sync_bench_tp")
REDIS = os.environ.get("BENCH_TP_REDIS_URL", "redis://127.0.0.1:6379/9")
ORDERS, PHOTOS_PER_ORDER = int(os.environ.get("BENCH_TP_ORDERS", "20")), 100  # 2,000 photos
WORKERS = 8
FIRST_ORDER, FIRST_PHOTO = 57000000, 180000000
BASE_ENV = {
    "DATABASE_URL": URL,
    "REDIS_URL": REDIS,
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "1",
    "DJANGO_LOG_LEVEL": "WARNING",
    "MEDIA_SYNC_STALE_AFTER": "900",
    # One job shared by every worker (read where the job is enqueued, in this process).
    "MEDIA_SYNC_TASKS_PER_JOB": str(WORKERS),
}
os.environ.update(BASE_ENV)
SERVER = """
import sys, time
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import Faults, serve
orders, per_order, first_order, first_photo, latency, rate = sys.argv[1:7]
sim = RecoveryConnectSimulator()
for n in range(int(orders)):
    first = int(first_photo) + n * int(per_order)
    photos = [{"id": first + k, "name": f"{k}.jpg"} for k in range(int(per_order))]
    sim.add_order(int(first_order) + n, 9100000 + n, photos=photos)
    sim.add_order(int(first_order) + 50000 + n, 9200000 + n)
sim.faults = Faults(latency_s=float(latency), rate_limit_per_s=float(rate))
server = serve(sim)
print(server.url, flush=True)
time.sleep(3600)
"""


def admin_db_command(sql: str) -> None:
    admin_url = URL.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin_url, "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def sim_log(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/_sim/log", timeout=30) as answer:  # noqa: S310 - our simulator
        return list(json.load(answer)["requests"])


def scenario(
    *, name: str, workers: int, latency: float, rate: float, transfer_all: bool = False
) -> dict[str, float]:
    """One run: a fresh simulator and qcluster, one job of 2,000 photos; seconds from enqueue to done."""
    from django.db import connections

    from media_sync.models import (
        ItemStatus,
        JobStatus,
        RecoveryConnectOrder,
        RecoveryConnectPhoto,
        TransferJob,
    )
    from media_sync.services.jobs import job_enqueue
    from media_sync.services.recoveryconnect import rc_transfer_all_start, rc_transfer_photos_start

    args = [str(v) for v in (ORDERS, PHOTOS_PER_ORDER, FIRST_ORDER, FIRST_PHOTO, latency, rate)]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    sim_url = server.stdout.readline().strip()
    env = {
        **os.environ,
        "Q_WORKERS": str(workers),
        "RECOVERYCONNECT_BASE_URL": sim_url,
        "RECOVERYCONNECT_USERNAME": "demo",
        "RECOVERYCONNECT_PASSWORD": "demo-password",
        "RECOVERYCONNECT_RATE_LIMIT": str(rate),
        "RECOVERYCONNECT_MAX_CONCURRENCY": "0",
    }
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        orders = list(
            RecoveryConnectOrder.objects.filter(order_id__lt=FIRST_ORDER + 50000).order_by("order_id")
        )
        time.sleep(4)  # the cluster's workers are up and idle
        started = time.perf_counter()
        if transfer_all:
            jobs = [
                rc_transfer_all_start(
                    order=order, destinations=[9200000 + n], triggered_by="bench", enqueue=False
                )
                for n, order in enumerate(orders)
            ]
            for job in jobs:
                job_enqueue(job_id=job.pk)
        else:
            photos = list(RecoveryConnectPhoto.objects.filter(order__in=orders).select_related("order"))
            jobs = [rc_transfer_photos_start(photos=photos, destinations=[9200000], triggered_by="bench")]
        ids = [job.pk for job in jobs]
        deadline = time.monotonic() + 400
        while TransferJob.objects.filter(pk__in=ids).exclude(status=JobStatus.SUCCEEDED).exists():
            if cluster.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name}: the cluster stopped or the job did not finish in time")
            failed = TransferJob.objects.filter(
                pk__in=ids, status__in=(JobStatus.FAILED, JobStatus.PARTLY_FAILED)
            )
            if failed.exists():
                raise SystemExit(f"{name}: items failed: {failed.first()}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        log = sim_log(sim_url)
        from media_sync.models import TransferItem

        items = TransferItem.objects.filter(job_id__in=ids, status=ItemStatus.SUCCEEDED).count()
        calls = sum(1 for entry in log if "auth" not in str(entry["path"]))
        return {
            "seconds": elapsed,
            "items": items,
            "calls": calls,
            "429s": sum(1 for entry in log if entry["status"] == 429),
        }
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
        server.terminate()
        server.wait(timeout=10)
        connections.close_all()


def seed() -> None:
    from media_sync.models import RecoveryConnectOrder, RecoveryConnectPhoto

    for n in range(ORDERS):
        order = RecoveryConnectOrder.objects.create(order_id=FIRST_ORDER + n, client_order_id=9100000 + n)
        RecoveryConnectPhoto.objects.bulk_create(
            RecoveryConnectPhoto(
                order=order, photo_id=FIRST_PHOTO + n * PHOTOS_PER_ORDER + k, name=f"{k}.jpg"
            )
            for k in range(PHOTOS_PER_ORDER)
        )


def reset_state() -> None:
    """Each scenario starts with an empty queue and no shared-limit state (its simulator is new)."""
    import redis

    from media_sync.models import ProviderLease, ProviderPace

    ProviderPace.objects.all().delete()
    ProviderLease.objects.all().delete()
    redis.Redis.from_url(REDIS).flushdb()


def main() -> None:
    database = urlsplit(URL).path.lstrip("/")
    admin_db_command(f"DROP DATABASE IF EXISTS {database}")
    admin_db_command(f"CREATE DATABASE {database}")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        seed()
        # Latency of a photo call at a real provider is a few hundred ms; W above the cores is normal,
        # as workers mostly wait on the provider.
        runs = [
            ("per-photo, no rate limit", WORKERS, 0.2, 0.0, False),
            ("per-photo, rate limited", WORKERS, 0.2, 20.0, False),
            ("transfer-all, same photos", WORKERS, 0.2, 0.0, True),
        ]
        results = {}
        for name, workers, latency, rate, transfer_all in runs:
            reset_state()
            result = scenario(
                name=name, workers=workers, latency=latency, rate=rate, transfer_all=transfer_all
            )
            results[name] = result
            limit = min(workers / latency, rate) if rate else workers / latency
            per_s = result["items"] / result["seconds"]
            print(
                f"{name}: W={workers} L={latency * 1000:.0f} ms R={rate or 'none'}: "
                f"{result['items']:.0f} items "
                f"in {result['seconds']:.1f} s = {per_s:.1f}/s, {result['calls']:.0f} calls, "
                f"{result['429s']:.0f} answered 429",
                flush=True,
            )
            if transfer_all:
                per_photo = results["per-photo, no rate limit"]
                speedup = per_s / (per_photo["items"] / per_photo["seconds"])
                emit(
                    part="throughput",
                    measure=f"transfer-all: {ORDERS} calls for {result['items']:.0f} photos, W={workers}",
                    ours=f"{per_s:.0f} photos/s",
                    against=f"{per_photo['items'] / per_photo['seconds']:.1f}/s per-photo",
                    ratio=f"{speedup:.0f}x per-photo",
                    target="faster than per-photo",
                    met=speedup > 1,
                )
                continue
            ratio = per_s / limit
            met = ratio >= 0.9 and (result["429s"] == 0 or not rate)
            emit(
                part="throughput",
                measure=f"{name}: {result['items']:,.0f} transfers, W={workers}, L={latency * 1000:.0f} ms, "
                f"R={rate or 'none'}",
                ours=f"{per_s:.1f}/s, {result['429s']:.0f} x 429",
                against=f"limit {limit:.0f}/s",
                ratio=f"{ratio:.2f} of limit",
                target=">= 0.9 of limit" + (", no 429" if rate else ""),
                met=met,
            )
    finally:
        from django.db import connections

        connections.close_all()
        admin_db_command(f"DROP DATABASE IF EXISTS {database}")


if __name__ == "__main__":
    main()
