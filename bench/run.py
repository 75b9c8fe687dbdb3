"""`make bench`: every benchmark in its own process, then one table of figures, ratios and targets.

    .venv/bin/python bench/run.py                 # all parts
    .venv/bin/python bench/run.py image_intake    # one part by name (several may be given)

Machines are noisy: compare the ratios, which are measured side by side, not the absolute times.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULT_PREFIX  # noqa: E402

# name -> script and arguments, in the order they run.
PARTS: dict[str, list[str]] = {
    "throughput": ["bench/throughput.py"],
    "audit": ["bench/audit_scale.py"],
    "audit_seals": ["bench/audit_seals.py"],
    "upload_memory": ["bench/upload_memory.py"],
    "image_intake": ["bench/image_intake.py"],
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, Python {platform.python_version()}"


def run_part(name: str) -> tuple[list[dict[str, object]], int, float]:
    print(f"\n=== {name} ===", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *PARTS[name]], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    rows: list[dict[str, object]] = []
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(RESULT_PREFIX):
            rows.append(json.loads(line[len(RESULT_PREFIX) :]))
        else:
            print(line, end="", flush=True)
    return rows, process.wait(), time.perf_counter() - started


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in PARTS]
    if unknown:
        print(f"unknown part(s): {', '.join(unknown)}; parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    results: list[dict[str, object]] = []
    failures = []
    for name in argv or list(PARTS):
        rows, code, took = run_part(name)
        print(f"--- {name} took {took:.0f} s", flush=True)
        results.extend(rows)
        if code:
            failures.append(f"{name} exited {code}")
    print(f"\nmake bench, {datetime.date.today().isoformat()}, {machine()}\n")
    print("| part | measure | ours | against | ratio | target | |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        verdict = "met" if row["met"] else "**missed**"
        print(
            f"| {row['part']} | {row['measure']} | {row['ours']} | {row['against']} | {row['ratio']} "
            f"| {row['target']} | {verdict} |"
        )
    for failure in failures:
        print(f"\nFAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
