"""Peak memory of a CorrigoPro upload and of a RecoveryConnect upload (base64 inside JSON), 1 / 10 / 20 MB,
against a plain `requests` upload of the file (CorrigoPro: `files=`; RecoveryConnect: the base64 JSON body
built in memory, `requests.post(json=...)`).

The simulator runs in its own process (it reads bodies whole: that is not ours to measure). This process
is the worker: the same client the jobs use, streaming the file from disk. Peak is the highest resident
memory seen while uploading, minus what it was just before; sampled every 2 ms.

    .venv/bin/python bench/upload_memory.py
"""

from __future__ import annotations

import base64
import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MB, emit, timed_with_peak  # noqa: E402
from integrations.corrigopro.client import CorrigoProClient, new_message_id  # noqa: E402
from integrations.recoveryconnect.client import RecoveryConnectClient  # noqa: E402
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
RC_SERVER = """
import sys, time
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.simkit import serve
sim = RecoveryConnectSimulator()
sim.add_order(57076503, 9100001, recoveries=[{"id": 10120166}])
server = serve(sim)
print(server.url, flush=True)
time.sleep(3600)
"""
TARGET = 10 * MB


Upload = Callable[[Path, int], object]


def main() -> None:
    compare(
        server_code=SERVER,
        clients=corrigopro,
        title="CorrigoPro upload: peak memory above the start (target: within 10 MB, flat in file size)",
        naive_column="read whole",
        measure="CorrigoPro upload of {size_mb} MB, peak above start",
        against="plain requests",
    )
    compare(
        server_code=RC_SERVER,
        clients=recoveryconnect,
        title="RecoveryConnect upload (base64 in JSON): peak memory above the start (target: within 10 MB)",
        naive_column="built whole",
        measure="RecoveryConnect upload of {size_mb} MB (base64 JSON), peak above start",
        against="body built in memory",
    )


def compare(
    *,
    server_code: str,
    clients: Callable[[str], tuple[Upload, Upload]],
    title: str,
    naive_column: str,
    measure: str,
    against: str,
) -> None:
    """Start the simulator in its own process, then upload 1, 10 and 20 MB our way and the plain way."""
    server = subprocess.Popen(
        [sys.executable, "-c", server_code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        ours, whole = clients(server.stdout.readline().strip())
        print(title)
        print(f"{'size':>6} | {'streamed (ours)':>16} | {naive_column:>12} | target")
        with tempfile.TemporaryDirectory() as folder:
            for size_mb in (1, 10, 20):
                size = size_mb * MB - 4096
                path = Path(folder) / f"{size_mb}mb.jpg"
                path.write_bytes(b"\xff\xd8\xff" + os.urandom(size - 3))
                ours(path, size)  # warm up: imports, connection, buffers
                streamed = timed_with_peak(functools.partial(ours, path, size))[1]
                naive = timed_with_peak(functools.partial(whole, path, size))[1]
                verdict = "met" if streamed <= TARGET else "MISSED"
                print(f"{size_mb:>4}MB | {streamed / MB:>13.1f} MB | {naive / MB:>9.1f} MB | {verdict}")
                emit(
                    part="upload memory",
                    measure=measure.format(size_mb=size_mb),
                    ours=f"{streamed / MB:.1f} MB",
                    against=f"{naive / MB:.1f} MB {against}",
                    ratio="flat" if streamed <= TARGET else "grows",
                    target="flat in file size (within 10 MB)",
                    met=streamed <= TARGET,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


def corrigopro(url: str) -> tuple[Upload, Upload]:
    client = CorrigoProClient(
        base_url=url,
        token_url=f"{url}/oauth/token",
        client_id="demo-client",
        client_secret="demo-secret",
        token_cache=TokenCache(),
        timeout=(5, 120),
    )
    token = client.fetch_token()  # the naive upload below uses the same token

    def ours(path: Path, size: int) -> object:
        return client.upload_attachment(
            work_order_id=1001,
            open_file=lambda: path.open("rb"),
            size=size,
            name=path.name,
            mime_type="image/jpeg",
            performed_by="bench",
            message_id=new_message_id(),
        )

    def whole(path: Path, size: int) -> object:
        # What a plain `requests` upload does: an open file in files= (requests builds the multipart body
        # in memory).
        with path.open("rb") as handle:
            data = {
                "WorkOrderId": "1001",
                "Name": path.name,
                "MimeType": "image/jpeg",
                "PerformedBy.Name": "bench",
                "MessageId": new_message_id(),
            }
            response = requests.post(
                f"{url}/api/attachments",
                files={"File": (path.name, handle, "image/jpeg")},
                data=data,
                timeout=120,
                headers={"Authorization": f"Bearer {token}"},
            )
        response.raise_for_status()
        return response

    return ours, whole


def recoveryconnect(url: str) -> tuple[Upload, Upload]:
    client = RecoveryConnectClient(
        base_url=url, username="demo", password="demo-password", token_cache=TokenCache(), timeout=(5, 120)
    )
    token = client.login().access_token  # the naive upload below uses the same token
    path_of = "/api/v130/orders/57076503/recoveries/10120166/photos"

    def ours(path: Path, size: int) -> object:
        return client.upload_photo(
            order_id=57076503,
            recovery_id=10120166,
            open_file=lambda: path.open("rb"),
            size=size,
            file_name=path.name,
            image_name=path.stem,
            picture_time=datetime(2026, 1, 2, 3, 4, 5),
            type_id=2,
        )

    def whole(path: Path, size: int) -> object:
        # What a plain `requests` upload does: the file read, encoded and put in json= (requests
        # serialises the whole body in memory).
        body = {
            "file_name": path.name,
            "image_name": path.stem,
            "picture_time": "2026-01-02 03:04:05",
            "data": base64.b64encode(path.read_bytes()).decode(),
            "type": 2,
        }
        response = requests.post(
            f"{url}{path_of}", json=body, timeout=120, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return response

    return ours, whole


if __name__ == "__main__":
    main()
