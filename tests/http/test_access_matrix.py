"""The authorisation matrix: every viewer x every photo and album, asserted as data.

One world is built once per module (alice's photos behind every kind of door, plus the people and
links standing in front of them). Each cell of the table below is one test: the JSON answer, the
media URLs that answer handed out (variants always, the original only with download), EXIF GPS
only with download, and for denied cells that no URL can be bent into access. Listings (own
library, shared-with-me, album pages, link pages) are checked against the same world.

Revocation is checked on small fresh worlds: after each way access can shrink, the URLs handed out
before stop working at once and the JSON endpoints deny too.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from photoshare.clock import to_iso
from photoshare.pagination import encode_cursor
from tests.conftest import NO_ML, bearer, make_jpeg
from tests.conftest import drain as _process
from tests.conftest import local_path as _path

# == the matrix, as data ==========================================================================
# Photo columns (all of alice's except "erins"; every file carries GPS EXIF):
PHOTO_DOORS = {
    "private": "alice, visibility private (plus an expired users-share to gina)",
    "followers": "alice, visibility followers (frank follows alice); also in album F",
    "public": "alice, visibility public",
    "shared": "alice, private; users-share to carol (view) and to dave (download)",
    "in_album": "alice, private; only inside album A (users-share to carol (view), album links)",
    "via_link": "alice, private; photo links (view, download, password, revoked; gina's revoked share)",
    "trashed": "alice, was public, users-shared to carol and in album A; now in the trash",
    "erins": "erin, private",
}
PHOTOS = tuple(PHOTO_DOORS)

# D = sees it and may download (variants + original), V = sees it, variants only,
# T = owner sees the trashed photo in the JSON API, - = denied (404, or the broken link's status).
# Adding a viewer or a photo is one row or one column here (plus its set-up in _build_world).
MATRIX_TABLE = """
viewer           private followers public shared in_album via_link trashed erins
alice            D       D         D      D      D        D        T       -
carol            -       -         V      V      V        -        -       -
dave             -       -         V      D      -        -        -       -
frank            -       V         V      -      -        -        -       -
erin             -       -         V      -      -        -        -       D
gina             -       -         V      -      -        -        -       -
anonymous        -       -         V      -      -        -        -       -
link_view        -       -         V      -      -        V        -       -
link_download    -       -         V      -      -        D        -       -
link_pw_ok       -       -         V      -      -        V        -       -
link_pw_missing  -       -         -      -      -        -        -       -
link_pw_wrong    -       -         -      -      -        -        -       -
link_expired     -       -         -      -      -        -        -       -
link_revoked     -       -         -      -      -        -        -       -
link_exhausted   -       -         -      -      -        -        -       -
album_link       -       -         V      -      D        -        -       -
"""


def _table(text: str) -> dict[str, dict[str, str]]:
    rows = [line.split() for line in text.strip().splitlines()]
    columns = rows[0][1:]
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows[1:]}


MATRIX = _table(MATRIX_TABLE)
assert all(tuple(row) == PHOTOS for row in MATRIX.values()), "matrix columns must match PHOTO_DOORS"

USERS = ("alice", "carol", "dave", "frank", "erin", "gina")
PASSWORD = "open-sesame"

# The world's share links: name -> (target type, target, share body, what happens to it afterwards).
LINK_SPECS: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    "photo_view": ("photo", "via_link", {"permissions": "view"}, None),
    "photo_download": ("photo", "via_link", {"permissions": "download"}, None),
    "photo_password": ("photo", "via_link", {"permissions": "view", "password": PASSWORD}, None),
    "photo_revoked": ("photo", "via_link", {"permissions": "download"}, "revoke"),
    "album_download": ("album", "A", {"permissions": "download"}, None),
    "album_expired": ("album", "A", {"permissions": "download"}, "expire"),
    "album_exhausted": ("album", "A", {"permissions": "view", "max_views": 1}, "exhaust"),
}
# Link holders: viewer -> (link they hold, password they send in X-Share-Password).
LINK_VIEWERS: dict[str, tuple[str, str | None]] = {
    "link_view": ("photo_view", None),
    "link_download": ("photo_download", None),
    "link_pw_ok": ("photo_password", PASSWORD),
    "link_pw_missing": ("photo_password", None),
    "link_pw_wrong": ("photo_password", "not-the-password"),
    "link_expired": ("album_expired", None),
    "link_revoked": ("photo_revoked", None),
    "link_exhausted": ("album_exhausted", None),
    "album_link": ("album_download", None),
}
# Denied cells answer 404 unless the link itself is broken: then every request says why.
DENIED_STATUS = {"link_pw_missing": 401, "link_pw_wrong": 403, "link_expired": 410, "link_exhausted": 410}
# viewer -> (status, error code) of GET /v1/links/{token}, and the status of GET /s/{token}.
BROKEN_LINKS = {
    "link_pw_missing": (401, "password_required", 401),
    "link_pw_wrong": (403, "bad_password", None),  # the page takes passwords by POST; see the form test
    "link_expired": (410, "link_expired", 410),
    "link_revoked": (404, "link_not_found", 404),
    "link_exhausted": (410, "link_exhausted", 410),
}

# Albums: A is private (users-share to carol, view; the album links above); F is followers-only.
ALBUM_PHOTOS = {"A": {"in_album"}, "F": {"followers"}}  # what a viewer sees in them (trash left out)
# O = owner, V = sees it (not owner), - = cannot see it.
ALBUM_TABLE = """
viewer     A  F
alice      O  O
carol      V  -
dave       -  -
frank      -  V
erin       -  -
gina       -  -
anonymous  -  -
"""
ALBUM_MATRIX = _table(ALBUM_TABLE)

LIBRARY = {
    "alice": {"private", "followers", "public", "shared", "in_album", "via_link"},
    "erin": {"erins"},
    "carol": set(),
    "dave": set(),
    "frank": set(),
    "gina": set(),
}
SHARED_WITH = {
    "alice": set(),
    "carol": {("photo", "shared"), ("album", "A")},  # the trashed photo's share is not listed
    "dave": {("photo", "shared")},
    "frank": set(),
    "erin": set(),
    "gina": set(),  # one share expired, one revoked
}


# == helpers ======================================================================================


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _rescoped(url: str, scope: str) -> str:
    """The same signed URL claiming another viewer scope (the signature is kept)."""
    q = _query(url)
    q["v"] = scope
    return f"{url.split('?')[0]}?{urlencode(q)}"


def _upload(client: Any, headers: dict[str, str], data: bytes, **meta: Any) -> str:
    body = {"filename": "p.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}
    r = client.post("/v1/photos/upload-url", json=body, headers=headers)
    assert r.status_code == 200, r.text
    grant = r.json()
    put = client.put(_path(grant["presigned_url"]), content=data, headers=grant["headers"])
    assert put.status_code == 200, put.text
    r = client.post("/v1/photos", json={"upload_id": grant["upload_id"], **meta}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["photo_id"])


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
    return r.json()


def _share(client: Any, headers: dict[str, str], kind: str, target_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return dict(_ok(client.post(f"/v1/{kind}s/{target_id}/share", json=body, headers=headers), 201))


def _media(client: Any, url: str) -> Any:
    """Fetch a media URL the way a browser <img> does: no credentials, only the URL."""
    return client.get(_path(url), headers={"Accept": "image/webp,image/*,*/*;q=0.8"})


def _token(share_url: str) -> str:
    return share_url.rsplit("/s/", 1)[1]


def _grid(page: str) -> tuple[list[str], list[str], list[str]]:
    """Photo ids, <img> sources and download links of a share page's grid."""
    ids = re.findall(r'data-photo-id="([^"]+)"', page)
    imgs = [html.unescape(u) for u in re.findall(r'<img src="([^"]+)"', page)]
    downloads = [html.unescape(u) for u in re.findall(r'<a class="download" href="([^"]+)"', page)]
    return ids, imgs, downloads


def _gps(body: dict[str, Any]) -> tuple[Any, Any, Any]:
    exif = body.get("exif") or {}
    return exif.get("gps_lat"), exif.get("gps_lng"), exif.get("gps_alt")


@dataclass
class Link:
    token: str
    share_id: str


@dataclass
class World:
    ctx: Any
    client: Any
    asgi: Any
    users: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    photos: dict[str, str] = field(default_factory=dict)
    originals: dict[str, bytes] = field(default_factory=dict)
    owner_urls: dict[str, dict[str, str]] = field(default_factory=dict)
    albums: dict[str, str] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def key_of(self, photo_id: str) -> str:
        return next((k for k, v in self.photos.items() if v == photo_id), f"<unknown {photo_id}>")

    def album_key(self, album_id: str) -> str:
        return next((k for k, v in self.albums.items() if v == album_id), f"<unknown {album_id}>")

    def scope(self, viewer: str) -> str:
        """The `v` a signed media URL minted for this viewer carries."""
        if viewer in LINK_VIEWERS:
            return f"s.{self.links[LINK_VIEWERS[viewer][0]].share_id}"
        if viewer == "anonymous":
            return "p"
        return f"u.{self.users[viewer].id}"

    def link_headers(self, viewer: str) -> dict[str, str]:
        password = LINK_VIEWERS[viewer][1]
        return {"X-Share-Password": password} if password else {}

    def get_photo(self, viewer: str, key: str) -> Any:
        """What this viewer's client asks for a photo: the JSON API, or the link's photo endpoint."""
        photo_id = self.photos[key]
        if viewer in LINK_VIEWERS:
            token = self.links[LINK_VIEWERS[viewer][0]].token
            return self.client.get(f"/v1/links/{token}/photos/{photo_id}", headers=self.link_headers(viewer))
        return self.client.get(f"/v1/photos/{photo_id}", headers=self.headers[viewer])


def _build_world(ctx: Any, client: Any, asgi: Any) -> World:
    w = World(ctx, client, asgi)
    for name in USERS:
        w.users[name] = ctx.users.create(name, f"{name}-password")
        w.headers[name] = bearer(ctx, w.users[name])
    w.headers["anonymous"] = {}
    alice = w.headers["alice"]

    visibility = {"followers": "followers", "public": "public", "trashed": "public"}
    for seed, key in enumerate(PHOTOS, start=1):
        owner = "erin" if key == "erins" else "alice"
        data = make_jpeg(600, 400, gps=True, seed=seed * 29)
        w.photos[key] = _upload(client, w.headers[owner], data, title=key, visibility=visibility.get(key, "private"))
        w.originals[key] = data
    _process(ctx)

    _ok(client.post(f"/v1/users/{w.users['alice'].id}/follow", headers=w.headers["frank"]))
    uid = {name: u.id for name, u in w.users.items()}
    _share(client, alice, "photo", w.photos["shared"], {"type": "users", "user_ids": [uid["carol"]]})
    _share(
        client,
        alice,
        "photo",
        w.photos["shared"],
        {"type": "users", "permissions": "download", "user_ids": [uid["dave"]]},
    )
    _share(client, alice, "photo", w.photos["trashed"], {"type": "users", "user_ids": [uid["carol"]]})
    expired = _share(client, alice, "photo", w.photos["private"], {"type": "users", "user_ids": [uid["gina"]]})
    revoked = _share(
        client,
        alice,
        "photo",
        w.photos["via_link"],
        {"type": "users", "permissions": "download", "user_ids": [uid["gina"]]},
    )
    _ok(client.delete(f"/v1/shares/{revoked['share_id']}", headers=alice))

    album_a = {"title": "A", "photo_ids": [w.photos["in_album"], w.photos["trashed"]]}
    w.albums["A"] = _ok(client.post("/v1/albums", json=album_a, headers=alice), 201)["album_id"]
    album_f = {"title": "F", "visibility": "followers", "photo_ids": [w.photos["followers"]]}
    w.albums["F"] = _ok(client.post("/v1/albums", json=album_f, headers=alice), 201)["album_id"]
    _share(client, alice, "album", w.albums["A"], {"type": "users", "user_ids": [uid["carol"]]})

    past = to_iso(time.time() - 60)
    for name, (kind, target, body, then) in LINK_SPECS.items():
        target_id = w.photos[target] if kind == "photo" else w.albums[target]
        out = _share(client, alice, kind, target_id, {"type": "link", **body})
        w.links[name] = Link(_token(out["share_url"]), out["share_id"])
        if then == "revoke":
            _ok(client.delete(f"/v1/shares/{out['share_id']}", headers=alice))
        elif then == "expire":  # as if its expires_at had passed
            ctx.db.execute("UPDATE shares SET expires_at = ? WHERE id = ?", (past, out["share_id"]))
        elif then == "exhaust":
            _ok(client.get(f"/v1/links/{w.links[name].token}"))
    ctx.db.execute("UPDATE shares SET expires_at = ? WHERE id = ?", (past, expired["share_id"]))

    for key, photo_id in w.photos.items():
        owner = "erin" if key == "erins" else "alice"
        w.owner_urls[key] = _ok(client.get(f"/v1/photos/{photo_id}", headers=w.headers[owner]))["urls"]
    _ok(client.delete(f"/v1/photos/{w.photos['trashed']}", headers=alice))
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi
    from photoshare.context import build_context
    from photoshare.settings import load_settings

    settings = load_settings(
        None,
        NO_ML,
        data_dir=str(tmp_path_factory.mktemp("matrix") / "data"),
        jobs={"backoff_s": 0.01, "media_workers": 1, "poll_s": 0.05},
    )
    ctx = build_context(settings, create=True)
    try:
        asgi = create_asgi(ctx)
        with TestClient(app=asgi, base_url=settings.base_url) as client:
            yield _build_world(ctx, client, asgi)
    finally:
        ctx.close()


@pytest.fixture
def w(world: World) -> World:
    """The shared world, with no cookies left over and a fresh password-attempt limiter."""
    from photoshare.users.api import LoginLimiter

    world.client.cookies.clear()
    limit = world.ctx.settings.limits.login_attempts_per_minute
    world.asgi.litestar.state.login_limiter = LoginLimiter(limit)
    return world


# == viewer x photo ===============================================================================
CELLS = [(viewer, photo) for viewer in MATRIX for photo in PHOTOS]


@pytest.mark.parametrize(("viewer", "photo"), CELLS, ids=[f"{v}-{p}" for v, p in CELLS])
def test_photo_access_matrix(w: World, viewer: str, photo: str) -> None:
    expected = MATRIX[viewer][photo]
    where = f"{viewer} x {photo} [{PHOTO_DOORS[photo]}], expected {expected!r}"
    r = w.get_photo(viewer, photo)

    if expected == "T":
        assert r.status_code == 200, f"{where}: the owner should still see a trashed photo, got {r.status_code}"
        assert r.json()["deleted_at"], f"{where}: a trashed photo should say so"
        return

    if expected == "-":
        want = DENIED_STATUS.get(viewer, 404)
        assert r.status_code == want, f"{where}: should be denied with {want}, got {r.status_code}: {r.text[:300]}"
        assert "urls" not in r.text and w.photos[photo] not in r.text, f"{where}: the denial leaks data: {r.text}"
        _assert_no_capability_for(w, viewer, photo, where)
        return

    assert r.status_code == 200, f"{where}: should be visible, got {r.status_code}: {r.text[:300]}"
    body = r.json()
    assert body["photo_id"] == w.photos[photo], where
    urls = body["urls"]
    for name in ("thumb", "medium", "large"):
        assert urls[name], f"{where}: no {name} URL was handed out"
        m = _media(w.client, urls[name])
        assert m.status_code == 200, f"{where}: the {name} URL handed out does not work: {m.status_code} {m.text}"
    download = expected == "D"
    assert body["can_download"] is download, f"{where}: can_download is {body['can_download']}"
    if download:
        assert urls["original"], f"{where}: no original URL despite download permission"
        m = _media(w.client, urls["original"])
        assert m.status_code == 200, f"{where}: the original URL does not work: {m.status_code} {m.text}"
        assert m.content == w.originals[photo], f"{where}: the original bytes differ from the upload"
        assert None not in _gps(body)[:2], f"{where}: GPS should be visible with download permission: {body['exif']}"
    else:
        assert urls["original"] is None, f"{where}: an original URL leaks to a view-only viewer: {urls['original']}"
        assert _gps(body) == (None, None, None), f"{where}: GPS leaks to a viewer without download: {body['exif']}"
    is_owner = (viewer, photo) in {("erin", "erins")} or (viewer == "alice" and photo != "erins")
    if not is_owner:
        assert body.get("sha256") is None and body.get("filename") is None, f"{where}: owner-only fields leak"
        assert "shares" not in (body.get("sharing") or {}), f"{where}: the owner's share list leaks: {body['sharing']}"


def _assert_no_capability_for(w: World, viewer: str, photo: str, where: str) -> None:
    """A denied viewer cannot turn URLs minted for the owner into their own; those URLs are bearer
    capabilities of the viewer they were minted for, nothing more."""
    if MATRIX["anonymous"][photo] != "-":
        return  # public media is a capability of everyone; denied here only because the link is broken
    gone = photo == "trashed"  # the media server does not know trashed photos at all
    denied = 404 if gone else 403
    owner_urls = w.owner_urls[photo]
    for name in ("thumb", "original"):
        url = owner_urls[name]
        bare = url.split("?")[0]
        got = _media(w.client, bare).status_code
        assert got == denied, f"{where}: the unsigned {name} URL answers {got}, expected {denied}"
        if "sig" in _query(url):
            forged = _rescoped(url, w.scope(viewer))
            got = _media(w.client, forged).status_code
            assert got == denied, f"{where}: the owner's {name} URL re-scoped to {viewer} answers {got}"
    if not gone:
        got = _media(w.client, owner_urls["thumb"]).status_code
        assert got == 200, f"{where}: the owner's own capability URL should still work for its bearer, got {got}"


# == listings =====================================================================================
@pytest.mark.parametrize("viewer", list(LIBRARY))
def test_own_library_lists_only_own_photos(w: World, viewer: str) -> None:
    body = _ok(w.client.get("/v1/photos", params={"limit": 200}, headers=w.headers[viewer]))
    got = {w.key_of(p["photo_id"]) for p in body["photos"]}
    assert got == LIBRARY[viewer], f"GET /v1/photos for {viewer}: got {sorted(got)}, expected {sorted(LIBRARY[viewer])}"
    assert body["total"] == len(LIBRARY[viewer])
    assert all(p["user_id"] == w.users[viewer].id for p in body["photos"])


def test_library_needs_a_user(w: World) -> None:
    assert w.client.get("/v1/photos").status_code == 401
    assert w.client.get("/v1/shared").status_code == 401


@pytest.mark.parametrize("viewer", list(SHARED_WITH))
def test_shared_with_me_lists_exactly_what_is_shared(w: World, viewer: str) -> None:
    body = _ok(w.client.get("/v1/shared", headers=w.headers[viewer]))
    got = set()
    for item in body["items"]:
        if "photo" in item:
            got.add(("photo", w.key_of(item["photo"]["photo_id"])))
        else:
            got.add(("album", w.album_key(item["album"]["album_id"])))
        assert item["shared_by"] == "alice", item
    assert got == SHARED_WITH[viewer], f"GET /v1/shared for {viewer}: got {sorted(got)}, want {SHARED_WITH[viewer]}"
    for item in body["items"]:
        if "photo" in item:  # the listing hands out the same permissions as the photo itself
            expected = MATRIX[viewer][w.key_of(item["photo"]["photo_id"])]
            assert (item["photo"]["urls"]["original"] is not None) == (expected == "D"), item


# == albums =======================================================================================
ALBUM_CELLS = [(viewer, album) for viewer in ALBUM_MATRIX for album in ALBUM_PHOTOS]


@pytest.mark.parametrize(("viewer", "album"), ALBUM_CELLS, ids=[f"{v}-{a}" for v, a in ALBUM_CELLS])
def test_album_read_matrix(w: World, viewer: str, album: str) -> None:
    expected = ALBUM_MATRIX[viewer][album]
    where = f"{viewer} x album {album}, expected {expected!r}"
    album_id = w.albums[album]
    h = w.headers[viewer]
    r = w.client.get(f"/v1/albums/{album_id}", headers=h)
    photos = w.client.get(f"/v1/albums/{album_id}/photos", headers=h)
    if expected == "-":
        assert r.status_code == 404, f"{where}: GET album answers {r.status_code}: {r.text[:200]}"
        assert photos.status_code == 404, f"{where}: GET album photos answers {photos.status_code}"
        assert album_id not in r.text + photos.text, where
        return
    assert r.status_code == 200, f"{where}: GET album answers {r.status_code}: {r.text[:200]}"
    assert r.json()["permissions"]["edit"] is (expected == "O"), where
    assert photos.status_code == 200, f"{where}: GET album photos answers {photos.status_code}"
    items = photos.json()["photos"]
    got = {w.key_of(p["photo_id"]) for p in items}
    assert got == ALBUM_PHOTOS[album], f"{where}: album lists {sorted(got)}"
    for p in items:
        assert _media(w.client, p["urls"]["thumb"]).status_code == 200, f"{where}: thumb URL from the album fails"
        key = w.key_of(p["photo_id"])
        may_download = expected == "O" or MATRIX[viewer][key] == "D"
        assert (p["urls"]["original"] is not None) == may_download, f"{where}: original URL {p['urls']['original']}"


def _album_mutations(w: World, album: str) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    album_id = w.albums[album]
    inside = [w.photos[next(iter(ALBUM_PHOTOS[album]))]]
    return {
        "patch": ("PATCH", f"/v1/albums/{album_id}", {"title": "hijacked"}),
        "delete": ("DELETE", f"/v1/albums/{album_id}", None),
        "add_photos": ("POST", f"/v1/albums/{album_id}/photos", {"photo_ids": [w.photos["public"]]}),
        "remove_photos": ("DELETE", f"/v1/albums/{album_id}/photos", {"photo_ids": inside}),
        "share": ("POST", f"/v1/albums/{album_id}/share", {"type": "link"}),
    }


MUTATIONS = ("patch", "delete", "add_photos", "remove_photos", "share")
MUTATION_CELLS = [(v, a, m) for v, a in ALBUM_CELLS for m in MUTATIONS if v != "alice"]


@pytest.mark.parametrize(
    ("viewer", "album", "action"), MUTATION_CELLS, ids=[f"{v}-{a}-{m}" for v, a, m in MUTATION_CELLS]
)
def test_album_mutations_only_by_the_owner(w: World, viewer: str, album: str, action: str) -> None:
    sees = ALBUM_MATRIX[viewer][album] != "-"
    want = 401 if viewer == "anonymous" else 403 if sees else 404
    method, url, body = _album_mutations(w, album)[action]
    r = w.client.request(method, url, json=body, headers=w.headers[viewer])
    assert r.status_code == want, f"{viewer} {action} album {album}: expected {want}, got {r.status_code}: {r.text}"
    after = _ok(w.client.get(f"/v1/albums/{w.albums[album]}", headers=w.headers["alice"]))
    assert after["title"] == album and after["photo_count"] == len(ALBUM_PHOTOS[album]), after


def test_album_owner_can_mutate(w: World) -> None:
    alice = w.headers["alice"]
    album_id = w.albums["F"]
    before = _ok(w.client.get(f"/v1/albums/{album_id}", headers=alice))
    _ok(w.client.patch(f"/v1/albums/{album_id}", json={"description": "still F"}, headers=alice))
    _ok(w.client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": []}, headers=alice))
    _ok(w.client.request("DELETE", f"/v1/albums/{album_id}/photos", json={"photo_ids": []}, headers=alice))
    after = _ok(w.client.get(f"/v1/albums/{album_id}", headers=alice))
    assert after["description"] == "still F" and after["photo_count"] == before["photo_count"]


# == links ========================================================================================
HEALTHY_LINKS = ("link_view", "link_download", "link_pw_ok", "album_link")


@pytest.mark.parametrize("viewer", HEALTHY_LINKS)
def test_link_json_shows_its_target_and_only_what_it_allows(w: World, viewer: str) -> None:
    link_name = LINK_VIEWERS[viewer][0]
    kind, target, spec, _ = LINK_SPECS[link_name]
    download = spec["permissions"] == "download"
    body = _ok(w.client.get(f"/v1/links/{w.links[link_name].token}", headers=w.link_headers(viewer)))
    assert body["share"]["permissions"] == spec["permissions"]
    assert body["share"]["target_type"] == kind
    if kind == "album":
        assert body["album"]["album_id"] == w.albums[target]
        assert body["album"]["permissions"] == {"edit": False, "download": download}
        photos = body["photos"]
        assert {w.key_of(p["photo_id"]) for p in photos} == ALBUM_PHOTOS[target], photos
    else:
        photos = [body["photo"]]
        assert body["photo"]["photo_id"] == w.photos[target]
    for p in photos:
        key = w.key_of(p["photo_id"])
        assert _query(p["urls"]["thumb"])["v"] == w.scope(viewer), "link media must be minted for the link"
        assert _media(w.client, p["urls"]["thumb"]).status_code == 200
        if download:
            assert p["urls"]["original"], f"{viewer}: a download link must expose the original"
            assert _media(w.client, p["urls"]["original"]).content == w.originals[key]
        else:
            assert p["urls"]["original"] is None, f"{viewer}: a view-only link exposes the original"
    # The link opens its own target only: another private photo of the same owner stays hidden.
    other = w.client.get(
        f"/v1/links/{w.links[link_name].token}/photos/{w.photos['private']}", headers=w.link_headers(viewer)
    )
    assert other.status_code == 404, other.text


@pytest.mark.parametrize("viewer", list(BROKEN_LINKS))
def test_broken_links_say_why(w: World, viewer: str) -> None:
    status, code, page_status = BROKEN_LINKS[viewer]
    token = w.links[LINK_VIEWERS[viewer][0]].token
    r = w.client.get(f"/v1/links/{token}", headers=w.link_headers(viewer))
    assert r.status_code == status, f"{viewer}: GET /v1/links answers {r.status_code}: {r.text}"
    assert r.json()["error"]["code"] == code, r.text
    assert "/media/" not in r.text
    if page_status is not None:
        page = w.client.get(f"/s/{token}")
        assert page.status_code == page_status, f"{viewer}: GET /s/ answers {page.status_code}"
        assert "/media/" not in page.text and "data-photo-id" not in page.text, f"{viewer}: the page leaks photos"


def test_exhausted_link_cannot_be_read_through_a_crafted_cursor(w: World) -> None:
    """Pages after the first are not counted as views, but they must not reopen a used-up link."""
    token = w.links["album_exhausted"].token
    assert w.client.get(f"/v1/links/{token}").status_code == 410
    cursor = encode_cursor(f"{0:012d}")  # "after position 0": the whole album
    r = w.client.get(f"/v1/links/{token}", params={"cursor": cursor})
    assert r.status_code == 410, (
        f"an exhausted link still lists its album with ?cursor=: {r.status_code} {r.text[:300]}"
    )


def test_max_views_counts_opens_and_then_answers_410(w: World) -> None:
    alice = w.headers["alice"]
    out = _share(w.client, alice, "photo", w.photos["via_link"], {"type": "link", "max_views": 2})
    token = _token(out["share_url"])
    assert w.client.get(f"/v1/links/{token}").status_code == 200
    assert w.client.get(f"/s/{token}").status_code == 200
    for url in (f"/v1/links/{token}", f"/s/{token}"):
        r = w.client.get(url)
        assert r.status_code == 410, f"{url} after max_views: {r.status_code}"
        assert "/media/" not in r.text
    mine = _ok(w.client.get("/v1/shares", headers=alice))["items"]
    listed = next(s for s in mine if s["share_id"] == out["share_id"])
    assert listed["view_count"] == 2 and listed["max_views"] == 2


def test_password_link_page_flow(w: World) -> None:
    token = w.links["photo_password"].token
    photo_id = w.photos["via_link"]
    page = w.client.get(f"/s/{token}")
    assert page.status_code == 401
    assert 'name="password"' in page.text and f'action="/s/{token}"' in page.text
    assert photo_id not in page.text and "/media/" not in page.text

    wrong = w.client.post(f"/s/{token}", data={"password": "not-the-password"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert 'name="password"' in wrong.text and "/media/" not in wrong.text
    assert not any(c.startswith("photoshare_link_") for c in w.client.cookies), "a wrong password unlocked the link"

    ok = w.client.post(f"/s/{token}", data={"password": PASSWORD}, follow_redirects=False)
    assert ok.status_code in (302, 303), ok.text
    assert ok.headers["location"].endswith(f"/s/{token}")
    assert "httponly" in ok.headers.get("set-cookie", "").lower()
    page = w.client.get(f"/s/{token}")
    assert page.status_code == 200, page.text[:300]
    ids, imgs, downloads = _grid(page.text)
    assert ids == [photo_id]
    assert imgs and _media(w.client, imgs[0]).status_code == 200
    assert downloads == [], "a view-only link page offers the original"
    # The unlock also serves the JSON link API (its cookie is scoped there too).
    assert w.client.get(f"/v1/links/{token}").status_code == 200
    # Without the cookie the page asks again; the password is not stored in clear.
    w.client.cookies.clear()
    assert w.client.get(f"/s/{token}").status_code == 401
    stored = w.ctx.db.value("SELECT password_hash FROM shares WHERE id = ?", (w.links["photo_password"].share_id,))
    assert stored and PASSWORD not in stored and stored.startswith("$argon2")


@pytest.mark.parametrize("viewer", ["link_view", "link_download", "album_link"])
def test_link_page_grid(w: World, viewer: str) -> None:
    link_name = LINK_VIEWERS[viewer][0]
    kind, target, spec, _ = LINK_SPECS[link_name]
    page = w.client.get(f"/s/{w.links[link_name].token}")
    assert page.status_code == 200, page.text[:300]
    ids, imgs, downloads = _grid(page.text)
    expected = ALBUM_PHOTOS[target] if kind == "album" else {target}
    assert {w.key_of(i) for i in ids} == expected, f"{viewer}: page shows {[w.key_of(i) for i in ids]}"
    assert all(_media(w.client, u).status_code == 200 for u in imgs)
    if spec["permissions"] == "download":
        assert len(downloads) == len(ids), f"{viewer}: a download link page offers no originals"
        for url in downloads:
            m = _media(w.client, url)
            assert m.status_code == 200 and m.content in w.originals.values()
    else:
        assert downloads == [], f"{viewer}: a view-only link page offers originals"


# == revocation: handed-out URLs stop working at once ===============================================
def _person(ctx: Any, name: str) -> tuple[Any, dict[str, str]]:
    user = ctx.users.create(name, f"{name}-password")
    return user, bearer(ctx, user)


def _ready_photo(client: Any, ctx: Any, headers: dict[str, str], seed: int, **meta: Any) -> str:
    photo_id = _upload(client, headers, make_jpeg(600, 400, seed=seed), **meta)
    _process(ctx)
    return photo_id


def _urls_working(client: Any, headers: dict[str, str] | None, photo_id: str, *, download: bool) -> dict[str, str]:
    """GET the photo as this viewer and prove the URLs it hands out work (warming every cache)."""
    urls = _ok(client.get(f"/v1/photos/{photo_id}", headers=headers or {}))["urls"]
    names = ("thumb", "large", "original") if download else ("thumb", "large")
    assert (urls["original"] is not None) == download, urls
    for name in names:
        assert _media(client, urls[name]).status_code == 200, f"{name} should work before the revocation"
    return {n: urls[n] for n in names}


def _assert_dead(client: Any, urls: dict[str, str], why: str) -> None:
    for name, url in urls.items():
        got = _media(client, url).status_code
        assert got in (403, 404), f"after {why}, the {name} URL handed out before still answers {got}"


def _assert_json_denied(client: Any, headers: dict[str, str] | None, photo_id: str, why: str) -> None:
    r = client.get(f"/v1/photos/{photo_id}", headers=headers or {})
    assert r.status_code == 404, f"after {why}, GET /v1/photos/{{id}} answers {r.status_code}: {r.text[:200]}"


def test_revoking_a_users_share_kills_its_urls_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    carol, ch = _person(ctx, "carol")
    dave, dh = _person(ctx, "dave")
    photo_id = _ready_photo(client, ctx, ah, 1)
    view = _share(client, ah, "photo", photo_id, {"type": "users", "user_ids": [carol.id]})
    down = _share(client, ah, "photo", photo_id, {"type": "users", "permissions": "download", "user_ids": [dave.id]})
    carol_urls = _urls_working(client, ch, photo_id, download=False)
    dave_urls = _urls_working(client, dh, photo_id, download=True)

    _ok(client.delete(f"/v1/shares/{down['share_id']}", headers=ah))
    _assert_dead(client, dave_urls, "revoking dave's share")
    _assert_json_denied(client, dh, photo_id, "revoking dave's share")
    assert _ok(client.get("/v1/shared", headers=dh))["items"] == []
    # Carol's own share is untouched.
    assert _media(client, carol_urls["thumb"]).status_code == 200

    _ok(client.delete(f"/v1/shares/{view['share_id']}", headers=ah))
    _assert_dead(client, carol_urls, "revoking carol's share")
    _assert_json_denied(client, ch, photo_id, "revoking carol's share")
    assert _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["visibility"] == "private"
    # Revoking twice, or someone else's share, is a 404.
    assert client.delete(f"/v1/shares/{view['share_id']}", headers=ah).status_code == 404


def test_unfollowing_kills_followers_only_urls_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    _, fh = _person(ctx, "frank")
    photo_id = _ready_photo(client, ctx, ah, 2, visibility="followers")
    _assert_json_denied(client, fh, photo_id, "not following yet")
    _ok(client.post(f"/v1/users/{alice.id}/follow", headers=fh))
    urls = _urls_working(client, fh, photo_id, download=False)
    _ok(client.delete(f"/v1/users/{alice.id}/follow", headers=fh))
    _assert_dead(client, urls, "unfollowing")
    _assert_json_denied(client, fh, photo_id, "unfollowing")


def test_making_photos_and_albums_private_kills_their_urls_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    _, fh = _person(ctx, "frank")
    _ok(client.post(f"/v1/users/{alice.id}/follow", headers=fh))
    public = _ready_photo(client, ctx, ah, 3, visibility="public")
    followers = _ready_photo(client, ctx, ah, 4, visibility="followers")
    in_public_album = _ready_photo(client, ctx, ah, 5)
    album = _ok(client.post("/v1/albums", json={"title": "open", "visibility": "public"}, headers=ah), 201)
    _ok(client.post(f"/v1/albums/{album['album_id']}/photos", json={"photo_ids": [in_public_album]}, headers=ah))

    anon_public = _urls_working(client, None, public, download=False)
    frank_public = _urls_working(client, fh, public, download=False)
    frank_followers = _urls_working(client, fh, followers, download=False)
    anon_album = _urls_working(client, None, in_public_album, download=False)
    assert "?" not in anon_public["thumb"], "public variants are unsigned"

    for photo_id in (public, followers):
        _ok(client.patch(f"/v1/photos/{photo_id}", json={"visibility": "private"}, headers=ah))
    _assert_dead(client, anon_public, "making the public photo private (anonymous)")
    _assert_dead(client, frank_public, "making the public photo private (follower)")
    _assert_dead(client, frank_followers, "making the followers photo private")
    _assert_json_denied(client, None, public, "making the public photo private")
    _assert_json_denied(client, fh, followers, "making the followers photo private")

    _ok(client.patch(f"/v1/albums/{album['album_id']}", json={"visibility": "private"}, headers=ah))
    _assert_dead(client, anon_album, "making the public album private")
    _assert_json_denied(client, None, in_public_album, "making the public album private")
    assert client.get(f"/v1/albums/{album['album_id']}").status_code == 404


def test_trashing_kills_every_url_and_listing_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    dave, dh = _person(ctx, "dave")
    photo_id = _ready_photo(client, ctx, ah, 6, visibility="public")
    album = _ok(client.post("/v1/albums", json={"title": "t", "photo_ids": [photo_id]}, headers=ah), 201)
    _share(client, ah, "photo", photo_id, {"type": "users", "permissions": "download", "user_ids": [dave.id]})
    link = _share(client, ah, "album", album["album_id"], {"type": "link", "permissions": "download"})
    token = _token(link["share_url"])
    dave_urls = _urls_working(client, dh, photo_id, download=True)
    anon_urls = _urls_working(client, None, photo_id, download=False)
    link_photo = _ok(client.get(f"/v1/links/{token}"))["photos"][0]
    link_urls = {n: link_photo["urls"][n] for n in ("thumb", "original")}
    assert all(_media(client, u).status_code == 200 for u in link_urls.values())

    _ok(client.delete(f"/v1/photos/{photo_id}", headers=ah))
    for who, urls in (("dave", dave_urls), ("anonymous", anon_urls), ("the link", link_urls)):
        _assert_dead(client, urls, f"trashing ({who})")
    _assert_json_denied(client, dh, photo_id, "trashing")
    _assert_json_denied(client, None, photo_id, "trashing")
    assert client.get(f"/v1/links/{token}/photos/{photo_id}").status_code == 404
    assert _ok(client.get(f"/v1/links/{token}"))["photos"] == []
    assert photo_id not in client.get(f"/s/{token}").text
    assert _ok(client.get("/v1/shared", headers=dh))["items"] == []
    assert _ok(client.get(f"/v1/albums/{album['album_id']}/photos", headers=ah))["photos"] == []


def test_removing_from_a_shared_album_kills_its_urls_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    carol, ch = _person(ctx, "carol")
    photo_id = _ready_photo(client, ctx, ah, 7)
    album_id = _ok(client.post("/v1/albums", json={"title": "s", "photo_ids": [photo_id]}, headers=ah), 201)["album_id"]
    perms = {"permissions": "download"}
    _share(client, ah, "album", album_id, {"type": "users", "user_ids": [carol.id], **perms})
    token = _token(_share(client, ah, "album", album_id, {"type": "link", **perms})["share_url"])
    carol_urls = _urls_working(client, ch, photo_id, download=True)
    link_photo = _ok(client.get(f"/v1/links/{token}"))["photos"][0]
    link_urls = {n: link_photo["urls"][n] for n in ("thumb", "original")}
    assert all(_media(client, u).status_code == 200 for u in link_urls.values())

    _ok(client.request("DELETE", f"/v1/albums/{album_id}/photos", json={"photo_ids": [photo_id]}, headers=ah))
    _assert_dead(client, carol_urls, "removing the photo from the album (carol)")
    _assert_dead(client, link_urls, "removing the photo from the album (link)")
    _assert_json_denied(client, ch, photo_id, "removing the photo from the album")
    assert client.get(f"/v1/links/{token}/photos/{photo_id}").status_code == 404
    assert _ok(client.get(f"/v1/links/{token}"))["photos"] == []


def test_deleting_a_shared_album_kills_its_urls_and_links_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    carol, ch = _person(ctx, "carol")
    photo_id = _ready_photo(client, ctx, ah, 8)
    album_id = _ok(client.post("/v1/albums", json={"title": "d", "photo_ids": [photo_id]}, headers=ah), 201)["album_id"]
    _share(client, ah, "album", album_id, {"type": "users", "user_ids": [carol.id]})
    token = _token(_share(client, ah, "album", album_id, {"type": "link"})["share_url"])
    carol_urls = _urls_working(client, ch, photo_id, download=False)
    link_thumb = _ok(client.get(f"/v1/links/{token}"))["photos"][0]["urls"]["thumb"]
    assert _media(client, link_thumb).status_code == 200

    _ok(client.delete(f"/v1/albums/{album_id}", headers=ah))
    _assert_dead(client, carol_urls, "deleting the album (carol)")
    _assert_dead(client, {"thumb": link_thumb}, "deleting the album (link)")
    _assert_json_denied(client, ch, photo_id, "deleting the album")
    assert client.get(f"/v1/albums/{album_id}", headers=ch).status_code == 404
    assert client.get(f"/v1/links/{token}").status_code == 404
    assert client.get(f"/s/{token}").status_code == 404
    assert _ok(client.get("/v1/shared", headers=ch))["items"] == []
    # The photo itself stays in alice's library.
    assert _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["deleted_at"] is None


def test_revoking_a_link_kills_its_urls_at_once(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    photo_id = _ready_photo(client, ctx, ah, 9)
    link = _share(client, ah, "photo", photo_id, {"type": "link", "permissions": "download"})
    token = _token(link["share_url"])
    urls = _ok(client.get(f"/v1/links/{token}"))["photo"]["urls"]
    urls = {n: urls[n] for n in ("thumb", "medium", "original")}
    assert all(_media(client, u).status_code == 200 for u in urls.values())

    _ok(client.delete(f"/v1/shares/{link['share_id']}", headers=ah))
    _assert_dead(client, urls, "revoking the link")
    assert client.get(f"/v1/links/{token}").status_code == 404
    assert client.get(f"/v1/links/{token}/photos/{photo_id}").status_code == 404
    assert client.get(f"/s/{token}").status_code == 404


@pytest.mark.parametrize("kind", ["link", "users"])
def test_expiry_kills_handed_out_urls_without_any_other_change(client: Any, ctx: Any, alice: Any, kind: str) -> None:
    """Nothing calls the service when a share expires: the media server must notice by itself."""
    ah = bearer(ctx, alice)
    dave, dh = _person(ctx, "dave")
    photo_id = _ready_photo(client, ctx, ah, 10)
    expires = time.time() + 2.0
    body: dict[str, Any] = {"type": kind, "permissions": "download", "expires_at": to_iso(expires)}
    if kind == "users":
        body["user_ids"] = [dave.id]
    share = _share(client, ah, "photo", photo_id, body)
    if kind == "link":
        token = _token(share["share_url"])
        urls = _ok(client.get(f"/v1/links/{token}"))["photo"]["urls"]
        urls = {n: urls[n] for n in ("thumb", "original")}
        assert all(_media(client, u).status_code == 200 for u in urls.values())
    else:
        urls = _urls_working(client, dh, photo_id, download=True)
    time.sleep(max(0.0, expires - time.time()) + 0.3)

    _assert_dead(client, urls, f"the {kind} share expired")
    if kind == "link":
        assert client.get(f"/v1/links/{token}").status_code == 410
    else:
        _assert_json_denied(client, dh, photo_id, "the users share expired")
        assert _ok(client.get("/v1/shared", headers=dh))["items"] == []


def test_a_signed_url_is_bound_to_its_viewer_scope(client: Any, ctx: Any, alice: Any) -> None:
    ah = bearer(ctx, alice)
    carol, ch = _person(ctx, "carol")
    erin, _ = _person(ctx, "erin")
    photo_id = _ready_photo(client, ctx, ah, 11)
    share = _share(client, ah, "photo", photo_id, {"type": "users", "user_ids": [carol.id]})
    urls = _urls_working(client, ch, photo_id, download=False)
    # Carol's URL is a bearer capability: it works for whoever holds it while carol has access...
    assert _media(client, urls["thumb"]).status_code == 200
    # ...but it cannot be re-labelled for anyone else, nor widened to the original.
    for scope in (f"u.{erin.id}", "p", f"u.{alice.id}"):
        assert _media(client, _rescoped(urls["thumb"], scope)).status_code == 403, scope
    alice_original = _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["urls"]["original"]
    grafted = f"{alice_original.split('?')[0]}?{urlsplit(urls['thumb']).query}"
    assert _media(client, grafted).status_code == 403
    # ...and it dies with carol's access, whoever presents it.
    _ok(client.delete(f"/v1/shares/{share['share_id']}", headers=ah))
    assert _media(client, urls["thumb"]).status_code == 403


@pytest.mark.parametrize("viewer", [*USERS, "anonymous", "link_view", "link_download", "album_link"])
def test_batched_grants_agree_with_one_photo_at_a_time(w: World, viewer: str) -> None:
    """Search, feeds and page shaping ask `photo_grants` for a whole page at once; it must give every
    viewer exactly what `photo_grant` gives photo by photo (the matrix above pins the latter down)."""
    from photoshare.sharing.access import LinkContext

    access = w.ctx.access
    user = w.users.get(viewer)
    link = None
    if viewer in LINK_VIEWERS:
        share = w.ctx.db.one("SELECT * FROM shares WHERE id = ?", (w.links[LINK_VIEWERS[viewer][0]].share_id,))
        link = LinkContext(
            share["id"], share["user_id"], share["target_type"], share["target_id"], share["permissions"] == "download"
        )
    rows = w.ctx.photo_repo.get_many(list(w.photos.values()))
    one_by_one = {r["id"]: g for r in rows if (g := access.photo_grant(user, r, link)) is not None}
    assert access.photo_grants(user, rows, link) == one_by_one
    assert {w.key_of(i) for i in one_by_one} >= {k for k, cell in MATRIX[viewer].items() if cell in "DV"}
