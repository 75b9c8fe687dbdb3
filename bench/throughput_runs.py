"""The pieces of `bench/throughput.py`: the simulator in its own process, the bare-client baseline, and
one run of the app (a real qcluster) with what it cost: SQL statements, commits and CPU seconds.

The bare client is what any program would do to send the same PUTs: W threads, one `requests.Session`
each, one login shared, no database. Measured against the very simulator process the app then uses,
so the ratio app / bare is the app's own cost at that W and L.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# 10,300 photos: the largest run moves about 8 s of the fastest pair's limit (W=64, L=50 ms).
ORDERS, PHOTOS_PER_ORDER = int(os.environ.get("BENCH_TP_ORDERS", "103")), 100
FIRST_ORDER, FIRST_PHOTO = 57000000, 180000000
DESTINATION = 9200000
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


def photo_calls() -> list[tuple[int, int]]:
    """(order id, photo id) of every photo the bench moves, in the order the job's items are made."""
    return [
        (FIRST_ORDER + n, FIRST_PHOTO + n * PHOTOS_PER_ORDER + k)
        for n in range(ORDERS)
        for k in range(PHOTOS_PER_ORDER)
    ]


class Simulator:
    """The RecoveryConnect simulator in a process of its own (its CPU is not the app's)."""

    def __init__(self, *, latency: float, rate: float) -> None:
        args = [str(v) for v in (ORDERS, PHOTOS_PER_ORDER, FIRST_ORDER, FIRST_PHOTO, latency, rate)]
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def log(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(f"{self.url}/_sim/log", timeout=30) as answer:  # noqa: S310 - ours
            return list(json.load(answer)["requests"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def bare_run(url: str, *, workers: int, items: int) -> dict[str, float]:
    """The same PUTs as the app's per-photo transfer of the first `items` photos, from `workers` threads
    with a session each."""
    login = requests.post(
        f"{url}/api/v140/auth", json={"username": "demo", "password": "demo-password"}, timeout=30
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    calls: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for call in photo_calls()[:items]:
        calls.put(call)
    done, failed = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        session = requests.Session()
        while True:
            try:
                order_id, photo_id = calls.get_nowait()
            except queue.Empty:
                return
            try:
                answer = session.put(
                    f"{url}/api/v130/orders/{order_id}/photos/{photo_id}",
                    json={"transfer_to": [DESTINATION]},
                    headers=headers,
                    timeout=30,
                )
                ok = answer.status_code == 200 and bool(answer.json())
            except requests.RequestException:
                ok = False  # counted, not retried: the bare client's rate is of what got through
            with lock:
                done[0] += ok
                failed[0] += not ok

    threads = [threading.Thread(target=work) for _ in range(workers)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "items": done[0], "failed": failed[0], "cpu_ms": 1000 * cpu / max(1, done[0])}


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of `root` and every process below it (and of their reaped children), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        # After "(comm)": state ppid ... utime(12th) stime cutime cstime, counted from state as 1st.
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(value) for value in fields[11:15])
    tree, grown = {root}, True
    while grown:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        grown = bool(below)
        tree |= below
    return sum(times.get(pid, 0) for pid in tree) / ticks


def database_commits(url: str) -> int:
    """PostgreSQL's count of committed transactions in the bench database (a fresh session each time,
    so no cached statistics snapshot)."""
    database = url.rsplit("/", 1)[1]
    sql = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{database}'"
    return int(subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout)


@dataclass
class Cluster:
    """A qcluster of `processes` workers, each making `threads` provider calls at once."""

    env: dict[str, str]
    processes: int
    threads: int

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **self.env,
            "Q_WORKERS": str(self.processes),
            "MEDIA_SYNC_TASKS_PER_JOB": str(self.processes),
            "MEDIA_SYNC_CALLS_PER_WORKER": str(self.threads),
        }
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def cluster_stop(cluster: subprocess.Popen[bytes]) -> None:
    os.killpg(cluster.pid, signal.SIGTERM)
    try:
        cluster.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)
