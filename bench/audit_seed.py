"""The audit benchmarks' rows: one INSERT ... SELECT over generate_series, with the table's secondary
indexes dropped while it runs and built again after it (bench/audit_scale.py, bench/audit_seals.py).

Ten million rows inserted one by one into a dozen B-trees keyed on times in no order cost far more than
building those B-trees once, sorted, afterwards: the seeding is what has to fit the ten minutes. The
rows are written oldest first over the last 30 days (each size's rows spread over them anew), as an
append-only audit is: the table's order follows its times, as it would in production. The
indexes are read from the catalogue (`pg_get_indexdef`), so whatever the migrations made, on a plain or a
partitioned table, is made again exactly; those behind a constraint (the primary key) stay.
"""

from __future__ import annotations

import time
from typing import Any

TABLE = "media_sync_auditevent"
SEED = """
INSERT INTO media_sync_auditevent
    (timestamp, kind, provider, operation, subject, item, destination, outcome, provider_status, http_status,
     error_code, failure_class, message, reference, attempt, duration_ms, triggered_by, method, path,
     request_summary, response_summary)
SELECT now() - (b.last - n) * (interval '30 days' / b.last),
       (ARRAY['item', 'http'])[1 + n %% 2],
       (ARRAY['recoveryconnect', 'corrigopro', 'suapi'])[1 + n %% 3],
       (ARRAY['rc_transfer_photos', 'cp_upload', 'su_create_batch', 'transfer_photo'])[1 + n %% 4],
       'order ' || (57000000 + n %% 50000), (180000000 + n)::text, (9100000 + n %% 1000)::text,
       CASE WHEN n %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN n %% 10 = 0 THEN 'fail' ELSE 'success' END, 200, '',
       CASE WHEN n %% 10 = 0 THEN 'provider_rule' ELSE '' END,
       CASE WHEN n %% 10 = 0 THEN 'RecoveryConnect answered fail for this photo and destination' ELSE '' END,
       '', 1, 40 + n %% 200, 'olga', '', '', '', ''
FROM (SELECT %s::bigint AS first, %s::bigint AS last) AS b, generate_series(b.first, b.last) AS n
"""
# The table's own indexes (a partitioned table's parent ones), less those a constraint owns.
INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = %s::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""


def seed_rows(cursor: Any, first: int, last: int, *, sql: str = SEED) -> float:
    """Rows first..last (of `sql`, SEED by default), the indexes rebuilt, then vacuumed and analysed as
    autovacuum would (the visibility map for index-only scans, the planner's statistics). Seconds taken."""
    started = time.perf_counter()
    cursor.execute(INDEXES, [TABLE])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(sql, [first, last])
    # A session setting, for this build only: sorts of ten million keys in memory, not in 64 MB runs.
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        # A partitioned table's index reads "ON ONLY table": made so, it would cover no partition.
        cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
    cursor.execute("RESET maintenance_work_mem")
    cursor.execute(f"VACUUM (ANALYZE) {TABLE}")
    return time.perf_counter() - started
