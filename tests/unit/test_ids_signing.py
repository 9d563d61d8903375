"""UUIDv7 ids and HMAC-signed capability tokens."""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid

import pytest

from photoshare.errors import PermissionDenied
from photoshare.ids import id_time_ms, new_id
from photoshare.signing import Signer

HEX32 = re.compile(r"^[0-9a-f]{32}$")


# -- ids -----------------------------------------------------------------------------------------
def test_new_id_is_32_hex_uuid_version_7() -> None:
    for _ in range(200):
        ident = new_id()
        assert HEX32.match(ident), ident
        u = uuid.UUID(hex=ident)
        assert u.version == 7
        assert u.variant == uuid.RFC_4122


def test_new_id_strictly_increasing_in_one_thread() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    # Text order is numeric order (fixed width, lowercase hex): usable as a pagination cursor.
    assert [int(i, 16) for i in ids] == sorted(int(i, 16) for i in ids)
    assert len(set(ids)) == len(ids)


def test_new_id_unique_and_ordered_per_thread_across_threads() -> None:
    per_thread: list[list[str]] = [[] for _ in range(8)]
    barrier = threading.Barrier(len(per_thread))

    def work(out: list[str]) -> None:
        barrier.wait()
        for _ in range(2_000):
            out.append(new_id())

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in per_thread for i in out]
    assert len(everything) == 16_000
    assert len(set(everything)) == len(everything)
    for out in per_thread:
        assert all(a < b for a, b in itertools.pairwise(out))


def test_id_time_ms_matches_the_clock() -> None:
    time.sleep(0.05)  # let any counter overflow from earlier bursts fall behind the real clock
    before = time.time_ns() // 1_000_000
    ident = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= id_time_ms(ident) <= after


def test_id_time_ms_follows_time_across_calls() -> None:
    a = new_id()
    time.sleep(0.02)
    b = new_id()
    assert id_time_ms(b) - id_time_ms(a) >= 20


# -- signing -------------------------------------------------------------------------------------
SECRET = bytes(range(32))


@pytest.fixture
def signer() -> Signer:
    return Signer(SECRET)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Signer(b"x" * 31)


def test_dumps_loads_round_trip(signer: Signer) -> None:
    claims = {"exp": time.time() + 60, "upload_id": "abc", "n": 3, "nested": {"k": [1, 2]}}
    tok = signer.dumps("upload", claims)
    assert "." in tok
    assert re.match(r"^[A-Za-z0-9_.-]+$", tok), "token must be URL-safe"
    assert signer.loads("upload", tok) == claims


def test_other_secret_does_not_verify(signer: Signer) -> None:
    tok = signer.dumps("upload", {"exp": time.time() + 60})
    with pytest.raises(PermissionDenied) as info:
        Signer(b"y" * 32).loads("upload", tok)
    assert info.value.code == "bad_signature"


def _flip(ch: str) -> str:
    return "A" if ch != "A" else "B"


def test_tampered_body_is_rejected(signer: Signer) -> None:
    tok = signer.dumps("upload", {"exp": time.time() + 60, "max_bytes": 10})
    body, _, sig = tok.partition(".")
    forged_body = signer.dumps("x", {"exp": time.time() + 60, "max_bytes": 10**9}).partition(".")[0]
    for bad in (f"{forged_body}.{sig}", f"{_flip(body[0])}{body[1:]}.{sig}", f"{body[:-1]}.{sig}"):
        with pytest.raises(PermissionDenied) as info:
            signer.loads("upload", bad)
        assert info.value.code == "bad_signature"


def test_tampered_signature_is_rejected(signer: Signer) -> None:
    tok = signer.dumps("upload", {"exp": time.time() + 60})
    body, _, sig = tok.partition(".")
    for bad in (
        f"{body}.{sig[:-1]}{_flip(sig[-1])}",
        f"{body}.{_flip(sig[0])}{sig[1:]}",
        f"{body}.{sig[:-1]}",
        f"{body}.{sig}A",
        f"{body}.",
        body,
        f".{sig}",
        "",
        "not-a-token",
    ):
        with pytest.raises(PermissionDenied) as info:
            signer.loads("upload", bad)
        assert info.value.code == "bad_signature", bad


def test_non_ascii_signature_is_rejected_not_crashing(signer: Signer) -> None:
    """Tokens arrive in URLs; a forged signature with any characters must be a 403, not a TypeError (500)."""
    tok = signer.dumps("upload", {"exp": time.time() + 60})
    body, _, sig = tok.partition(".")
    with pytest.raises(PermissionDenied) as info:
        signer.loads("upload", f"{body}.{sig[:-1]}\u00e9")
    assert info.value.code == "bad_signature"


def test_wrong_purpose_is_rejected(signer: Signer) -> None:
    tok = signer.dumps("upload", {"exp": time.time() + 60})
    with pytest.raises(PermissionDenied) as info:
        signer.loads("media", tok)
    assert info.value.code == "bad_signature"


def test_expired_token_is_rejected(signer: Signer) -> None:
    tok = signer.dumps("upload", {"exp": time.time() - 1})
    with pytest.raises(PermissionDenied) as info:
        signer.loads("upload", tok)
    assert info.value.code == "expired"


def test_token_without_exp_counts_as_expired(signer: Signer) -> None:
    tok = signer.dumps("upload", {"upload_id": "x"})
    with pytest.raises(PermissionDenied) as info:
        signer.loads("upload", tok)
    assert info.value.code == "expired"


def test_mac_and_check(signer: Signer) -> None:
    mac = signer.mac("media", "photo/thumb/v1/123")
    assert len(mac) == 22
    assert re.match(r"^[A-Za-z0-9_-]+$", mac)
    assert signer.mac("media", "photo/thumb/v1/123") == mac  # deterministic
    assert signer.check("media", "photo/thumb/v1/123", mac)
    assert len(signer.mac("csrf", "x", 32)) == 32
    long_mac = signer.mac("csrf", "x", 32)
    assert signer.check("csrf", "x", long_mac, 32)
    assert not signer.check("csrf", "x", long_mac)  # checked at the length the caller expects, not the one sent


def test_check_rejects_wrong_message_purpose_or_secret(signer: Signer) -> None:
    mac = signer.mac("media", "photo/thumb/v1/123")
    assert not signer.check("media", "photo/thumb/v1/124", mac)
    assert not signer.check("upload", "photo/thumb/v1/123", mac)
    assert not Signer(b"z" * 32).check("media", "photo/thumb/v1/123", mac)
    assert not signer.check("media", "photo/thumb/v1/123", "")
    assert not signer.check("media", "photo/thumb/v1/123", _flip(mac[0]) + mac[1:])


def test_purpose_and_message_are_separated(signer: Signer) -> None:
    assert signer.mac("a", "bc") != signer.mac("ab", "c")


def test_check_rejects_truncated_signature(signer: Signer) -> None:
    """A signature shortened to a few characters must not verify (a 1-character MAC is guessed in 64 tries)."""
    mac = signer.mac("media", "photo/thumb/v1/123")
    for n in (1, 2, 4, 8):
        assert not signer.check("media", "photo/thumb/v1/123", mac[:n]), n


def test_check_with_non_ascii_signature_returns_false(signer: Signer) -> None:
    assert signer.check("media", "m", "\u00e9" * 22) is False
