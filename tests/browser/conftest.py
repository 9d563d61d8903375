"""Real headless Chromium (Debian's `chromium`) driven by Playwright against a real `photoshare serve`.

Screenshots land in `test-artifacts/screenshots/` (or `$PHOTOSHARE_ARTIFACTS`) so a failed run can be looked at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, LiveServer, start_live_server

CHROMIUM = os.environ.get("PHOTOSHARE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("PHOTOSHARE_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"
# Without the background-networking switches Chromium keeps dialling Google's hosts, which this sandbox refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path_factory.mktemp("browser"))
    # A second family member, to follow, share with and see the feed.
    r = httpx.post(
        f"{live.url}/v1/admin/users",
        json={"username": "bea", "password": "bea-password"},
        headers=live.login(),
    )
    r.raise_for_status()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (install.sh --test installs Debian's chromium when run as root)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Shots:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{self.prefix}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)
