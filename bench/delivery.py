"""Thumbnail delivery: req/s and p99 of GET /media/… vs a bare Litestar hello-world, same run.

Both servers run as one uvicorn process (uvloop + httptools), exactly as `photoshare serve` runs,
pinned to one core; wrk drives them from the other core over loopback. Also reports a signed
(private) thumbnail and a 2048 px "large" variant.

    .venv/bin/python bench/delivery.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, seconds: int, connections: int, accept: str = "image/webp,*/*") -> dict[str, float]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Accept: {accept}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99_text is not None
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_text.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    return {"rps": rps, "p99_ms": float(p99_text.group(1)) * factor}


def prepare(data_dir: Path, port: int) -> dict[str, str]:
    """A data folder with one public and one private processed photo; returns their thumb URLs."""
    from photoshare.context import build_context
    from photoshare.photos.service import PhotoMeta
    from photoshare.settings import load_settings
    from tests.conftest import make_jpeg

    settings = load_settings(None, {}, data_dir=str(data_dir), server={"port": port})
    ctx = build_context(settings, create=True)
    user = ctx.users.create("bench", "bench-password")
    urls = {}
    for visibility in ("public", "private"):
        src = data_dir / f"{visibility}.jpg"
        src.write_bytes(make_jpeg(4000, 3000, seed=1 if visibility == "public" else 2))
        photo = ctx.uploads.ingest_file(
            user, src, filename=src.name, content_type="image/jpeg", meta=PhotoMeta(visibility=visibility)
        )
        ctx.runner.run_until_idle()
        api = ctx.photos.get(user, photo["id"])
        urls[f"{visibility}_thumb"] = api["urls"]["thumb"]
        urls[f"{visibility}_large"] = api["urls"]["large"]
    ctx.close()
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        hello_port, ps_port = free_port(), free_port()
        urls = prepare(data, ps_port)
        try:
            procs.append(
                subprocess.Popen(
                    [
                        "taskset",
                        "-c",
                        "0",
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "bench.hello_app:app",
                        "--port",
                        str(hello_port),
                        "--loop",
                        "uvloop",
                        "--http",
                        "httptools",
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    cwd=REPO,
                    env=env,
                )
            )
            procs.append(
                subprocess.Popen(
                    [
                        "taskset",
                        "-c",
                        "0",
                        sys.executable,
                        "-m",
                        "photoshare",
                        "serve",
                        "--data-dir",
                        str(data),
                        "--port",
                        str(ps_port),
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            )
            wait_up(f"http://127.0.0.1:{hello_port}/")
            wait_up(f"http://127.0.0.1:{ps_port}/healthz")
            targets = {
                "litestar_hello_world": f"http://127.0.0.1:{hello_port}/",
                "public_thumb": urls["public_thumb"],
                "private_thumb_signed": urls["private_thumb"],
                "public_large_2048": urls["public_large"],
            }
            for name, url in targets.items():
                wrk(url, 2, args.connections)  # warm-up: caches, JIT-free but page cache and allocator
                results[name] = wrk(url, args.seconds, args.connections)
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
    hello = results["litestar_hello_world"]
    print(f"{'target':<22} {'req/s':>9} {'p99 ms':>8} {'vs hello':>9}")
    for name, r in results.items():
        print(f"{name:<22} {r['rps']:>9.0f} {r['p99_ms']:>8.2f} {r['rps'] / hello['rps']:>8.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
