"""What every benchmark shares: memory sampling, row counts said short, and one result line per figure
for `bench/run.py`.

A benchmark prints whatever detail it likes, and for each figure one `emit(...)` line. `bench/run.py`
runs the parts in their own processes and prints those lines as one table.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable

MB = 1024 * 1024
RESULT_PREFIX = "BENCH-RESULT "


def rss() -> int:
    """Resident memory of this process, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_with_peak(work: Callable[[], object]) -> tuple[float, int]:
    """Seconds `work` took, and the highest resident memory above the start while it ran (sampled
    every 2 ms)."""
    baseline, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        work()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return elapsed, max(0, max(peak[0], rss()) - baseline)


def emit(*, part: str, measure: str, ours: str, against: str, ratio: str, target: str, met: bool) -> None:
    """One row of the `make bench` table. `ours` and `against` are figures with their units, `ratio` is
    how ours compares (for example "0.94 of limit", "1.8x COPY"), `target` the goal in words."""
    row = {
        "part": part,
        "measure": measure,
        "ours": ours,
        "against": against,
        "ratio": ratio,
        "target": target,
        "met": met,
    }
    print(RESULT_PREFIX + json.dumps(row), flush=True)


# Sizes on the command line and in the table.
def row_count(text: str) -> int:
    """100000, 100_000, 100k and 1m alike."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(text.rstrip("km")) * scale


def row_counts(text: str) -> list[int]:
    return [row_count(part) for part in text.split(",") if part.strip()]


def label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M rows"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k rows"
    return f"{rows:,} rows"
