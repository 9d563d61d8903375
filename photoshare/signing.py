"""HMAC signatures for capability URLs: signed uploads and short-lived media links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from photoshare.errors import PermissionDenied

__all__ = ["Signer"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("signing secret must be at least 32 bytes")
        self._secret = secret

    def mac(self, purpose: str, message: str, length: int = 22) -> str:
        """A short URL-safe MAC; `purpose` separates domains so one signature never serves another."""
        digest = hmac.new(self._secret, f"{purpose}\n{message}".encode(), hashlib.sha256).digest()
        return _b64(digest)[:length]

    def check(self, purpose: str, message: str, signature: str, length: int = 22) -> bool:
        """Constant-time comparison against the full-length MAC (a prefix is not a signature)."""
        if len(signature) != length or not signature.isascii():
            return False
        return hmac.compare_digest(self.mac(purpose, message, length).encode(), signature.encode())

    def dumps(self, purpose: str, claims: dict[str, Any]) -> str:
        """A self-contained token: base64(JSON claims) + "." + MAC. Claims must include `exp`."""
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self.mac(purpose, body, 43)}"

    def loads(self, purpose: str, token: str) -> dict[str, Any]:
        """Verify and decode; raises PermissionDenied when forged, malformed or expired."""
        body, _, sig = token.partition(".")
        if not body or not self.check(purpose, body, sig, 43):
            raise PermissionDenied("invalid signature", code="bad_signature")
        try:
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeError):
            raise PermissionDenied("invalid signature", code="bad_signature") from None
        if not isinstance(claims, dict) or float(claims.get("exp", 0)) < time.time():
            raise PermissionDenied("this link has expired", code="expired")
        return claims
