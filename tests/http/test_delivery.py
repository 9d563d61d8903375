"""The media fast path: signed and public variant URLs, negotiation, caching headers, ranges, stripping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import pyvips

from photoshare.context import build_context
from photoshare.settings import load_settings
from tests.conftest import NO_ML, bearer, make_jpeg
from tests.conftest import drain as _process
from tests.conftest import local_path as _path

VARIANTS = ("thumb", "medium", "large")
SIZES = {"thumb": 200, "medium": 800, "large": 2048}


# -- helpers ---------------------------------------------------------------------------------------


def _upload(client: Any, ctx: Any, headers: dict[str, str], data: bytes, **meta: Any) -> str:
    body = {"filename": "p.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}
    grant = client.post("/v1/photos/upload-url", json=body, headers=headers).json()
    put = client.put(_path(grant["presigned_url"]), content=data, headers=grant["headers"])
    assert put.status_code == 200, put.text
    r = client.post("/v1/photos", json={"upload_id": grant["upload_id"], **meta}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["photo_id"])


def _photo(client: Any, headers: dict[str, str] | None, photo_id: str) -> dict[str, Any]:
    r = client.get(f"/v1/photos/{photo_id}", headers=headers or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _ready(client: Any, ctx: Any, headers: dict[str, str], data: bytes, **meta: Any) -> dict[str, Any]:
    photo_id = _upload(client, ctx, headers, data, **meta)
    _process(ctx)
    photo = _photo(client, headers, photo_id)
    assert photo["processing_status"] == "ready", photo
    return photo


def _fetch(client: Any, url: str, accept: str | None = None, **headers: str) -> Any:
    h = {k.replace("_", "-"): v for k, v in headers.items()}
    if accept is not None:
        h["Accept"] = accept
    return client.get(_path(url), headers=h)


def _with_query(url: str, **params: str) -> str:
    base = url.split("?")[0]
    return f"{base}?{urlencode(params)}" if params else base


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _segments(url: str) -> list[str]:
    return urlsplit(url).path.split("/")


def _image(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


@pytest.fixture
def ah(ctx: Any, alice: Any) -> dict[str, str]:
    return bearer(ctx, alice)


@pytest.fixture
def bh(ctx: Any, bob: Any) -> dict[str, str]:
    return bearer(ctx, bob)


@pytest.fixture
def private_photo(client: Any, ctx: Any, ah: dict[str, str]) -> dict[str, Any]:
    return _ready(client, ctx, ah, make_jpeg(900, 600, seed=1))


@pytest.fixture
def public_photo(client: Any, ctx: Any, ah: dict[str, str]) -> dict[str, Any]:
    return _ready(client, ctx, ah, make_jpeg(900, 600, seed=2), visibility="public")


# -- signed URLs for private media -----------------------------------------------------------------
def test_private_variant_urls_are_signed_and_served_privately(client: Any, private_photo: dict[str, Any]) -> None:
    for name in VARIANTS:
        url = private_photo["urls"][name]
        q = _query(url)
        assert set(q) == {"exp", "v", "sig"}, url
        assert int(q["exp"]) > time.time()
        r = _fetch(client, url)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("private")
        assert "public" not in r.headers["cache-control"]
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content[:3] == b"\xff\xd8\xff"
        assert int(r.headers["content-length"]) == len(r.content)


def test_private_variant_without_or_with_bad_signature_is_403(
    client: Any, ctx: Any, private_photo: dict[str, Any]
) -> None:
    url = private_photo["urls"]["thumb"]
    q = _query(url)
    sig = q["sig"]
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    for bad in (
        _with_query(url),
        _with_query(url, exp=q["exp"]),
        _with_query(url, exp=q["exp"], sig=""),
        _with_query(url, exp=q["exp"], sig=flipped),
        _with_query(url, exp=str(int(q["exp"]) + 1), sig=sig),
        _with_query(url, exp="abc", sig=sig),
    ):
        r = _fetch(client, bad)
        assert r.status_code == 403, bad
        assert r.json()["error"]["code"]
    # One signature covers the photo's rendered sizes (they share one permission: view) ...
    medium = private_photo["urls"]["medium"]
    assert _query(medium)["sig"] == sig
    assert _fetch(client, _with_query(medium, exp=q["exp"], v=q["v"], sig=sig)).status_code == 200
    # ... but never its original (downloading is a permission of its own), nor another viewer's URL.
    _, _, photo_id, _, _ = _segments(url)
    original = url.rsplit("/media/", 1)[0] + f"/media/{photo_id}/original/{ctx.photo_repo.get(photo_id)['sha256'][:16]}"
    assert _fetch(client, _with_query(original, exp=q["exp"], v=q["v"], sig=sig)).status_code == 403
    assert _fetch(client, _with_query(medium, exp=q["exp"], v="p", sig=sig)).status_code == 403


def test_private_variant_with_truncated_signature_is_403(client: Any, private_photo: dict[str, Any]) -> None:
    url = private_photo["urls"]["thumb"]
    q = _query(url)
    # A prefix of the real signature is still a forgery: one character is a 1-in-64 guess.
    for n in (1, 2, 8):
        r = _fetch(client, _with_query(url, exp=q["exp"], sig=q["sig"][:n]))
        assert r.status_code == 403, n


def test_private_variant_with_expired_signature_is_403(client: Any, ctx: Any, private_photo: dict[str, Any]) -> None:
    url = private_photo["urls"]["thumb"]
    _, _, photo_id, name, version = _segments(url)
    past = int(time.time()) - 5
    viewer = _query(url)["v"]
    # Correctly signed, but expired.
    sig = ctx.signer.mac("media", ctx.media_urls.message(photo_id, name, version, past, viewer))
    r = _fetch(client, _with_query(url, exp=str(past), v=viewer, sig=sig))
    assert r.status_code == 403
    # The same signing with a future expiry works, so it is the expiry that was refused.
    future = int(time.time()) + 60
    sig = ctx.signer.mac("media", ctx.media_urls.message(photo_id, name, version, future, viewer))
    r = _fetch(client, _with_query(url, exp=str(future), v=viewer, sig=sig))
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private")


# -- public media ----------------------------------------------------------------------------------
def test_public_variant_urls_are_unsigned_and_immutable(
    client: Any, ctx: Any, public_photo: dict[str, Any], bh: dict[str, str]
) -> None:
    for name in VARIANTS:
        url = public_photo["urls"][name]
        assert "?" not in url
        assert url.startswith(f"{ctx.settings.base_url}/media/{public_photo['photo_id']}/{name}/")
        r = _fetch(client, url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Others get the same URLs.
    assert _photo(client, bh, public_photo["photo_id"])["urls"]["thumb"] == public_photo["urls"]["thumb"]
    assert _photo(client, None, public_photo["photo_id"])["urls"]["thumb"] == public_photo["urls"]["thumb"]


# -- content negotiation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "content_type", "magic"),
    [
        ("image/webp", "image/webp", b"RIFF"),
        ("image/avif,image/webp,image/*,*/*;q=0.8", "image/webp", b"RIFF"),
        ("image/jpeg", "image/jpeg", b"\xff\xd8\xff"),
        ("*/*", "image/jpeg", b"\xff\xd8\xff"),
        (None, "image/jpeg", b"\xff\xd8\xff"),
    ],
)
def test_content_negotiation(
    client: Any, public_photo: dict[str, Any], accept: str | None, content_type: str, magic: bytes
) -> None:
    for name in VARIANTS:
        r = _fetch(client, public_photo["urls"][name], accept=accept)
        assert r.status_code == 200
        assert r.headers["content-type"] == content_type
        assert r.content.startswith(magic)
        if content_type == "image/webp":
            assert r.content[8:12] == b"WEBP"
        assert r.headers["vary"] == "Accept"


def test_negotiation_honours_q_zero(client: Any, public_photo: dict[str, Any]) -> None:
    r = _fetch(client, public_photo["urls"]["thumb"], accept="image/webp;q=0, image/jpeg")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"


def test_signed_urls_negotiate_too(client: Any, private_photo: dict[str, Any]) -> None:
    url = private_photo["urls"]["medium"]
    webp = _fetch(client, url, accept="image/webp")
    jpeg = _fetch(client, url, accept="image/jpeg")
    assert webp.headers["content-type"] == "image/webp"
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert webp.headers["vary"] == jpeg.headers["vary"] == "Accept"
    assert webp.headers["etag"] != jpeg.headers["etag"]


# -- conditional requests, ranges, HEAD ------------------------------------------------------------
def test_etag_and_if_none_match(client: Any, public_photo: dict[str, Any]) -> None:
    url = public_photo["urls"]["medium"]
    first = _fetch(client, url, accept="image/jpeg")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    again = _fetch(client, url, accept="image/jpeg", if_none_match=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["vary"] == "Accept"
    assert _fetch(client, url, accept="image/jpeg", if_none_match=f'W/"nope", {etag}').status_code == 304
    assert _fetch(client, url, accept="image/jpeg", if_none_match='"something-else"').status_code == 200
    # The WebP representation has its own validator, so a JPEG ETag does not match it.
    webp = _fetch(client, url, accept="image/webp", if_none_match=etag)
    assert webp.status_code == 200
    assert webp.headers["content-type"] == "image/webp"


def test_etag_on_signed_private_media(client: Any, private_photo: dict[str, Any]) -> None:
    url = private_photo["urls"]["thumb"]
    etag = _fetch(client, url).headers["etag"]
    assert _fetch(client, url, if_none_match=etag).status_code == 304
    # A validator does not bypass the signature check.
    assert _fetch(client, _with_query(url), if_none_match=etag).status_code == 403


def _check_ranges(client: Any, url: str, accept: str | None = None) -> None:
    full = _fetch(client, url, accept=accept).content
    size = len(full)
    assert size > 200

    r = _fetch(client, url, accept=accept, range="bytes=0-99")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.headers["content-length"] == "100"
    assert r.content == full[:100]

    r = _fetch(client, url, accept=accept, range="bytes=-50")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {size - 50}-{size - 1}/{size}"
    assert r.content == full[-50:]

    r = _fetch(client, url, accept=accept, range="bytes=100-")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert r.content == full[100:]

    r = _fetch(client, url, accept=accept, range=f"bytes=10-{size + 1000}")
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 10-{size - 1}/{size}"
    assert r.content == full[10:]

    r = _fetch(client, url, accept=accept, range=f"bytes={size}-")
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{size}"


def test_byte_ranges(client: Any, public_photo: dict[str, Any], private_photo: dict[str, Any]) -> None:
    _check_ranges(client, public_photo["urls"]["large"])
    _check_ranges(client, public_photo["urls"]["thumb"], accept="image/webp")
    _check_ranges(client, private_photo["urls"]["medium"])
    _check_ranges(client, private_photo["urls"]["original"])


def test_head_gives_headers_without_body(client: Any, public_photo: dict[str, Any]) -> None:
    url = public_photo["urls"]["medium"]
    full = _fetch(client, url)
    r = client.head(_path(url))
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(len(full.content))
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["etag"] == full.headers["etag"]
    assert r.headers["vary"] == "Accept"
    assert r.headers["cache-control"] == full.headers["cache-control"]


@pytest.fixture
def streaming(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    """An appliance whose media cache holds nothing, so every blob is streamed from the store."""
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    settings = load_settings(
        None, NO_ML, data_dir=str(tmp_path / "stream"), delivery={"cache_mb": 0}, jobs={"media_workers": 1}
    )
    context = build_context(settings, create=True)
    user = context.users.create("carol", "carol-password")
    try:
        with TestClient(app=create_asgi(context), base_url=settings.base_url) as c:
            yield context, c, bearer(context, user)
    finally:
        context.close()


def test_ranges_and_head_when_streaming_from_the_store(streaming: tuple[Any, Any, dict[str, str]]) -> None:
    context, c, headers = streaming
    data = make_jpeg(900, 600, seed=4)
    photo = _ready(c, context, headers, data, visibility="public")
    assert not context.media_cache.cacheable(context.media_cache.entry(photo["photo_id"]).original)
    _check_ranges(c, photo["urls"]["large"])
    _check_ranges(c, photo["urls"]["original"])
    assert _fetch(c, photo["urls"]["original"]).content == data
    head = c.head(_path(photo["urls"]["original"]))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))


# -- what the variants contain ---------------------------------------------------------------------
def test_variants_carry_no_exif_gps_or_profiles(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(900, 600, gps=True)
    photo = _ready(client, ctx, ah, data)
    exif = photo["exif"]
    assert exif["gps_lat"] == pytest.approx(52.37, abs=0.01)
    assert exif["gps_lng"] < 0
    assert exif["gps_lng"] == pytest.approx(-4.89, abs=0.01)
    assert exif["camera_make"] == "TestMake"
    # The original keeps its metadata (so the checks below can see EXIF when it is there).
    original = _fetch(client, photo["urls"]["original"]).content
    assert original == data
    assert b"Exif\x00\x00" in original
    assert "exif-data" in _image(original).get_fields()
    for name in VARIANTS:
        for accept in ("image/jpeg", "image/webp"):
            blob = _fetch(client, photo["urls"][name], accept=accept).content
            assert b"Exif\x00\x00" not in blob, (name, accept)
            assert b"TestMake" not in blob
            if accept == "image/webp":  # RIFF chunks that would carry metadata
                assert b"EXIF" not in blob and b"XMP " not in blob and b"ICCP" not in blob
            fields = _image(blob).get_fields()
            for field in ("exif-data", "xmp-data", "icc-profile-data", "iptc-data"):
                assert field not in fields, (name, accept, field)
            assert not any(f.startswith("exif-ifd3") for f in fields)  # no GPS IFD


def test_variants_are_upright(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    # Stored landscape with the marker top-left; orientation 6 means "rotate 90° clockwise to display".
    photo = _ready(client, ctx, ah, make_jpeg(600, 400, orientation=6))
    assert (photo["width"], photo["height"]) == (400, 600)
    for name in ("thumb", "medium"):
        for accept in ("image/jpeg", "image/webp"):
            image = _image(_fetch(client, photo["urls"][name], accept=accept).content)
            assert image.height > image.width, (name, accept)
            assert image.get_typeof("orientation") == 0 or image.get("orientation") == 1
            w, h = image.width, image.height
            top_right = image.getpoint(w - 4, 4)
            top_left = image.getpoint(4, 4)
            bottom_right = image.getpoint(w - 4, h - 4)
            assert min(top_right[:3]) > 230, (name, accept, top_right)
            assert min(top_left[:3]) < 100, (name, accept, top_left)
            assert min(bottom_right[:3]) < 100, (name, accept, bottom_right)


def test_variant_sizes_for_a_large_source(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    photo = _ready(client, ctx, ah, make_jpeg(3000, 2000, seed=8))
    assert (photo["width"], photo["height"]) == (3000, 2000)
    for name, edge in SIZES.items():
        for accept in ("image/jpeg", "image/webp"):
            image = _image(_fetch(client, photo["urls"][name], accept=accept).content)
            assert image.width == edge, (name, accept)
            assert abs(image.height - edge * 2 / 3) <= 1, (name, accept, image.height)


def test_small_sources_are_never_upscaled(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    photo = _ready(client, ctx, ah, make_jpeg(300, 200, seed=9))
    expected = {"large": (300, 200), "medium": (300, 200), "thumb": (200, 133)}
    for name, (w, h) in expected.items():
        image = _image(_fetch(client, photo["urls"][name]).content)
        assert image.width == w, name
        assert abs(image.height - h) <= 1, name


# -- originals -------------------------------------------------------------------------------------
def test_original_url_only_for_the_owner_and_exact_bytes(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    data = make_jpeg(900, 600, seed=11, gps=True)
    photo = _ready(client, ctx, ah, data, visibility="public")
    url = photo["urls"]["original"]
    assert url and set(_query(url)) == {"exp", "v", "sig"}
    r = _fetch(client, url, accept="image/webp")
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"].startswith("private")
    assert _photo(client, bh, photo["photo_id"])["urls"]["original"] is None
    assert _photo(client, None, photo["photo_id"])["urls"]["original"] is None
    # Originals are never served unsigned, even of a public photo.
    assert _fetch(client, _with_query(url)).status_code == 403
    # The list view follows the same rule.
    listed = client.get("/v1/photos", headers=ah).json()["photos"]
    assert listed[0]["urls"]["original"]


# -- stale and unknown URLs ------------------------------------------------------------------------
def test_wrong_version_or_variant_is_404(
    client: Any, public_photo: dict[str, Any], private_photo: dict[str, Any]
) -> None:
    url = public_photo["urls"]["thumb"]
    _, _, photo_id, name, version = _segments(url)
    base = url.rsplit("/media/", 1)[0]
    stale = "0" * len(version)
    assert _fetch(client, f"{base}/media/{photo_id}/{name}/{stale}").status_code == 404
    assert _fetch(client, f"{base}/media/{photo_id}/huge/{version}").status_code == 404
    assert _fetch(client, f"{base}/media/{photo_id}/{name}").status_code == 404
    assert _fetch(client, f"{base}/media/{photo_id}/{name}/{version}/extra").status_code == 404
    # Private: a stale version is 404 whatever the query says.
    purl = private_photo["urls"]["thumb"]
    _, _, pid, pname, pversion = _segments(purl)
    assert pversion != stale
    q = _query(purl)
    r = _fetch(client, f"{base}/media/{pid}/{pname}/{stale}?{urlencode(q)}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_making_a_public_photo_private_revokes_its_unsigned_urls_at_once(
    client: Any, ctx: Any, ah: dict[str, str], public_photo: dict[str, Any]
) -> None:
    url = public_photo["urls"]["thumb"]
    assert _fetch(client, url).status_code == 200  # warm the delivery cache
    r = client.patch(f"/v1/photos/{public_photo['photo_id']}", json={"visibility": "private"}, headers=ah)
    assert r.status_code == 200
    assert _fetch(client, url).status_code in (403, 404)
    assert _fetch(client, url, accept="image/webp").status_code in (403, 404)
    # The owner's fresh URLs are signed and work.
    fresh = _photo(client, ah, public_photo["photo_id"])["urls"]["thumb"]
    assert set(_query(fresh)) == {"exp", "v", "sig"}
    assert _fetch(client, fresh).status_code == 200


def test_unknown_photo_is_404(client: Any, alice: Any) -> None:
    r = client.get(f"/media/{'0' * 32}/thumb/0123456789abcdef")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert client.get("/media/").status_code == 404


def test_unprocessed_photo_has_no_media(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    photo_id = _upload(client, ctx, ah, make_jpeg(300, 200), visibility="public")
    photo = _photo(client, ah, photo_id)
    assert photo["urls"] == {"original": None, "large": None, "medium": None, "thumb": None}
    assert client.get(f"/media/{photo_id}/thumb/0123456789abcdef").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_media_is_read_only(client: Any, public_photo: dict[str, Any], method: str) -> None:
    r = client.request(method, _path(public_photo["urls"]["thumb"]), content=b"x")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert _fetch(client, public_photo["urls"]["thumb"]).status_code == 200


def test_media_405_names_the_allowed_methods(client: Any, public_photo: dict[str, Any]) -> None:
    r = client.post(_path(public_photo["urls"]["thumb"]))
    assert r.status_code == 405
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert {"GET", "HEAD"} <= allow
