"""The appliance as a person runs it: a real `photoshare serve` process over HTTP.

Includes the durability check: kill -9 in the middle of a batch upload; after a restart every
acknowledged upload is present with its SHA-256 and every job finishes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, make_jpeg


def upload(client: httpx.Client, headers: dict[str, str], data: bytes, name: str) -> str:
    """Two-phase upload; returns the photo id once the appliance has acknowledged it."""
    ticket = client.post(
        "/v1/photos/upload-url",
        headers=headers,
        json={"filename": name, "content_type": "image/jpeg", "size_bytes": len(data)},
    )
    ticket.raise_for_status()
    t = ticket.json()
    put = client.put(t["presigned_url"], content=data, headers=t["headers"])
    put.raise_for_status()
    assert put.json()["sha256"] == hashlib.sha256(data).hexdigest()
    confirm = client.post("/v1/photos", headers=headers, json={"upload_id": t["upload_id"], "title": name})
    confirm.raise_for_status()
    assert confirm.status_code == 201
    return str(confirm.json()["photo_id"])


def wait_ready(client: httpx.Client, headers: dict[str, str], photo_ids: list[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    photos: dict[str, Any] = {}
    while time.monotonic() < deadline:
        photos = {pid: client.get(f"/v1/photos/{pid}", headers=headers).json() for pid in photo_ids}
        if all(p["status"] in ("ready", "failed") for p in photos.values()):
            return photos
        time.sleep(0.3)
    raise AssertionError(f"not processed in time: {[p['status'] for p in photos.values()]}")


def test_upload_process_view_over_http(live_server: LiveServer) -> None:
    headers = live_server.login()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        data = make_jpeg(3000, 2000, gps=True)
        t0 = time.monotonic()
        photo_id = upload(client, headers, data, "beach.jpg")
        assert time.monotonic() - t0 < 2.0  # acknowledgement never waits for processing
        photo = wait_ready(client, headers, [photo_id])[photo_id]
        assert photo["status"] == "ready" and (photo["width"], photo["height"]) == (3000, 2000)
        assert photo["exif"]["camera_make"] == "TestMake" and photo["exif"]["gps_lat"] == pytest.approx(52.37, abs=0.01)
        thumb = client.get(photo["urls"]["thumb"], headers={"Accept": "image/avif,image/webp,*/*"})
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        original = client.get(photo["urls"]["original"])
        assert hashlib.sha256(original.content).hexdigest() == hashlib.sha256(data).hexdigest()
        # The library page lists it with its placeholder.
        with httpx.Client(
            base_url=live_server.url, cookies={"photoshare_session": headers["Authorization"][7:]}
        ) as web:
            page = web.get("/")
        assert page.status_code == 200 and photo_id in page.text and "data:image/jpeg;base64," in page.text
        metrics = client.get("/metrics").text
        assert 'photoshare_photos{status="ready"} 1' in metrics
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/schema/openapi.json").json()["info"]["title"] == "photoshare"


def test_kill_9_mid_batch_loses_no_acknowledged_upload(live_server: LiveServer) -> None:
    headers = live_server.login()
    images = [make_jpeg(1600, 1200, seed=i) for i in range(40)]
    acknowledged: dict[str, str] = {}  # photo_id -> sha256
    stop = threading.Event()

    def uploader() -> None:
        with httpx.Client(base_url=live_server.url, timeout=10) as client:
            for i, data in enumerate(images):
                if stop.is_set():
                    return
                try:
                    photo_id = upload(client, headers, data, f"img{i}.jpg")
                except (httpx.HTTPError, AssertionError):
                    return  # the server died under us: this upload was never acknowledged
                acknowledged[photo_id] = hashlib.sha256(data).hexdigest()

    thread = threading.Thread(target=uploader)
    thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 12 and time.monotonic() < deadline:
        time.sleep(0.02)
    live_server.kill()  # SIGKILL: no graceful shutdown, jobs mid-flight, uploads mid-stream
    stop.set()
    thread.join(30)
    assert len(acknowledged) >= 12

    live_server.start()
    headers = live_server.login()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        photos = wait_ready(client, headers, list(acknowledged))
        for photo_id, sha in acknowledged.items():
            photo = photos[photo_id]
            assert photo["sha256"] == sha
            assert photo["status"] == "ready", photo["failure_reason"]
            assert hashlib.sha256(client.get(photo["urls"]["original"]).content).hexdigest() == sha
        health = client.get("/healthz").json()
        deadline = time.monotonic() + 60
        while health["jobs_pending"] and time.monotonic() < deadline:
            time.sleep(0.2)
            health = client.get("/healthz").json()
        assert health["jobs_pending"] == 0
