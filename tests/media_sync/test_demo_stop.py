"""`make demo` stops cleanly: Ctrl-C (SIGINT to its process group, as a terminal sends it) or SIGTERM ends
the web server, the simulators and qcluster with every worker within 10 seconds, nothing left behind.

Each test runs the real `manage.py demo` on free ports with its own SQLite database and media (about 20 s:
migrate, the demo data through the simulators, the cluster's start)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
STARTS_WITHIN_S = 90.0
STOPS_WITHIN_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """The process and everything under it, from each thread's /proc children list."""
    found = {pid}
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = listing.read_text().split()
        except OSError:  # the thread or the process ended meanwhile
            continue
        for child in children:
            found |= descendants(int(child))
    return found


def alive(pid: int) -> bool:
    """Running or stopped; a zombie has ended (only its exit status waits to be collected)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    web, simulators = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "MEDIA_", "CORRIGOPRO_", "RECOVERYCONNECT_", "SUAPI_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        MEDIA_SYNC_DEMO_PORT=str(web),
        MEDIA_SYNC_SIMULATOR_URL=f"http://127.0.0.1:{simulators}",
        CORRIGOPRO_WEBHOOK_CERTIFICATE=str(tmp_path / "corrigopro-cert.pem"),
        Q_WORKERS=str(WORKERS),
    )
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0,  # its own group, like a shell's foreground job: Ctrl-C reaches this group only
    )
    return demo, f"http://127.0.0.1:{web}/admin/login/"


def running_tree(demo: subprocess.Popen[bytes], login_url: str, tmp_path: Path) -> set[int]:
    """Once the page answers and qcluster has its workers: every process of the demo."""
    deadline = time.monotonic() + STARTS_WITHIN_S
    while time.monotonic() < deadline:
        assert demo.poll() is None, (tmp_path / "demo.log").read_text()
        tree = descendants(demo.pid)
        clusters = [pid for pid in tree if "qcluster" in command_line(pid)]
        # The cluster's own process, its sentinel, pusher and monitor, and the workers.
        if clusters and len(clusters) >= WORKERS + 2 and answers(login_url):
            return tree
        time.sleep(0.5)
    raise AssertionError(f"the demo did not come up:\n{(tmp_path / 'demo.log').read_text()}")


@pytest.mark.parametrize(
    ("signum", "to_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"]
)
def test_demo_stops_every_process_it_started_within_ten_seconds(
    tmp_path: Path, signum: signal.Signals, to_group: bool
) -> None:
    demo, login_url = start_demo(tmp_path)
    tree: set[int] = {demo.pid}
    try:
        tree = running_tree(demo, login_url, tmp_path)
        assert len(tree) >= 1 + 2 + WORKERS + 2  # demo, simulators, web server, qcluster and its workers
        if to_group:
            os.killpg(demo.pid, signum)  # what the terminal does on Ctrl-C
        else:
            demo.send_signal(signum)  # what a service manager does
        signalled = time.monotonic()
        while time.monotonic() - signalled < STOPS_WITHIN_S and any(alive(pid) for pid in tree):
            demo.poll()  # collect the demo's own exit status, so it does not linger as a zombie
            time.sleep(0.1)
        left = {pid: command_line(pid) for pid in tree if alive(pid)}
        assert left == {}, f"still running {STOPS_WITHIN_S:g} s after the signal: {left}"
        assert demo.wait(timeout=1) == 0, (tmp_path / "demo.log").read_text()[-3000:]
        assert not answers(login_url)
    finally:
        for pid in tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=10)
