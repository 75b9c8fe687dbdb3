"""Counting the SQL statements each process sends, for `bench/throughput.py` only: off unless
MEDIA_SYNC_BENCH_SQL_COUNT_DIR names a directory (no deployment sets it).

Every statement a database connection executes is counted (an execute wrapper, installed on each new
connection), and each process writes its total to `<dir>/<pid>.json` twice a second from a thread of its
own, so the count survives however the process ends: qcluster's workers are forked and stopped without
running exit handlers. Counting costs one addition per statement; writing, a small file every half second.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLUSH_S = 0.5

_lock = threading.Lock()
_state = {"pid": 0, "statements": 0}


def _flush_forever(directory: Path, pid: int) -> None:
    written = -1
    while _state["pid"] == pid:
        count = _state["statements"]
        if count != written:
            target = directory / f"{pid}.json"
            temporary = directory / f".{pid}.tmp"
            temporary.write_text(json.dumps({"pid": pid, "statements": count}))
            temporary.replace(target)  # a reader never sees half a file
            written = count
        time.sleep(FLUSH_S)


def _count(directory: Path) -> Callable[..., Any]:
    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        pid = os.getpid()
        with _lock:
            if _state["pid"] != pid:
                # First statement in this process (a forked worker inherits its parent's count: not its own).
                _state["pid"], _state["statements"] = pid, 0
                threading.Thread(target=_flush_forever, args=(directory, pid), daemon=True).start()
            _state["statements"] += 1
        return execute(sql, params, many, context)

    return wrapper


def sql_count_install(directory: str) -> None:
    """Count every statement of every connection this process (and any process forked from it) opens."""
    from django.db.backends.signals import connection_created

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    wrapper = _count(path)

    def on_connection(sender: object, connection: Any, **kwargs: object) -> None:
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(on_connection, weak=False, dispatch_uid="media_sync.sqlcount")


def sql_count_read(directory: str, *, exclude: int | None = None) -> int:
    """The statements counted so far by every process that wrote to `directory` (but `exclude`, a pid)."""
    total = 0
    for path in Path(directory).glob("*.json"):
        data = json.loads(path.read_text())
        if data["pid"] != exclude:
            total += int(data["statements"])
    return total
