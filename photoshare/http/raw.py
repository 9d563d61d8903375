"""Small helpers for the raw ASGI fast paths (media delivery, upload receiver).

These paths bypass Litestar's routing and response machinery on purpose: they serve bytes, not
JSON, and per-request framework overhead would cap throughput far below what the disk can give.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

__all__ = ["Receive", "Scope", "Send", "header", "send_error", "send_json"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def send_json(send: Send, status: int, body: dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    await send_json(send, status, {"error": {"code": code, "message": message}})
