"""The vector-index interface and an exact cosine implementation over a float matrix.

At this scale (tens of thousands of documents, a few hundred thousand passages of
384 dimensions) an exact matrix product is fast enough and never misses a
neighbour; an approximate index would be one new subclass.

Vectors persist in the document store (SQLite) inside the same transaction as
their document, so the vector side can never disagree with the store. This class
only caches them as a matrix and reloads when the store's generation moves on.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .store import Store


@dataclass(frozen=True)
class VectorHit:
    passage_id: str
    doc_id: str
    score: float


class VectorIndex(ABC):
    """Nearest passages to a query vector, optionally restricted to some documents."""

    @abstractmethod
    def doc_matrix(self, doc_id: str) -> tuple[list[str], np.ndarray]:
        """A document's passage ids and their vectors (for passage-pair comparison)."""
        self._refresh()
        rows = self._rows_by_doc.get(doc_id, [])
        return [self._passage_ids[i] for i in rows], self._matrix[rows]

    def search(self, query: np.ndarray, k: int, *, allowed_docs: set[str] | None = None) -> list[VectorHit]:
        ...

    @abstractmethod
    def __len__(self) -> int:
        ...


class MatrixVectorIndex(VectorIndex):
    """Exact cosine search (vectors are unit length, so a dot product) over the store's vectors."""

    def __init__(self, store: Store, *, generation: Callable[[], int] | None = None):
        self._store = store
        self._generation = generation or store.generation
        self._loaded_at = -1
        self._lock = threading.Lock()
        self._passage_ids: list[str] = []
        self._doc_ids: np.ndarray = np.array([], dtype=object)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._rows_by_doc: dict[str, list[int]] = {}
        self._doc_number: dict[str, int] = {}
        self._row_doc_number = np.zeros(0, dtype=np.int64)

    def _refresh(self) -> None:
        gen = self._generation()
        if gen == self._loaded_at:
            return
        with self._lock:
            if gen == self._loaded_at:
                return
            passage_ids, doc_ids, matrix = self._store.all_vectors()
            rows: dict[str, list[int]] = {}
            for i, doc_id in enumerate(doc_ids):
                rows.setdefault(doc_id, []).append(i)
            self._passage_ids, self._doc_ids, self._matrix = passage_ids, np.array(doc_ids, dtype=object), matrix
            self._rows_by_doc = rows
            self._doc_number = {doc_id: n for n, doc_id in enumerate(rows)}
            self._row_doc_number = np.array([self._doc_number[d] for d in doc_ids], dtype=np.int64)
            self._loaded_at = gen

    def __len__(self) -> int:
        self._refresh()
        return len(self._passage_ids)

    @property
    def dim(self) -> int:
        self._refresh()
        return self._matrix.shape[1] if self._matrix.size else 0

    def doc_matrix(self, doc_id: str) -> tuple[list[str], np.ndarray]:
        """A document's passage ids and their vectors (for passage-pair comparison)."""
        self._refresh()
        rows = self._rows_by_doc.get(doc_id, [])
        return [self._passage_ids[i] for i in rows], self._matrix[rows]

    def search(self, query: np.ndarray, k: int, *, allowed_docs: set[str] | None = None) -> list[VectorHit]:
        self._refresh()
        if not self._passage_ids or k <= 0:
            return []
        scores = self._matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
        if allowed_docs is not None:  # one flag per document, spread to its rows at once
            numbers = [n for d in allowed_docs if (n := self._doc_number.get(d)) is not None]
            allowed = np.zeros(len(self._doc_number), dtype=bool)
            allowed[numbers] = True
            scores = np.where(allowed[self._row_doc_number], scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [VectorHit(self._passage_ids[i], self._doc_ids[i], float(scores[i]))
                for i in top if np.isfinite(scores[i])]


def top_docs(hits: list[VectorHit]) -> list[tuple[str, float, str]]:
    """Aggregate passage hits to documents by their best passage: (doc id, score, passage id)."""
    best: dict[str, tuple[float, str]] = {}
    for hit in hits:
        if hit.doc_id not in best or hit.score > best[hit.doc_id][0]:
            best[hit.doc_id] = (hit.score, hit.passage_id)
    return sorted(((d, s, p) for d, (s, p) in best.items()), key=lambda t: -t[1])
