"""Server-sent events from a real `photoshare serve` process: photo.ready, photo.failed, follower.new,
comment.new, each delivered only to the user it concerns."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from tests.conftest import LiveServer, make_jpeg


class EventStream:
    """GET /v1/events read in a background thread; events are parsed per the SSE format."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self._response: httpx.Response | None = None
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=60.0))
        self._thread = threading.Thread(target=self._run, args=(headers,), daemon=True)
        self._thread.start()
        if not self.connected.wait(20):
            self.close()
            raise AssertionError(f"the event stream did not open: {self.error!r}")

    def _run(self, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", "/v1/events", headers=headers) as response:
                self._response = response
                assert response.status_code == 200, response.read()
                assert response.headers["content-type"].startswith("text/event-stream")
                kind, data = "message", []
                for line in response.iter_lines():
                    if line.startswith(":"):  # a comment: "connected" first, then keep-alives
                        self.connected.set()
                        continue
                    if not line:
                        text = "\n".join(data)
                        if text:  # (the comment lines come with an empty data field)
                            self.events.put((kind, json.loads(text)))
                        kind, data = "message", []
                        continue
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "event":
                        kind = value
                    elif name == "data":
                        data.append(value)
        except BaseException as exc:  # closed by the test, or a real failure reported by wait_for
            self.error = exc
            self.connected.set()

    def wait_for(self, kind: str, timeout: float = 60.0, **match: Any) -> dict[str, Any]:
        """The first event of `kind` whose data contains `match`; fails after `timeout` seconds."""
        for seen_kind, data in self.seen:
            if seen_kind == kind and all(data.get(k) == v for k, v in match.items()):
                return data
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen_kind, data = self.events.get(timeout=0.2)
            except queue.Empty:
                if not self._thread.is_alive():
                    break
                continue
            self.seen.append((seen_kind, data))
            if seen_kind == kind and all(data.get(k) == v for k, v in match.items()):
                return data
        raise AssertionError(f"no {kind} event with {match} within {timeout}s; got {self.seen}; error {self.error!r}")

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return self.seen

    def close(self) -> None:
        # Shut the socket down: that ends the blocking read in the reader thread at once.
        stream = None if self._response is None else self._response.extensions.get("network_stream")
        sock = None if stream is None else stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._client.close()


def upload(client: httpx.Client, headers: dict[str, str], data: bytes, name: str, visibility: str) -> str:
    """Two-phase upload through the API; returns the photo id."""
    ticket = client.post(
        "/v1/photos/upload-url",
        headers=headers,
        json={"filename": name, "content_type": "image/jpeg", "size_bytes": len(data)},
    )
    assert ticket.status_code == 200, ticket.text
    t = ticket.json()
    put = client.put(t["presigned_url"], content=data, headers=t["headers"])
    assert put.status_code == 200, put.text
    confirm = client.post(
        "/v1/photos", headers=headers, json={"upload_id": t["upload_id"], "title": name, "visibility": visibility}
    )
    assert confirm.status_code == 201, confirm.text
    return str(confirm.json()["photo_id"])


def add_user(server: LiveServer, name: str, password: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "photoshare",
            "user",
            "add",
            name,
            "--password",
            password,
            "--data-dir",
            str(server.data_dir),
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )


def test_events_reach_the_user_they_concern(live_server: LiveServer) -> None:
    admin = live_server.login()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        admin_id = client.get("/v1/me", headers=admin).json()["user_id"]
        add_user(live_server, "carol", "carol-password")
        carol = live_server.login("carol", "carol-password")
        carol_id = client.get("/v1/me", headers=carol).json()["user_id"]

        admin_stream = EventStream(live_server.url, admin)
        carol_stream = EventStream(live_server.url, carol)
        try:
            # photo.ready once processing is done.
            photo_id = upload(client, admin, make_jpeg(800, 600, seed=3), "ready.jpg", "public")
            ready = admin_stream.wait_for("photo.ready", photo_id=photo_id)
            assert ready["photo_id"] == photo_id
            assert client.get(f"/v1/photos/{photo_id}", headers=admin).json()["status"] == "ready"

            # photo.failed, with a reason, for bytes that are no image.
            broken_id = upload(client, admin, os.urandom(4096), "broken.jpg", "private")
            failed = admin_stream.wait_for("photo.failed", photo_id=broken_id)
            assert isinstance(failed["reason"], str) and failed["reason"]
            assert client.get(f"/v1/photos/{broken_id}", headers=admin).json()["status"] == "failed"

            # follower.new when carol follows the admin.
            r = client.post(f"/v1/users/{admin_id}/follow", headers=carol)
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
            follower = admin_stream.wait_for("follower.new", user_id=carol_id)
            assert follower["username"] == "carol"

            # comment.new when carol comments on the admin's photo.
            r = client.post(f"/v1/photos/{photo_id}/comments", headers=carol, json={"body": "lovely"})
            assert r.status_code == 201, r.text
            comment = admin_stream.wait_for("comment.new", photo_id=photo_id)
            assert comment["comment_id"] == r.json()["comment_id"]
            assert comment["user_id"] == carol_id and comment["username"] == "carol"

            # Commenting on your own photo notifies nobody; carol's stream got none of the admin's events.
            r = client.post(f"/v1/photos/{photo_id}/comments", headers=admin, json={"body": "thanks"})
            assert r.status_code == 201, r.text
            own = r.json()["comment_id"]
            time.sleep(0.5)
            admin_events = admin_stream.drain()
            assert not [d for k, d in admin_events if k == "comment.new" and d["comment_id"] == own]
            carol_kinds = {k for k, _ in carol_stream.drain()}
            assert not carol_kinds & {"photo.ready", "photo.failed", "follower.new", "comment.new"}
        finally:
            admin_stream.close()
            carol_stream.close()
