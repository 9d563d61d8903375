"""What runs after what: the single table of follow-up jobs.

A follow-up is enqueued in the same transaction that marks its predecessor done, so a crash can
never lose the next step. Later stages (ML labels, embeddings) add rows here. Search indexing is
not listed: it follows every change of a photo, not just processing, so PhotoService.invalidate
enqueues it, deduplicated per photo.
"""

from __future__ import annotations

__all__ = ["FOLLOW_UPS"]

FOLLOW_UPS: dict[str, list[str]] = {
    # ML runs in its own pool after the photo is ready: labels, embeddings, text and faces never delay it.
    "photo.process": ["feed.fanout", "ml.analyze"],
}
