"""verify_audit over a million audit rows on PostgreSQL: the first run seals them all (as the first
verify after an upgrade would), the second only re-computes the chain.

Creates its own database (the same as bench/audit_scale.py: media_sync_bench, or BENCH_DATABASE_URL), seeds
it with that part's one INSERT ... SELECT (times moved an hour back, past the sealers' safe point), runs
`manage.py verify_audit` as its own process (start-up included; memory is that process's maximum resident
set), and drops the database at the end.

    .venv/bin/python bench/audit_seals.py                 # 1M rows
    .venv/bin/python bench/audit_seals.py --rows 100k
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audit_scale import (  # noqa: E402  (sets the environment)
    URL,
    admin_db_command,
    run_child,
    seed_partitions,
)
from bench.audit_seed import SEED  # noqa: E402
from bench.common import MB, emit, label, row_count  # noqa: E402

PART = "audit seals"
TARGET_S = 60.0
MEMORY_LIMIT = 150 * MB
OLD_SEED = SEED.replace("SELECT now() -", "SELECT now() - interval '1 hour' -")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=row_count, default=1_000_000, help="audit rows (default 1m)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = urlsplit(URL).path.lstrip("/")
    admin_db_command(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin_db_command(f'CREATE DATABASE "{database}"')
    try:
        run(args.rows)
    finally:
        from django.db import connections

        connections.close_all()
        admin_db_command(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(rows: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    seed_partitions()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(OLD_SEED, [1, rows])
        cursor.execute("VACUUM (ANALYZE) media_sync_auditevent")
    print(f"seeded {rows:,} audit rows in {time.perf_counter() - started:.1f} s")
    connections.close_all()
    command = [sys.executable, "manage.py", "verify_audit"]
    size = label(rows)
    for name in ("seal and verify", "verify"):
        seconds, peak = run_child(command, stdout=subprocess.DEVNULL, timeout=600)
        print(f"verify_audit ({name}), {size}: {seconds:.1f} s, {peak / MB:.0f} MB whole process")
        emit(
            part=PART,
            measure=f"verify_audit ({name}), {size}",
            ours=f"{seconds:.1f} s, {peak / MB:.0f} MB",
            against=f"{TARGET_S:.0f} s",
            ratio=f"{seconds / TARGET_S:.2f} of target",
            target=f"< {TARGET_S:.0f} s, < {MEMORY_LIMIT / MB:.0f} MB",
            met=seconds < TARGET_S and peak < MEMORY_LIMIT,
        )


if __name__ == "__main__":
    main()
