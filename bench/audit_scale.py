"""The audit at scale on PostgreSQL: list pages and the CSV export against COPY.

Creates its own database (media_sync_bench on the local PostgreSQL, or BENCH_DATABASE_URL), seeds N audit
rows with one INSERT ... SELECT, measures, and drops the database at the end.

    .venv/bin/python bench/audit_scale.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/media_sync_bench")
os.environ.update(
    {
        "DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
)
MB = 1024 * 1024
PSQL = "psql"
SEED = """
INSERT INTO media_sync_auditevent
    (timestamp, kind, provider, operation, subject, item, destination, outcome, provider_status, http_status,
     error_code, failure_class, message, reference, attempt, duration_ms, triggered_by, method, path,
     request_summary, response_summary)
SELECT now() - (n %% 43200) * interval '1 minute',
       (ARRAY['item', 'http'])[1 + n %% 2],
       (ARRAY['recoveryconnect', 'corrigopro', 'suapi'])[1 + n %% 3],
       (ARRAY['rc_transfer_photos', 'cp_upload', 'su_create_batch', 'transfer_photo'])[1 + n %% 4],
       'order ' || (57000000 + n %% 50000), (180000000 + n)::text, (9100000 + n %% 1000)::text,
       CASE WHEN n %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN n %% 10 = 0 THEN 'fail' ELSE 'success' END, 200, '',
       CASE WHEN n %% 10 = 0 THEN 'provider_rule' ELSE '' END,
       CASE WHEN n %% 10 = 0 THEN 'RecoveryConnect answered fail for this photo and destination' ELSE '' END,
       '', 1, 40 + n %% 200, 'olga', '', '', '', ''
FROM generate_series(1, %s) AS n
"""
COLUMNS = (
    "timestamp, provider, operation, job_id, subject, item, destination, outcome, provider_status, "
    "http_status, error_code, message, reference, attempt, duration_ms, triggered_by"
)


COPY = f"COPY (SELECT {COLUMNS} FROM media_sync_auditevent ORDER BY timestamp, id) TO STDOUT WITH CSV HEADER"


def admin_db_command(sql: str) -> None:
    parts = urlsplit(URL)
    maintenance = parts._replace(path="/postgres").geturl()
    subprocess.run(["psql", maintenance, "-q", "-c", sql], check=True, capture_output=True)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_with_peak(work: Callable[[], object]) -> tuple[float, int]:
    peak, done = [rss()], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        work()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return elapsed, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    database = urlsplit(URL).path.lstrip("/")
    admin_db_command(f"DROP DATABASE IF EXISTS {database}")
    admin_db_command(f"CREATE DATABASE {database}")
    try:
        run(args.rows)
    finally:
        from django.db import connections

        connections.close_all()
        admin_db_command(f"DROP DATABASE IF EXISTS {database}")


def run(rows: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from media_sync.models import AuditEvent
    from media_sync.reports import audit_csv_lines

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED, [rows])
        cursor.execute("ANALYZE media_sync_auditevent")
    print(f"seeded {rows:,} audit rows in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(User.objects.create_superuser("bench", password="bench-password-not-used"))
    pages = {
        "first page": {},
        "filtered page": {"provider__exact": "corrigopro", "outcome__exact": "failed"},
        "search": {"q": str(180000000 + rows // 2)},
    }
    print("\naudit list (target: under 150 ms median, constant queries)")
    print(f"{'page':>14} | {'median ms':>9} | {'queries':>7} | target")
    for name, params in pages.items():
        client.get("/admin/media_sync/auditevent/", params)  # warm up
        times, queries = [], set()
        for _ in range(7):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get("/admin/media_sync/auditevent/", params)
                times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
            queries.add(len(captured))
        median = statistics.median(times)
        verdict = "met" if median < 150 and len(queries) == 1 else "MISSED"
        print(f"{name:>14} | {median:>9.0f} | {','.join(map(str, sorted(queries))):>7} | {verdict}")

    def ours() -> None:
        for _ in audit_csv_lines(AuditEvent.objects.all()):
            pass

    ours_s, ours_peak = timed_with_peak(ours)
    copy_started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            URL,
            "-q",
            "-c",
            f"COPY (SELECT {COLUMNS} FROM media_sync_auditevent ORDER BY timestamp, id) "
            "TO STDOUT WITH CSV HEADER",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    copy_s = time.perf_counter() - copy_started
    print(f"\nCSV export of {rows:,} rows (target: at most 2x COPY, peak memory under 150 MB)")
    print(
        f"  ours {ours_s:.1f} s, COPY {copy_s:.1f} s, ratio {ours_s / copy_s:.2f}x; "
        f"peak RSS of this process {ours_peak / MB:.0f} MB"
    )


if __name__ == "__main__":
    main()
