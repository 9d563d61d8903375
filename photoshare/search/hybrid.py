"""Hybrid search: keyword hits fused with other ranked lists (a viewer's named people, text-to-image
vectors) by reciprocal-rank fusion, so no list's raw scores need to be comparable with another's.

Extra candidates pass through the same audience scope and filters as the keyword query (one tantivy
lookup), and every result is still confirmed by sharing/access.py afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tantivy

__all__ = ["RRF_K", "HybridSearch", "rrf"]

RRF_K = 60
"""The usual damping constant of reciprocal-rank fusion (Cormack et al., 2009)."""


def rrf(lists: list[list[str]], k: int = RRF_K) -> list[str]:
    """Ids ordered by the sum over lists of 1 / (k + rank); ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranked in lists:
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


class HybridSearch:
    def __init__(self, sources: Callable[[Any, str], list[list[str]]]) -> None:
        self.sources = sources
        """(viewer, query text) -> extra ranked lists of photo ids, best first."""

    def merge(
        self, viewer: Any, text: str, keyword_ids: list[str], searcher: Any, schema: Any, filters: list[tuple[Any, Any]]
    ) -> tuple[list[str], int]:
        """The fused id list and how many ids only the extra lists contributed.

        `filters` are the query's clauses without the text match (audience scope, dates, places...).
        """
        extra = self.sources(viewer, text)
        if not extra:
            return keyword_ids, 0
        candidates = sorted({i for lst in extra for i in lst})
        query = tantivy.Query.boolean_query(
            [*filters, (tantivy.Occur.Must, tantivy.Query.term_set_query(schema, "photo_id", candidates))]
        )
        hits = searcher.search(query, len(candidates)).hits
        allowed = {searcher.doc(addr)["photo_id"][0] for _score, addr in hits}
        lists = [keyword_ids, *([i for i in lst if i in allowed] for lst in extra)]
        fused = rrf([lst for lst in lists if lst])
        return fused, len(set(fused) - set(keyword_ids))
