"""Real `manage.py qcluster` processes for the crash tests: started in their own process group against the
test database, waited on with deadlines, killed with SIGKILL, and always cleaned up.

The clusters are separate processes: they see only committed rows (so the tests that use them are
transactional) and reach the simulators over loopback like any production worker would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from integrations.simkit import DROP, Outcome, SimRequest, SimulatorApp

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# The app's own variables: a cluster gets exactly the ones a test gives it, nothing from the caller.
APP_VARIABLE_PREFIXES = (
    "DJANGO_",
    "DATABASE_",
    "REDIS_URL",
    "Q_",
    "MEDIA_SYNC_",
    "RECOVERYCONNECT_",
    "CORRIGOPRO_",
    "SUAPI_",
    "AWS_",
)


def subprocess_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for processes outside pytest."""
    conf = connection.settings_dict
    user = quote(conf.get("USER") or "", safe="")
    password = quote(conf.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = conf.get("HOST") or "127.0.0.1"
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(conf['NAME'], safe='')}"


def cluster_env(
    *, rc_url: str, redis_url: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A worker's environment: the test database, the chosen broker (Redis when `redis_url`, else the ORM
    broker on that database), the simulator as RecoveryConnect, and the test process's SECRET_KEY
    (django-q2 signs every queue message with it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(APP_VARIABLE_PREFIXES)}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": subprocess_database_url(),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_LOG_LEVEL": "INFO",
            "RECOVERYCONNECT_BASE_URL": rc_url,
            "RECOVERYCONNECT_USERNAME": "demo",
            "RECOVERYCONNECT_PASSWORD": "demo-password",
            # A provider that stops answering must not hold a test for the default 30 s.
            "MEDIA_SYNC_READ_TIMEOUT": "5",
            "MEDIA_SYNC_BACKOFF_BASE": "0.05",
            "MEDIA_SYNC_BACKOFF_MAX": "0.2",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


class QCluster:
    """One `manage.py qcluster` in its own session (its pid is its process group id), output to a file."""

    def __init__(self, *, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"qcluster-{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_running(self, *, timeout: float) -> None:
        wait_until(
            lambda: "running." in self.output(),
            timeout=timeout,
            what=f"cluster {self.name} to say it is running",
            clusters=[self],
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: the guard, pusher, monitor and every worker at once, as an
        OOM killer or a lost machine would. Idempotent."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored; this is only a bound
            self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def running_clusters() -> Iterator[Callable[..., QCluster]]:
    """Yields a starter; every cluster it started is killed on the way out, whatever happened."""
    started: list[QCluster] = []

    def start(*, name: str, env: Mapping[str, str], log_dir: Path) -> QCluster:
        cluster = QCluster(name=name, env=env, log_dir=log_dir)
        started.append(cluster)
        return cluster

    try:
        yield start
    finally:
        for cluster in started:
            cluster.kill()


def wait_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    clusters: Sequence[QCluster] = (),
    state: Callable[[], object] | None = None,
    interval: float = 0.02,
) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds with `state()` (what
    the test was looking at) and the clusters' latest output, which is where the reason is."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        dead = [cluster.name for cluster in clusters if not cluster.alive()]
        if dead or time.monotonic() > deadline:
            reason = f"cluster(s) {', '.join(dead)} exited" if dead else f"not within {timeout:.0f} s"
            if state is not None:
                reason += f"; state: {state()}"
            logs = "\n".join(f"--- qcluster {c.name} (last lines) ---\n{c.tail()}" for c in clusters)
            raise AssertionError(f"waited for {what}: {reason}\n{logs}")
        time.sleep(interval)


@dataclass(frozen=True)
class Arrival:
    door: str
    method: str
    path: str
    at: float  # time.monotonic() in this process, when the request reached the simulator


class TaggedDoor(SimulatorApp):
    """A way in to a simulator that notes each request as it arrives: serving one simulator behind two
    doors, one per cluster, shows which cluster sent each call.

    It can also hold the first request `hold` picks at the door, before the simulator sees it, until the
    test calls `let_through()` (the simulator then does the work, as a provider does for a client that
    has gone) or `lose()` (the request never reaches the provider). `holding` is set while it waits."""

    def __init__(
        self,
        inner: SimulatorApp,
        tag: str,
        arrivals: list[Arrival],
        *,
        hold: Callable[[SimRequest], bool] | None = None,
    ) -> None:
        super().__init__()
        self.inner, self.tag, self.arrivals, self.hold = inner, tag, arrivals, hold
        self.holding = threading.Event()
        self._released = threading.Event()
        self._lose = False

    def dispatch(self, request: SimRequest) -> Outcome:
        with self.inner.lock:
            self.arrivals.append(Arrival(self.tag, request.method, request.path, time.monotonic()))
            held = self.hold is not None and not self.holding.is_set() and self.hold(request)
            if held:
                self.holding.set()
        if held:
            self._released.wait(timeout=60)
            if self._lose:
                return DROP
        return self.inner.dispatch(request)

    def let_through(self) -> None:
        self._released.set()

    def lose(self) -> None:
        self._lose = True
        self._released.set()
