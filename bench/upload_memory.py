"""Peak memory of a CorrigoPro upload, 1 / 10 / 20 MB, against reading the file whole for `requests`.

The simulator runs in its own process (it reads bodies whole: that is not ours to measure). This process
is the worker: the same client the jobs use, streaming the file from disk. Peak is the highest resident
memory seen while uploading, minus what it was just before; sampled every 2 ms.

    .venv/bin/python bench/upload_memory.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrations.corrigopro.client import CorrigoProClient, new_message_id  # noqa: E402
from integrations.http import TokenCache  # noqa: E402

MB = 1024 * 1024
SERVER = """
import sys, time
from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.simkit import serve
sim = CorrigoProSimulator(mount_prefix="")
sim.add_work_order(1001)
server = serve(sim)
print(server.url, flush=True)
time.sleep(3600)
"""


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_during(work: Callable[[], object]) -> int:
    """Highest resident memory above the starting point while `work` runs."""
    baseline, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return max(0, max(peak[0], rss()) - baseline)


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        client = CorrigoProClient(
            base_url=url,
            token_url=f"{url}/oauth/token",
            client_id="demo-client",
            client_secret="demo-secret",
            token_cache=TokenCache(),
            timeout=(5, 120),
        )
        token = client.fetch_token()  # the naive upload below uses the same token
        print("CorrigoPro upload: peak memory above the start (target: within 10 MB, flat in file size)")
        print(f"{'size':>6} | {'streamed (ours)':>16} | {'read whole':>12} | target")
        with tempfile.TemporaryDirectory() as folder:
            for size_mb in (1, 10, 20):
                size = size_mb * MB - 4096
                path = Path(folder) / f"{size_mb}mb.jpg"
                path.write_bytes(b"\xff\xd8\xff" + os.urandom(size - 3))

                def ours(path: Path = path, size: int = size) -> object:
                    return client.upload_attachment(
                        work_order_id=1001,
                        open_file=lambda: path.open("rb"),
                        size=size,
                        name=path.name,
                        mime_type="image/jpeg",
                        performed_by="bench",
                        message_id=new_message_id(),
                    )

                def whole(path: Path = path) -> object:
                    files = {"File": (path.name, path.read_bytes(), "image/jpeg")}
                    data = {
                        "WorkOrderId": "1001",
                        "Name": path.name,
                        "MimeType": "image/jpeg",
                        "PerformedBy.Name": "bench",
                        "MessageId": new_message_id(),
                    }
                    response = requests.post(
                        f"{url}/api/attachments",
                        files=files,
                        data=data,
                        timeout=120,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    response.raise_for_status()
                    return response

                ours()  # warm up: imports, connection, buffers
                streamed, naive = peak_during(ours), peak_during(whole)
                verdict = "met" if streamed <= 10 * MB else "MISSED"
                print(f"{size_mb:>4}MB | {streamed / MB:>13.1f} MB | {naive / MB:>9.1f} MB | {verdict}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
