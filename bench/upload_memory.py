"""Peak memory of a CorrigoPro upload, 1 / 10 / 20 MB, against a plain `requests` upload of the file.

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
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MB, emit, timed_with_peak  # noqa: E402
from integrations.corrigopro.client import CorrigoProClient, new_message_id  # noqa: E402
from integrations.tokens import TokenCache  # noqa: E402

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
                    # What a plain `requests` upload does: an open file in files= (requests builds the
                    # multipart body in memory).
                    handle = path.open("rb")
                    files = {"File": (path.name, handle, "image/jpeg")}
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
                    handle.close()
                    response.raise_for_status()
                    return response

                ours()  # warm up: imports, connection, buffers
                streamed, naive = timed_with_peak(ours)[1], timed_with_peak(whole)[1]
                verdict = "met" if streamed <= 10 * MB else "MISSED"
                print(f"{size_mb:>4}MB | {streamed / MB:>13.1f} MB | {naive / MB:>9.1f} MB | {verdict}")
                emit(
                    part="upload memory",
                    measure=f"CorrigoPro upload of {size_mb} MB, peak above start",
                    ours=f"{streamed / MB:.1f} MB",
                    against=f"{naive / MB:.1f} MB plain requests",
                    ratio="flat" if streamed <= 10 * MB else "grows",
                    target="flat in file size (within 10 MB)",
                    met=streamed <= 10 * MB,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
