"""Rank fusion as small pure functions (txtai style): no index, no I/O.

Reciprocal rank fusion is the default because BM25 scores and cosine similarities
live on unrelated scales; RRF only looks at ranks. Weighted score fusion is kept
for users who want to tune it.
"""
from __future__ import annotations

from typing import Mapping, Sequence

RRF_K = 60


def rrf(rankings: Mapping[str, Sequence[str]], *, weights: Mapping[str, float] | None = None,
        k: int = RRF_K) -> list[tuple[str, float, dict[str, float]]]:
    """Fuse ranked id lists: score(id) = sum_m weight_m / (k + rank_m(id)).

    Returns (id, fused score, per-ranking contribution) sorted by score, ties
    broken by id for determinism.
    """
    weights = weights or {}
    parts: dict[str, dict[str, float]] = {}
    for name, ranking in rankings.items():
        w = weights.get(name, 1.0)
        for rank, doc_id in enumerate(ranking, start=1):
            parts.setdefault(doc_id, {})[name] = w / (k + rank)
    fused = [(doc_id, sum(p.values()), p) for doc_id, p in parts.items()]
    fused.sort(key=lambda t: (-t[1], t[0]))
    return fused


def normalise_max(scores: Mapping[str, float]) -> dict[str, float]:
    """Divide by the largest score so the best is 1.0 (BM25 has no fixed scale)."""
    top = max(scores.values(), default=0.0)
    return {k: (v / top if top > 0 else 0.0) for k, v in scores.items()}


def weighted(scores: Mapping[str, Mapping[str, float]], weights: Mapping[str, float]) -> list[tuple[str, float]]:
    """Linear fusion of per-method scores that are already on [0, 1]."""
    ids = set().union(*(s.keys() for s in scores.values())) if scores else set()
    total = sum(weights.get(m, 0.0) for m in scores) or 1.0
    fused = [(i, sum(weights.get(m, 0.0) * s.get(i, 0.0) for m, s in scores.items()) / total) for i in ids]
    fused.sort(key=lambda t: (-t[1], t[0]))
    return fused


def overlap(a: set[str], b: set[str]) -> float:
    """Overlap coefficient |a ∩ b| / min(|a|, |b|): one shared article out of the
    query's two counts for much, however many articles a long judgment cites."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
