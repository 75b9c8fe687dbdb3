"""Transfers per second through real qcluster workers, beside a bare client doing the same PUTs.

For each W (provider calls at once) and latency L, the RecoveryConnect simulator runs in its own process
with latency L on every call. First a bare client (W threads, one `requests.Session` each, no database)
sends N per-photo PUTs (about 8 s of the limit W / L); then a qcluster (Redis broker, PostgreSQL in its
own database, media_sync_bench_tp) works one job of the same N transfers against the same simulator, with W
calls at once as processes x threads. The ratio app / bare is the app's own cost. For each app run: SQL
statements per item (counted in the cluster's processes, bench-only: MEDIA_SYNC_BENCH_SQL_COUNT_DIR),
commits per item (PostgreSQL's xact_commit for the bench database) and CPU seconds per item of the
cluster's process tree (/proc). Then a rate-limited run (the simulator answers 429 past R; the app is given
the same R and must see none) and the transfer-all call for comparison.

    .venv/bin/python bench/throughput.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit  # noqa: E402
from bench.throughput_runs import (  # noqa: E402
    DESTINATION,
    FIRST_ORDER,
    FIRST_PHOTO,
    ORDERS,
    PHOTOS_PER_ORDER,
    Cluster,
    Simulator,
    bare_run,
    cluster_stop,
    database_commits,
    tree_cpu_seconds,
)

URL = os.environ.get("BENCH_TP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/media_sync_bench_tp")
REDIS = os.environ.get("BENCH_TP_REDIS_URL", "redis://127.0.0.1:6379/9")
SQL_COUNTS = tempfile.mkdtemp(prefix="media-sync-bench-sql-")
# Processes in a cluster: the machine's cores; W calls at once are processes x threads.
PROCESSES = int(os.environ.get("BENCH_TP_PROCESSES", "2"))
BASE_ENV = {
    "DATABASE_URL": URL,
    "REDIS_URL": REDIS,
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "1",
    "DJANGO_LOG_LEVEL": "WARNING",
    "MEDIA_SYNC_STALE_AFTER": "900",
    "MEDIA_SYNC_BENCH_SQL_COUNT_DIR": SQL_COUNTS,
}
os.environ.update(BASE_ENV)
# (W, L): the grid; the first of them is the old table's row.
GRID = [(8, 0.2), (8, 0.05), (32, 0.2), (32, 0.05), (64, 0.2), (64, 0.05)]
if os.environ.get("BENCH_TP_GRID"):  # "32:200,32:50": some pairs only (W:L in ms), while working
    GRID = [
        (int(w), int(ms) / 1000)
        for w, ms in (pair.split(":") for pair in os.environ["BENCH_TP_GRID"].split(","))
    ]
TARGETS = {(32, 0.2): 0.95, (32, 0.05): 0.9}
RUN_S = 8


def admin_db_command(sql: str) -> None:
    admin_url = URL.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin_url, "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def shape(workers: int) -> Cluster:
    env = {**os.environ, "RECOVERYCONNECT_USERNAME": "demo", "RECOVERYCONNECT_PASSWORD": "demo-password"}
    processes = min(PROCESSES, workers)
    if os.environ.get("BENCH_TP_PROCESS_PER_CALL"):  # the old shape: one process per call
        processes = workers
    return Cluster(env=env, processes=processes, threads=max(1, workers // processes))


def app_run(
    sim: Simulator, *, workers: int, rate: float, items: int = 2000, transfer_all: bool = False
) -> dict[str, float]:
    """One job of `items` photos through a fresh qcluster: seconds from enqueue to done, and its costs."""
    from django.conf import settings
    from django.db import connections, transaction

    from media_sync.models import (
        ItemStatus,
        JobStatus,
        RecoveryConnectOrder,
        RecoveryConnectPhoto,
        TransferItem,
        TransferJob,
    )
    from media_sync.services.jobs import job_enqueue
    from media_sync.services.recoveryconnect import rc_transfer_all_start, rc_transfer_photos_start
    from media_sync.sqlcount import sql_count_read

    cluster_shape = shape(workers)
    cluster_shape.env.update(
        {
            "RECOVERYCONNECT_BASE_URL": sim.url,
            "RECOVERYCONNECT_RATE_LIMIT": str(rate),
            "RECOVERYCONNECT_MAX_CONCURRENCY": "0",
        }
    )
    # The job is enqueued here: one task per process of the cluster.
    settings.MEDIA_SYNC_TASKS_PER_JOB = cluster_shape.processes
    calls_before = len(sim.log())
    orders = list(RecoveryConnectOrder.objects.filter(order_id__lt=FIRST_ORDER + 50000).order_by("order_id"))
    # The job is made first, and the clock starts when it is enqueued: what is measured is the moving
    # of items, not making a job of them (shown apart) nor a fixed start-up that a longer run hides.
    made = time.perf_counter()
    if transfer_all:
        jobs = [
            rc_transfer_all_start(
                order=order, destinations=[DESTINATION + n], triggered_by="bench", enqueue=False
            )
            for n, order in enumerate(orders[:20])
        ]
    else:
        photos = RecoveryConnectPhoto.objects.filter(order__in=orders).select_related("order")
        jobs = [
            rc_transfer_photos_start(
                photos=list(photos.order_by("photo_id")[:items]),
                destinations=[DESTINATION],
                triggered_by="bench",
                enqueue=False,
            )
        ]
    ids, created_s = [job.pk for job in jobs], time.perf_counter() - made
    cluster = cluster_shape.start()
    try:
        time.sleep(4)  # the cluster's workers are up and idle
        connections.close_all()  # this process's statistics reach pg_stat_database before the count
        commits, statements = database_commits(URL), sql_count_read(SQL_COUNTS, exclude=os.getpid())
        cpu = tree_cpu_seconds(cluster.pid)
        started, wall = time.perf_counter(), time.time()
        for job in jobs:
            job_enqueue(job_id=job.pk, tasks=job.items.count())
        deadline = time.monotonic() + 400
        # Watched from one transaction that is rolled back: the watching adds no commit to the count
        # (each statement still sees what the workers committed: READ COMMITTED).
        with transaction.atomic():
            open_jobs = TransferJob.objects.filter(pk__in=ids).exclude(status=JobStatus.SUCCEEDED)
            while open_jobs.exists():
                if cluster.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the cluster stopped or the job did not finish in time")
                failed = open_jobs.filter(status__in=(JobStatus.FAILED, JobStatus.PARTLY_FAILED))
                if failed.exists():
                    bad = TransferItem.objects.filter(job_id__in=ids, status=ItemStatus.FAILED).first()
                    raise SystemExit(f"items failed: {bad and (bad.item, bad.failure_class, bad.message)}")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        cpu = tree_cpu_seconds(cluster.pid) - cpu
        time.sleep(2 * 0.5)  # every process has written its statement count (twice a second)
        statements = sql_count_read(SQL_COUNTS, exclude=os.getpid()) - statements
    finally:
        connections.close_all()
        cluster_stop(cluster)
    # The cluster has exited: every backend's statistics are in (the shutdown's own few included).
    commits = database_commits(URL) - commits
    log = sim.log()[calls_before:]
    items = TransferItem.objects.filter(job_id__in=ids, status=ItemStatus.SUCCEEDED).count()
    return {
        "seconds": elapsed,
        "items": items,
        "calls": sum(1 for entry in log if "auth" not in str(entry["path"])),
        "429s": sum(1 for entry in log if entry["status"] == 429),
        "statements": statements / items,
        "commits": commits / items,
        "cpu_ms": 1000 * cpu / items,
        "processes": cluster_shape.processes,
        "threads": cluster_shape.threads,
        # The fixed start: from the enqueue to the job's first request row.
        "created_s": created_s,
        "first_s": _first_request_at(ids) - wall,
    }


def _first_request_at(job_ids: list[int]) -> float:
    from django.db.models import Min

    from media_sync.models import AuditEvent

    rows = AuditEvent.objects.filter(job_id__in=job_ids, kind="request")
    return float(rows.aggregate(at=Min("timestamp"))["at"].timestamp())


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
    """Each run starts with an empty queue and no shared-limit state (its simulator is new). The
    periodic schedules are off: what is measured is the transfer, not a seal or sweep that happens to
    fall in one run and not another."""
    import redis
    from django_q.models import Schedule

    from media_sync.models import ProviderPace

    Schedule.objects.all().delete()
    ProviderPace.objects.all().delete()
    redis.Redis.from_url(REDIS).flushdb()


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def grid_run(workers: int, latency: float) -> float:
    """One (W, L) pair: the bare client, then the app; the app's items per second."""
    # About RUN_S of the limit's worth of items (at least 800): a fixed start-up weighs the same in
    # every pair, and a fast pair still runs long enough to be measured.
    items = max(800, min(ORDERS * PHOTOS_PER_ORDER, int(round(workers / latency * RUN_S, -2))))
    reset_state()
    sim = Simulator(latency=latency, rate=0)
    try:
        bare = bare_run(sim.url, workers=workers, items=items)
        app = app_run(sim, workers=workers, rate=0, items=items)
    finally:
        sim.stop()
    bare_s, app_s = bare["items"] / bare["seconds"], app["items"] / app["seconds"]
    ratio = app_s / bare_s
    print(
        f"W={workers} ({app['processes']:.0f} x {app['threads']:.0f}) L={latency * 1000:.0f} ms, "
        f"{items} items: bare {bare_s:.1f}/s ({bare['failed']:.0f} failed, "
        f"{bare['cpu_ms']:.2f} ms CPU per item), app {app_s:.1f}/s = "
        f"{ratio:.2f}; per item {app['statements']:.2f} statements, {app['commits']:.2f} commits, "
        f"{app['cpu_ms']:.2f} ms CPU; {app['calls']:.0f} calls; job made in {app['created_s']:.2f} s "
        f"(not timed), first request {app['first_s']:.2f} s after the enqueue; {load()}",
        flush=True,
    )
    target = TARGETS.get((workers, latency))
    emit(
        part="throughput",
        measure=f"per-photo, {app['items']:,.0f} transfers, W={workers} ({app['processes']:.0f} processes "
        f"x {app['threads']:.0f} calls), L={latency * 1000:.0f} ms; per item: "
        f"{app['statements']:.1f} SQL statements, {app['commits']:.2f} commits, "
        f"{app['cpu_ms']:.1f} ms CPU ({load()})",
        ours=f"{app_s:.1f}/s",
        against=f"bare client {bare_s:.1f}/s (limit {workers / latency:.0f}/s)",
        ratio=f"{ratio:.2f} of bare",
        target=f">= {target} of bare" if target else "(shown)",
        met=ratio >= target if target else True,
    )
    return app_s


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
        per_photo = {pair: grid_run(*pair) for pair in GRID}
        if os.environ.get("BENCH_TP_GRID_ONLY"):
            return

        reset_state()
        sim = Simulator(latency=0.2, rate=20.0)
        try:
            limited = app_run(sim, workers=8, rate=20.0, items=1000)
        finally:
            sim.stop()
        per_s = limited["items"] / limited["seconds"]
        print(f"rate limited: {per_s:.1f}/s, {limited['429s']:.0f} answered 429; {load()}", flush=True)
        emit(
            part="throughput",
            measure=f"per-photo, rate limited: {limited['items']:,.0f} transfers, W=8, L=200 ms, R=20/s "
            f"({load()})",
            ours=f"{per_s:.1f}/s, {limited['429s']:.0f} x 429",
            against="limit 20/s",
            ratio=f"{per_s / 20:.2f} of limit",
            target=">= 0.9 of limit, no 429",
            met=per_s / 20 >= 0.9 and limited["429s"] == 0,
        )

        reset_state()
        sim = Simulator(latency=0.2, rate=0)
        try:
            whole = app_run(sim, workers=8, rate=0, transfer_all=True)
        finally:
            sim.stop()
        per_s = whole["items"] / whole["seconds"]
        print(f"transfer-all: {per_s:.0f} photos/s in {whole['calls']:.0f} calls; {load()}", flush=True)
        emit(
            part="throughput",
            measure=f"transfer-all: {whole['calls']:.0f} calls for {whole['items']:.0f} photos, W=8, "
            "L=200 ms",
            ours=f"{per_s:.0f} photos/s",
            against=f"{per_photo.get((8, 0.2), 40):.1f}/s per-photo",
            ratio=f"{per_s / per_photo.get((8, 0.2), 40):.0f}x per-photo",
            target="faster than per-photo",
            met=per_s > per_photo.get((8, 0.2), 40),
        )
    finally:
        from django.db import connections

        connections.close_all()
        admin_db_command(f"DROP DATABASE IF EXISTS {database}")
        shutil.rmtree(SQL_COUNTS, ignore_errors=True)


if __name__ == "__main__":
    main()
