"""BM25F scoring as pure functions over numpy arrays (bm25s style: no index, no I/O).

The Whoosh backend decodes posting lists into arrays and calls these; any other
backend that can hand over postings and field lengths can score the same way.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

K1 = 1.2
"""BM25 term-frequency saturation."""


def bm25_idf(n_docs: int, df: int) -> float:
    """BM25's idf, always positive (``log(1 + (N - df + 0.5) / (df + 0.5))``)."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def bm25f_term(fields: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]],
               n_docs: int, size: int, live: np.ndarray, k1: float = K1) -> np.ndarray:
    """BM25F scores of one term for every document (0 where it does not occur).

    ``fields`` holds, per field, the term's posting docnums, their weights (term
    frequency x the field's index-time boost), the field lengths of all documents,
    the average field length and the field's B. Weights are length-normalised per
    field and summed *before* saturation (BM25F proper); idf counts documents having
    the term in any field.
    """
    tf = np.zeros(size, dtype=np.float32)
    for ids, weights, lengths, avg_len, b in fields:
        if len(ids):
            tf[ids] += weights / ((1.0 - b) + b * lengths[ids] / avg_len)
    present = tf > 0
    df = int(np.count_nonzero(present & live))
    if not df:
        return np.zeros(size, dtype=np.float32)
    idf = bm25_idf(n_docs, df)
    return np.where(present, idf * tf * (k1 + 1.0) / (tf + k1), 0.0).astype(np.float32)


def top_k(mask: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (docnum, score) among ``mask``: by score, then docnum (deterministic)."""
    cand = np.flatnonzero(mask)
    if not len(cand) or k <= 0:
        return []
    cand_scores = scores[cand]
    if len(cand) > 4 * k:  # shortlist: everything at least as good as the k-th best
        kth = np.partition(cand_scores, len(cand) - k)[len(cand) - k]
        keep = cand_scores >= kth
        cand, cand_scores = cand[keep], cand_scores[keep]
    order = np.lexsort((cand, -cand_scores))[:k]
    return [(int(cand[i]), float(cand_scores[i])) for i in order]
