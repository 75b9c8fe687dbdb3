"""The audit at scale on PostgreSQL: the admin list pages and the dashboard, and the CSV export (admin view
and `export_audit`) against psql's COPY and against django-import-export, at 100,000 and then 10,000,000
rows.

Creates its own database (media_sync_bench on the local PostgreSQL, or BENCH_DATABASE_URL), seeds the
smallest size with one INSERT ... SELECT, grows it to each next size with another (only the missing rows;
bench/audit_seed.py: the indexes are built again after each, not row by row), measures, and drops the
database at the end, after a failure or an interrupt as well.

    .venv/bin/python bench/audit_scale.py                        # 100k, then 10M
    .venv/bin/python bench/audit_scale.py --rows 100000          # one size (also 100k, 1m, 1_000_000)
    .venv/bin/python bench/audit_scale.py --baseline-rows 1m     # django-import-export at 1M as well
                                                                 # (about 4 more minutes and 1.5 GB)
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/media_sync_bench_a \
        .venv/bin/python bench/audit_scale.py                    # its own database, beside another run

How each figure is taken (the Django side runs with DEBUG off, as in production):
- COPY: `psql -c "COPY (SELECT <the 16 columns> ...) TO STDOUT WITH CSV HEADER"` to /dev/null.
- admin view: GET of the admin's export URL through django.test.Client as a superuser, reading
  `streaming_content` to the end; memory is this process's resident memory above what it was just before.
- export_audit: `manage.py export_audit --output FILE` as its own process, start-up included; memory is
  that whole process's maximum resident set (Python and Django included).
- django-import-export: a ModelResource with the same 16 fields, `export(queryset).csv`, as its docs show,
  in its own process so its memory cannot inflate ours; only up to --baseline-rows (it holds every row).
Times are the best of two runs (one from 5M rows up), side by side with COPY; memory is the highest
of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audit_seed import seed_rows  # noqa: E402
from bench.common import MB, emit, label, row_count, row_counts, timed_with_peak  # noqa: E402

URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/media_sync_bench")
os.environ.update(
    {
        "DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
)
PART = "audit"
LIST_TARGET_MS = 150.0
MEMORY_LIMIT = 150 * MB
COPY_FACTOR = 2.0
BASELINE_FACTOR = 10.0
RUNS = 2
LIST_RUNS = 7
CHILD_RESULT = "IMPORT-EXPORT-RESULT "


def copy_sql() -> str:
    """psql's COPY of exactly the export's columns (read after django.setup())."""
    from media_sync.reports import COLUMNS

    select = f"SELECT {', '.join(COLUMNS)} FROM media_sync_auditevent ORDER BY timestamp, id"
    return f"COPY ({select}) TO STDOUT WITH CSV HEADER"


def admin_db_command(sql: str) -> None:
    maintenance = urlsplit(URL)._replace(path="/postgres").geturl()
    subprocess.run(["psql", maintenance, "-q", "-c", sql], check=True, capture_output=True)


def run_child(command: list[str], *, stdout: IO[Any] | int, timeout: float) -> tuple[float, int]:
    """Seconds a child process took and its maximum resident memory in bytes (from wait4, so no other
    child's peak can leak in, as it would with RUSAGE_CHILDREN). Killed after `timeout` seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=stdout)
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        killer.cancel()
        if process.returncode is None:  # interrupted while waiting: take the child down with us
            process.kill()
            process.wait()
    elapsed = time.perf_counter() - started
    if process.returncode == -signal.SIGKILL and elapsed >= timeout:
        raise subprocess.TimeoutExpired(command, timeout)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return elapsed, usage.ru_maxrss * 1024  # Linux counts ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--rows",
        type=row_counts,
        action="append",
        help="audit rows to measure at; repeat or comma-separate (default 100k,10m)",
    )
    parser.add_argument(
        "--baseline-rows",
        type=row_count,
        default=100_000,
        help="largest size django-import-export is run at (default 100k: it keeps every row in memory)",
    )
    parser.add_argument("--baseline-timeout", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--import-export-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_export_child:
        import_export_child()
        return
    sizes = sorted({rows for group in args.rows or [[100_000, 10_000_000]] for rows in group})
    # `kill` and run.py's own shutdown end us with SIGTERM: leave through `finally` all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = urlsplit(URL).path.lstrip("/")
    started = time.perf_counter()
    admin_db_command(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin_db_command(f'CREATE DATABASE "{database}"')
    try:
        run(sizes, baseline_rows=args.baseline_rows, baseline_timeout=args.baseline_timeout)
    finally:
        from django.db import connections

        connections.close_all()
        admin_db_command(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"\naudit part took {time.perf_counter() - started:.0f} s (database {database} dropped)")


def run(sizes: list[int], *, baseline_rows: int, baseline_timeout: float) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    # DEBUG is off, as in production: the pages name the hashed static files collectstatic writes.
    call_command("collectstatic", "--noinput", verbosity=0)
    client = Client()
    client.force_login(User.objects.create_superuser("bench", password="bench-password-not-used"))
    seeded = 0
    lists: dict[int, dict[str, tuple[float, set[int]]]] = {}
    for rows in sizes:
        seed(seeded, rows)
        seeded = rows
        lists[rows] = list_pages(client, rows)
        measure_export(client, rows, baseline=rows <= baseline_rows, baseline_timeout=baseline_timeout)
    if sizes[-1] > baseline_rows:
        print(
            f"\ndjango-import-export not run above {label(baseline_rows)} (--baseline-rows): it builds the "
            "whole export in memory; compare at the sizes where both ran"
        )
    emit_list_pages(lists)


def seed_partitions() -> None:
    """The audit's monthly partitions for the 30 days the seed spans (an installation has one for every
    month it wrote in; a fresh database only this month's and the next: the rest would go to DEFAULT)."""
    import datetime

    from media_sync.audit_partitions import audit_partition_create

    today = datetime.datetime.now(datetime.UTC).date()
    for day in (today - datetime.timedelta(days=31), today):
        audit_partition_create(day.replace(day=1))


def seed(have: int, rows: int) -> None:
    from django.db import connection

    if not have:
        seed_partitions()
    with connection.cursor() as cursor:
        seconds = seed_rows(cursor, have + 1, rows)
    print(f"\n## {label(rows)}: seeded {rows - have:,} more audit rows in {seconds:.1f} s")


def list_pages(client: Any, rows: int) -> dict[str, tuple[float, set[int]]]:
    """Median milliseconds and the query counts seen, per page, over LIST_RUNS requests after a warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/admin/media_sync/auditevent/"
    pages: dict[str, tuple[str, dict[str, str]]] = {
        "first page": (url, {}),
        "filtered page": (url, {"provider__exact": "corrigopro", "outcome__exact": "failed"}),
        "search, photo id": (url, {"q": str(180000000 + rows // 2)}),
        "search, order id": (url, {"q": "57012345"}),
        # One order's every row (subject, item, destination conditions), newest first, paged.
        "timeline, order": (f"{url}timeline/order/57012345/", {}),
        # The team lead's charts and top causes over the default period: each item once, by its last result.
        "dashboard": (f"{url}dashboard/", {}),
    }
    results: dict[str, tuple[float, set[int]]] = {}
    print(f"audit list and a timeline, {LIST_RUNS} requests each after a warm-up")
    for name, (url, params) in pages.items():
        assert client.get(url, params, secure=True).status_code == 200
        times: list[float] = []
        sql_times: list[float] = []
        queries: set[int] = set()
        slowest: dict[str, list[float]] = {}
        for _ in range(LIST_RUNS):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(url, params, secure=True)
                times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
            queries.add(len(captured))
            timed = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
            sql_times.append(sum(ms for ms, _ in timed))
            ms, sql = max(timed)
            slowest.setdefault(" ".join(sql.split())[:70], []).append(ms)
        results[name] = (statistics.median(times), queries)
        sql, ms_seen = max(slowest.items(), key=lambda item: statistics.median(item[1]))
        print(
            f"  {name:>16}: median {results[name][0]:6.1f} ms (SQL {statistics.median(sql_times):5.1f} ms), "
            f"queries {sorted(queries)}; slowest {statistics.median(ms_seen):.1f} ms: {sql}"
        )
    return results


def emit_list_pages(lists: dict[int, dict[str, tuple[float, set[int]]]]) -> None:
    """The largest size's figures; "constant queries" means one count per page at every size measured."""
    largest = max(lists)
    for name, (median, queries) in lists[largest].items():
        everywhere = set().union(*(lists[rows][name][1] for rows in lists))
        emit(
            part=PART,
            measure=f"list {name}, {label(largest)}",
            ours=f"{median:.0f} ms, {','.join(map(str, sorted(queries)))} queries",
            against=f"{LIST_TARGET_MS:.0f} ms",
            ratio=f"{median / LIST_TARGET_MS:.2f} of target",
            target=f"< {LIST_TARGET_MS:.0f} ms, constant queries",
            met=median < LIST_TARGET_MS and len(everywhere) == 1,
        )


def copy_export() -> float:
    return run_child(["psql", URL, "-q", "-c", copy_sql()], stdout=subprocess.DEVNULL, timeout=600)[0]


def admin_export(client: Any, rows: int) -> tuple[float, int]:
    """The admin's export view over HTTP (the test client), its streamed body read to the end."""
    from django.urls import reverse

    lines = 0

    def read_all() -> None:
        nonlocal lines
        response = client.get(reverse("admin:media_sync_auditevent_export"), secure=True)
        assert response.status_code == 200 and response.streaming, response.status_code
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        response.close()

    seconds, peak = timed_with_peak(read_all)
    assert lines == rows + 1, f"the admin export wrote {lines} lines for {rows} rows"
    return seconds, peak


def command_export(rows: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        output = Path(scratch) / "audit.csv"
        command = [sys.executable, "manage.py", "export_audit", "--output", str(output)]
        seconds, peak = run_child(command, stdout=subprocess.DEVNULL, timeout=600)
        with output.open("rb") as written:
            lines = sum(block.count(b"\n") for block in iter(lambda: written.read(MB), b""))
    assert lines == rows + 1, f"export_audit wrote {lines} lines for {rows} rows"
    return seconds, peak


def measure_export(client: Any, rows: int, *, baseline: bool, baseline_timeout: float) -> None:
    copy_s: list[float] = []
    admin_s: list[float] = []
    command_s: list[float] = []
    admin_peak = command_peak = 0
    # Side by side, so a busy moment on the machine hits all three; once at ten million rows and up (a
    # run there is two minutes, and the part has ten).
    for _ in range(RUNS if rows < 5_000_000 else 1):
        copy_s.append(copy_export())
        seconds, peak = admin_export(client, rows)
        admin_s.append(seconds)
        admin_peak = max(admin_peak, peak)
        seconds, peak = command_export(rows)
        command_s.append(seconds)
        command_peak = max(command_peak, peak)
    copy, admin, command = min(copy_s), min(admin_s), min(command_s)
    print(f"CSV export, best of {len(copy_s)}: COPY {copy:.2f} s,", end=" ")
    print(f"admin view {admin:.2f} s, export_audit {command:.2f} s")
    print(f"  peak memory: admin view {admin_peak / MB:.1f} MB above start,", end=" ")
    print(f"export_audit {command_peak / MB:.1f} MB whole process")
    size = label(rows)
    for name, seconds in (("admin view", admin), ("export_audit", command)):
        emit(
            part=PART,
            measure=f"export via {name}, {size}",
            ours=f"{seconds:.2f} s",
            against=f"COPY {copy:.2f} s",
            ratio=f"{seconds / copy:.2f}x COPY",
            target=f"<= {COPY_FACTOR:.0f}x COPY",
            met=seconds <= COPY_FACTOR * copy,
        )
    for name, peak, what in (
        ("admin view", admin_peak, "above start"),
        ("export_audit", command_peak, "whole process"),
    ):
        emit(
            part=PART,
            measure=f"peak memory, {name}, {size}",
            ours=f"{peak / MB:.1f} MB ({what})",
            against=f"{MEMORY_LIMIT / MB:.0f} MB",
            ratio=f"{peak / MEMORY_LIMIT:.2f} of limit",
            target=f"< {MEMORY_LIMIT / MB:.0f} MB",
            met=peak < MEMORY_LIMIT,
        )
    if baseline:
        compare_import_export(rows, admin, admin_peak, timeout=baseline_timeout)


def compare_import_export(rows: int, ours_s: float, ours_peak: int, *, timeout: float) -> None:
    """django-import-export in its own process, last: it holds the whole export in memory."""
    with tempfile.TemporaryFile(mode="w+") as out:
        try:
            _, process_peak = run_child(
                [sys.executable, __file__, "--import-export-child"], stdout=out, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            print(f"django-import-export did not finish {label(rows)} within {timeout:.0f} s: no figure")
            return
        out.seek(0)
        result = next(json.loads(line[len(CHILD_RESULT) :]) for line in out if line.startswith(CHILD_RESULT))
    seconds, peak = float(result["seconds"]), int(result["peak"])
    assert result["lines"] == rows + 1, result
    print(
        f"django-import-export: {seconds:.2f} s, {peak / MB:.0f} MB above start "
        f"({process_peak / MB:.0f} MB whole process)"
    )
    emit(
        part=PART,
        measure=f"export vs django-import-export, {label(rows)}",
        ours=f"{ours_s:.2f} s, {ours_peak / MB:.1f} MB",
        against=f"{seconds:.2f} s, {peak / MB:.0f} MB",
        ratio=f"{seconds / ours_s:.0f}x faster",
        target=f">= {BASELINE_FACTOR:.0f}x faster",
        met=seconds >= BASELINE_FACTOR * ours_s,
    )


def import_export_child() -> None:
    """The baseline, the way django-import-export's docs show it: a ModelResource, export(), .csv."""
    import django

    django.setup()
    from import_export import fields, resources  # type: ignore[import-untyped]

    from media_sync.models import AuditEvent
    from media_sync.reports import COLUMNS

    class AuditEventResource(resources.ModelResource):  # type: ignore[misc]
        job_id = fields.Field(attribute="job_id", column_name="job_id")

        class Meta:
            model = AuditEvent
            fields = COLUMNS
            export_order = COLUMNS

    text = [""]

    def export() -> None:
        text[0] = AuditEventResource().export(AuditEvent.objects.order_by("timestamp", "id")).csv

    seconds, peak = timed_with_peak(export)
    result = {"seconds": seconds, "peak": peak, "lines": text[0].count("\n")}
    print(CHILD_RESULT + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
