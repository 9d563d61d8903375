"""The local store's signed upload endpoint: `PUT /upload/{upload_id}?token=…`.

It plays the part S3 plays for presigned URLs: it checks the signature, key, method, content type,
size and expiry itself, streams the body to disk while hashing it (never holding it in memory),
and only answers 200 once the bytes are fsync'd.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from photoshare.errors import PhotoshareError
from photoshare.http.raw import Receive, Scope, Send, header, send_error, send_json
from photoshare.storage.keys import upload_key
from photoshare.uploads.service import UPLOAD_PATH, UploadService

__all__ = ["UploadReceiver"]

_BATCH = 1 << 20
_STATUS = {
    "bad_signature": 403,
    "expired": 403,
    "wrong_key": 403,
    "not_found": 404,
    "already_uploaded": 409,
    "insufficient_storage": 507,
}


class UploadReceiver:
    def __init__(self, uploads: UploadService) -> None:
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload_id = scope["path"][len(UPLOAD_PATH) :]
        if scope["method"] != "PUT":
            await send_json(
                send, 405, {"error": {"code": "method_not_allowed", "message": "use PUT"}}, [(b"allow", b"PUT")]
            )
            return
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
        try:
            claims = self.uploads.verify_token(upload_id, token)
            await asyncio.to_thread(self.uploads.begin_receive, claims)
        except PhotoshareError as exc:
            await send_error(send, _STATUS.get(exc.code, 400), exc.code, exc.message)
            return
        ctype = (header(scope, b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        if ctype != claims.content_type:
            await send_error(
                send, 403, "content_type_mismatch", f"this URL only accepts Content-Type {claims.content_type}"
            )
            return
        length = header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > claims.max_bytes):
            await send_error(send, 413, "too_large", f"this URL accepts at most {claims.max_bytes} bytes")
            return
        try:
            self.uploads.check_disk(int(length) if length and length.isdigit() else 0)
        except PhotoshareError as exc:
            await send_error(send, 507, exc.code, exc.message)
            return
        writer = self.uploads.store.writer()  # type: ignore[attr-defined]
        pending = bytearray()
        received = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    writer.abort()
                    return
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > claims.max_bytes:
                    writer.abort()
                    await send_error(send, 413, "too_large", f"this URL accepts at most {claims.max_bytes} bytes")
                    return
                pending += chunk
                more = message.get("more_body", False)
                # Disk writes go to a thread (so a slow disk cannot stall the event loop) in 1 MiB
                # batches, not per network chunk.
                if len(pending) >= _BATCH or (pending and not more):
                    await asyncio.to_thread(writer.write, bytes(pending))
                    pending.clear()
                if not more:
                    break
            if writer.size == 0:
                writer.abort()
                await send_error(send, 400, "empty", "the upload is empty")
                return
            await asyncio.to_thread(writer.commit, upload_key(claims.upload_id))
        except BaseException:
            writer.abort()
            raise
        await asyncio.to_thread(self.uploads.mark_received, claims.upload_id, writer.size, writer.sha256)
        await send_json(
            send,
            200,
            {"upload_id": claims.upload_id, "size_bytes": writer.size, "sha256": writer.sha256},
            [(b"etag", f'"{writer.sha256}"'.encode())],
        )
