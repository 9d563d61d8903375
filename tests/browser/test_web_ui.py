"""The web UI end to end in real headless Chromium against a real server process: sign in, upload corpus
photos and watch them become ready, browse the library and step through photos with the keyboard, make
an album, share it by password-protected link and open it in a fresh browser, follow someone and see
their post in the feed, search by camera, settings and admin, all at phone width with accessible names.

The tests of this module build on each other (one family's library), in file order.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import CORPUS, LiveServer

pytestmark = pytest.mark.browser

# Taken 2008-10-22 (with GPS, Tuscany), 2008-05-30 and 2008-03-15: the library shows them in that order.
GPS_PHOTO = "exif-samples/jpg/gps/DSCN0029.jpg"
CANON = "exif-samples/jpg/Canon_40D.jpg"
NIKON = "exif-samples/jpg/Nikon_D70.jpg"
BROKEN = "pillow/truncated_jpeg.jpg"
PHOTOS = [GPS_PHOTO, CANON, NIKON]
TIMEOUT_MS = 60_000

# A control without an accessible name (aria-label, aria-labelledby, a <label>, its text, title or an
# image's alt) is invisible to a screen reader: every page must have none.
UNNAMED_CONTROLS_JS = """() => {
  const unnamed = [];
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea, [role=button]';
  for (const el of document.querySelectorAll(controls)) {
    let name = el.getAttribute('aria-label') || '';
    const by = el.getAttribute('aria-labelledby');
    if (!name && by) name = by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ');
    if (!name && el.labels) name = [...el.labels].map((l) => l.textContent).join(' ');
    if (!name && (el.matches('a, button, [role=button]'))) name = el.textContent;
    if (!name) name = el.getAttribute('title') || el.querySelector('img[alt]')?.alt || '';
    if (!name.trim()) unnamed.push(el.outerHTML.slice(0, 160));
  }
  return unnamed;
}"""


class Family:
    """What the scenario has built so far."""

    photo_ids: list[str]
    album_id: str
    share_url: str


state = Family()


def sign_in(browser: Any, server: LiveServer, username: str, password: str, **context_args: Any) -> Any:
    context = browser.new_context(**context_args)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")
    return page


def api(server: LiveServer, method: str, path: str, username: str = "admin", **kwargs: Any) -> Any:
    headers = server.login(username, f"{username}-password")
    r = httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)
    r.raise_for_status()
    return r.json()


def test_upload_shows_progress_and_live_status(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("Who can see them").select_option("followers")
    page.set_input_files("#files", [str(CORPUS / p) for p in [*PHOTOS, BROKEN]])

    rows = page.locator(".upload-row")
    rows.first.wait_for()
    assert rows.count() == 4
    assert page.get_by_label("Upload progress for Canon_40D.jpg").count() == 1
    # Each row follows its photo to the end over the event stream: ready with a thumbnail, or failed with a reason.
    page.wait_for_function("document.querySelectorAll('.upload-row[data-state=ready]').length === 3")
    page.wait_for_function("document.querySelectorAll('.upload-row[data-state=failed]').length === 1")
    failed = page.locator('.upload-row[data-state="failed"]')
    assert "truncated_jpeg.jpg" in failed.inner_text()
    assert re.search(r"Failed: \S", failed.locator(".state").inner_text())
    for row in page.locator('.upload-row[data-state="ready"]').all():
        assert row.locator(".thumb img").evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "upload")

    photos = api(server, "GET", "/v1/photos?order=taken")["photos"]
    ready = [p for p in photos if p["status"] == "ready"]
    assert [p["title"] for p in ready] == ["DSCN0029", "Canon_40D", "Nikon_D70"]
    state.photo_ids = [p["photo_id"] for p in ready]
    page.context.close()


def test_library_groups_by_day_and_viewer_steps_with_keys(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    days = page.locator("section.day h2").all_inner_texts()
    # The file that failed has no EXIF date: it sits under today, with its reason on the tile.
    assert days == [
        date.today().strftime("%A %-d %B %Y"),
        "Wednesday 22 October 2008",
        "Friday 30 May 2008",
        "Saturday 15 March 2008",
    ]
    assert "Could not process" in page.locator("section.day").first.locator(".tile .failed").inner_text()
    tiles = page.locator('.tile[data-status="ready"] img')
    assert tiles.count() == 3
    # Thumbnails load for real and sit on their blurred placeholder while they do.
    for img in tiles.all():
        img.scroll_into_view_if_needed()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert "data:image" in (img.get_attribute("style") or "")
    shot(page, "library")

    page.locator(f'.tile[data-photo-id="{state.photo_ids[0]}"] a.open').click()
    page.wait_for_url(f"**/photos/{state.photo_ids[0]}")
    exif = page.locator("#exif").inner_text()
    assert "COOLPIX P6000" in exif
    assert "Italy" in page.locator("#place").inner_text()  # reverse-geocoded offline from the GPS tags
    assert page.get_by_role("img", name=re.compile("Position on a world map")).count() == 1
    assert page.locator("#large").evaluate("i => i.complete && i.naturalWidth > 0")
    shot(page, "photo")

    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{state.photo_ids[1]}")
    assert "Canon EOS 40D" in page.locator("#exif").inner_text()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{state.photo_ids[2]}")
    assert page.locator("#next").is_hidden()  # the last photo of the grid
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/photos/{state.photo_ids[1]}")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{server.url}/")

    # Likes, comments and tags on the photo page.
    page.goto(f"{server.url}/photos/{state.photo_ids[1]}")
    like = page.get_by_role("button", name="Like")
    like.click()
    page.wait_for_selector('[data-like][aria-pressed="true"]')
    assert like.locator(".n").inner_text() == "1"
    page.get_by_label("Write a comment").fill("What a day that was")
    page.get_by_role("button", name="Post").click()
    page.locator("#comment-list li", has_text="What a day that was").wait_for()
    page.get_by_text("Edit details").click()
    page.get_by_label("New tag").fill("grandma")
    page.get_by_role("button", name="Add tag").click()
    page.locator("#tags", has_text="#grandma").wait_for()
    body = api(server, "GET", f"/v1/photos/{state.photo_ids[1]}")
    assert body["tags"] == ["grandma"] and body["comment_count"] == 1 and body["like_count"] == 1
    page.context.close()


def test_album_shared_by_password_link_opens_in_a_fresh_browser(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    page.get_by_role("link", name="Albums").click()
    page.get_by_label("New album").fill("Tuscany 2008")
    page.get_by_role("button", name="Create album").click()
    page.wait_for_url(re.compile(r".*/albums/[0-9a-f]{32}$"))
    state.album_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("button", name="Add photos…").click()
    picker = page.locator("#picker")
    picker.locator("input.pick").first.wait_for()
    for photo_id in state.photo_ids[:2]:
        picker.locator(f'input.pick[value="{photo_id}"]').check()
    page.get_by_role("button", name="Add selected").click()
    page.wait_for_function("document.querySelectorAll('[data-grid] .tile').length === 2")
    order = [t.get_attribute("data-photo-id") for t in page.locator("[data-grid] .tile").all()]
    assert sorted(order) == sorted(state.photo_ids[:2])

    # Reorder from the keyboard: Alt+→ moves the focused photo one place later, and the order is saved.
    page.get_by_role("button", name="Reorder").click()
    page.locator(f'[data-grid] .tile[data-photo-id="{order[0]}"]').focus()
    page.keyboard.press("Alt+ArrowRight")
    page.get_by_text("Order saved").wait_for()
    saved = api(server, "GET", f"/v1/albums/{state.album_id}/photos")["photos"]
    assert [p["photo_id"] for p in saved] == [order[1], order[0]]

    page.get_by_role("button", name="Share…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Anyone with the link").check()
    dialog.get_by_label("View and download originals").check()
    dialog.get_by_label("Password (optional)").fill("tuscany-pw")
    dialog.get_by_label("Expires (optional)").fill((date.today() + timedelta(days=30)).isoformat())
    dialog.get_by_role("button", name="Create share").click()
    url_box = dialog.get_by_label("Share address")
    page.wait_for_function("document.getElementById('share-url').value.includes('/s/')")
    state.share_url = url_box.input_value()
    assert dialog.locator("#share-list li").count() == 1
    shot(page, "share-dialog")
    page.context.close()

    stranger = browser.new_context()
    stranger.set_default_timeout(TIMEOUT_MS)
    guest = stranger.new_page()
    guest.goto(state.share_url)
    assert guest.get_by_role("heading", name="This link is protected").count() == 1
    guest.get_by_label("Password").fill("wrong-password")
    guest.get_by_role("button", name="Open").click()
    assert guest.get_by_role("alert").count() == 1
    guest.get_by_label("Password").fill("tuscany-pw")
    guest.get_by_role("button", name="Open").click()
    guest.locator(".tile img").first.wait_for()
    imgs = guest.locator(".tile img")
    assert imgs.count() == 2
    for img in imgs.all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    download = guest.locator("a.download").first
    r = httpx.get(download.get_attribute("href") or "", timeout=30, follow_redirects=True)
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    shot(guest, "share-link")
    stranger.close()


def test_follow_and_see_the_post_in_the_feed(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "bea", "bea-password")
    page.goto(f"{server.url}/u/admin")
    page.get_by_role("button", name="Follow").click()
    page.get_by_role("button", name="Following").wait_for()
    assert page.locator("#followers").inner_text() == "1"
    # Following backfills recent posts into the timeline through the job pool: give it a moment.
    for _ in range(50):
        page.goto(f"{server.url}/feed")
        if page.locator(".post").count() == 3:
            break
        page.wait_for_timeout(200)
    posts = [p.get_attribute("data-photo-id") for p in page.locator(".post").all()]
    assert sorted(posts) == sorted(state.photo_ids)
    assert page.locator(".post header a").first.inner_text() == "admin"
    card = page.locator(f'.post[data-photo-id="{state.photo_ids[0]}"]')
    card.get_by_role("button", name="Like").click()
    card.locator('[data-like][aria-pressed="true"]').wait_for()
    shot(page, "feed")
    page.context.close()


def test_search_by_camera_with_facets(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    page.get_by_role("link", name="Search").click()
    page.get_by_text("Filters").click()
    page.get_by_label("Camera").fill("Canon EOS 40D")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*/search\?.*camera=Canon"))
    tiles = page.locator("[data-grid] .tile")
    assert [t.get_attribute("data-photo-id") for t in tiles.all()] == [state.photo_ids[1]]
    assert page.locator("#result-count").inner_text() == "1 result"

    page.goto(f"{server.url}/search?q=coolpix")
    assert [t.get_attribute("data-photo-id") for t in tiles.all()] == [state.photo_ids[0]]
    page.goto(f"{server.url}/search?q=&date_from=2008-01-01")
    facets = page.get_by_role("complementary", name="Refine")
    assert facets.get_by_role("link", name=re.compile(r"Camera .*COOLPIX P6000 \(1\)")).count() == 1
    facets.get_by_role("link", name=re.compile(r"Camera .*NIKON D70")).click()
    page.wait_for_url(re.compile(r".*camera=NIKON"))
    assert [t.get_attribute("data-photo-id") for t in tiles.all()] == [state.photo_ids[2]]
    shot(page, "search")
    page.context.close()


def test_settings_tokens_and_password(browser: Any, server: LiveServer) -> None:
    page = sign_in(browser, server, "bea", "bea-password")
    page.goto(f"{server.url}/settings")
    page.get_by_label("Token name").fill("backup script")
    page.get_by_role("button", name="Create token").click()
    token_box = page.get_by_label("Your new token (shown once)")
    page.wait_for_function("document.getElementById('token-value').value.startsWith('pst_')")
    token = token_box.input_value()
    assert httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.get_by_role("button", name="Revoke token backup script").click()
    page.get_by_text("Token revoked").wait_for()
    assert httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("bea-new-password")
    page.get_by_label("Repeat new password").fill("bea-new-password")
    page.get_by_role("button", name="Change password").click()
    page.locator("#password-error", has_text="current password is wrong").wait_for()
    page.get_by_label("Current password").fill("bea-password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed").wait_for()
    assert (
        httpx.post(f"{server.url}/v1/auth/login", json={"username": "bea", "password": "bea-new-password"}).status_code
        == 200
    )
    # This browser's session survived the change; later tests sign in with the old password, so put it back.
    page.get_by_label("Current password").fill("bea-new-password")
    page.get_by_label("New password", exact=True).fill("bea-password")
    page.get_by_label("Repeat new password").fill("bea-password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed").wait_for()
    page.context.close()


def test_admin_page_users_jobs_and_storage(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.locator("#users tbody tr", has_text="bea").wait_for()
    admin_row = page.locator("#users tbody tr", has_text="admin")
    assert admin_row.locator("td").nth(2).inner_text() == "4"  # three photos and the failed one
    page.locator("#storage dd").first.wait_for()
    assert "local" in page.locator("#storage").inner_text()
    # The truncated file's job is dead-lettered and offered for retry.
    page.locator("#jobs tbody tr").first.wait_for()
    assert "dead" in page.locator("#job-counts").inner_text()

    page.get_by_label("Username").fill("carl")
    page.get_by_label("Password").fill("carl-password")
    page.get_by_role("button", name="Add user").click()
    page.locator("#users tbody tr", has_text="carl").wait_for()
    page.get_by_role("button", name="Disable carl").click()
    page.get_by_role("button", name="Enable carl").wait_for()
    r = httpx.post(f"{server.url}/v1/auth/login", json={"username": "carl", "password": "carl-password"})
    assert r.status_code == 401
    shot(page, "admin")

    member = sign_in(browser, server, "bea", "bea-password")
    member.goto(f"{server.url}/admin")
    assert member.get_by_role("heading", name="Administrators only").count() == 1
    member.context.close()
    page.context.close()


def test_trash_restore_and_follow_requests(browser: Any, server: LiveServer) -> None:
    page = sign_in(browser, server, "admin", "admin-password")
    page.on("dialog", lambda dialog: dialog.accept())  # the "Move to trash?" confirmation
    photo_id = state.photo_ids[2]
    page.goto(f"{server.url}/photos/{photo_id}")
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_url(f"{server.url}/")
    assert page.locator(f'.tile[data-photo-id="{photo_id}"]').count() == 0
    page.get_by_role("link", name="Trash").click()
    page.get_by_role("button", name="Restore Nikon_D70").click()
    page.get_by_text("Restored to your library").wait_for()
    page.goto(f"{server.url}/")
    assert page.locator(f'.tile[data-photo-id="{photo_id}"]').count() == 1

    # A private account approves who may follow it.
    api(server, "PATCH", "/v1/users/me", username="bea", json={"private": True})
    page.goto(f"{server.url}/u/bea")
    page.get_by_role("button", name="Follow").click()
    page.get_by_role("button", name="Requested").wait_for()
    page.context.close()
    bea = sign_in(browser, server, "bea", "bea-password")
    bea.goto(f"{server.url}/settings")
    bea.get_by_role("button", name="Approve admin").click()
    bea.get_by_text("Request approved").wait_for()
    bea.context.close()
    admin_id = api(server, "GET", "/v1/me")["user_id"]
    assert api(server, "GET", f"/v1/users/{admin_id}/following")["items"][0]["username"] == "bea"


PAGES = [
    "/",
    "/upload",
    "/photos/{photo}",
    "/albums",
    "/albums/{album}",
    "/shared",
    "/feed",
    "/explore",
    "/u/admin",
    "/search?q=canon",
    "/settings",
    "/admin",
    "/trash",
    "/people",
]


def test_every_page_fits_a_phone_and_names_its_controls(browser: Any, server: LiveServer, shot: Any) -> None:
    page = sign_in(
        browser,
        server,
        "admin",
        "admin-password",
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    for path in PAGES:
        url = server.url + path.format(photo=state.photo_ids[0], album=state.album_id)
        response = page.goto(url)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width"
        assert page.evaluate(UNNAMED_CONTROLS_JS) == [], f"{path} has controls without an accessible name"
        shot(page, "phone" + re.sub(r"[^a-z]+", "-", path.split("?")[0]).rstrip("-"))
    page.context.close()

    guest = browser.new_context(viewport={"width": 375, "height": 740}).new_page()
    guest.goto(state.share_url)
    assert guest.evaluate(UNNAMED_CONTROLS_JS) == []
    guest.context.close()
